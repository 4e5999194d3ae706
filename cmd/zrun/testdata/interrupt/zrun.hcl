zrun {
  project = "interrupt"
}
