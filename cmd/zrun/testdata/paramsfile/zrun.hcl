# Params files and a protected environment, for end-to-end tests.
zrun {
  project = "paramsfile"
}
