environment "dev" {}

environment "prod" {}
