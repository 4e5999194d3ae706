zrun {
  project = "crashy"
}
