workflow "w" {
  on_failure {}
  on_failure {} # ERROR: Duplicate on_failure block
  finally {}
  finally {} # ERROR: Duplicate finally block
}
