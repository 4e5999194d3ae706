environment "stage" {
  extends = "dve" # ERROR: Unknown parent environment
}
