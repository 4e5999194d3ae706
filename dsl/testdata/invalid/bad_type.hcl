workflow "w" {
  param "n" {
    type = integer # ERROR: Invalid type specification
  }
  param "m" {
    type = list(string, number) # ERROR: Invalid type specification
  }
}
