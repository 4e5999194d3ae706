zrun {
  project = "follow-test"
}
