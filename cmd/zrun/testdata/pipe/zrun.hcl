# Pipes between two exec.run steps, for the end-to-end tests.
zrun {
  project = "pipe"
}
