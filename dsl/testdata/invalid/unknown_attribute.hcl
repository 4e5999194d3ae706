version = 2 # ERROR: Unsupported argument

workflow "w" {
  owner = "me" # ERROR: Unsupported argument
}
