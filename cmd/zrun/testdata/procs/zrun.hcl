zrun {
  project = "procs"
}
