zrun {
  project = "bad"
}
