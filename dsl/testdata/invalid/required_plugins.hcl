zrun {
  project = 42
  required_plugins {
    greet = "1.0" # ERROR: Invalid required_plugins entry
    other = { version = "not a version" } # ERROR: Invalid version constraint
    third = { version = "1.0", source = "x" } # ERROR: Invalid required_plugins entry
  }
}
