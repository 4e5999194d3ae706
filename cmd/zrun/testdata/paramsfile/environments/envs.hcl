environment "stage" {}

environment "prod" {
  protected = true
}

# Inherits protected from prod.
environment "prod-eu" {
  extends = "prod"
}
