# A project that requires the example third-party plugin greet.
zrun {
  project = "greeter"
  required_plugins {
    greet = { version = ">= 0.1.0" }
  }
}
