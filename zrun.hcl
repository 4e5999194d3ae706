# zrun project settings. Workflows live in workflows/, environments in
# environments/. See README.md for the language reference.
zrun {
  project = "zakupai"
}
