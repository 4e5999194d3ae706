zrun {
  project = "sample"
}
