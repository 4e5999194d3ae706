# A small valid project for end-to-end tests: each workflow is one scenario.
zrun {
  project = "e2e"
}
