zrun {
  project = "resume-test"
}
