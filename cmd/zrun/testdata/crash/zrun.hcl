zrun {
  project = "crash-test"
}
