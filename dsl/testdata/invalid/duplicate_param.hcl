workflow "w" {
  param "p" {}
  param "p" {} # ERROR: Duplicate param
  output "o" { value = 1 }
  output "o" { value = 2 } # ERROR: Duplicate output
}
