# What a new user trips over: several environments, params to pass on,
# retries, multi-line errors, an empty workflow.
zrun {
  project = "newuser"
}
