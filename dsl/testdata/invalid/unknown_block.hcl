pipeline "x" { # ERROR: Unsupported block type
}

workflow "w" {
  stage "a" { # ERROR: Unsupported block type
  }
}
