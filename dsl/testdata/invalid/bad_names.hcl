workflow "1st" {} # ERROR: Invalid workflow name
workflow "w" {
  step "has space" { # ERROR: Invalid step name
    action = exec.run
  }
  param "" {} # ERROR: Invalid param name
}
environment "e" {
  hosts = {} # ERROR: Reserved environment value name
  host "web" {} # ERROR: Missing required argument
  host "web" { # ERROR: Duplicate host
    address = "x"
  }
  host "db" {
    address = "x"
    port    = 70000 # ERROR: Invalid port
  }
  host "bad name" {} # ERROR: Invalid host name
  host {} # ERROR: Invalid host block
  group {} # ERROR: Invalid group block
  cluster {} # ERROR: Unsupported block type
}
