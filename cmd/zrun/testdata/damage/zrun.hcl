zrun {
  project = "damage-test"
}
