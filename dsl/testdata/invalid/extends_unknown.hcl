environment "stage" {
  extends = "dve" # ERROR: Unknown parent environment
}
environment "dev" {}
