zrun {
  project = "many-errors"
}
