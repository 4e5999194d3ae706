environment "dev" {
  registry = "localhost:5000"
}
environment "stage" {
  extends = "dve"
}
environment "prod" {
  extends = "stage"
}
