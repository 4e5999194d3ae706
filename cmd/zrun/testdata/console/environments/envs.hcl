environment "stage" {
  db_host  = "db-stage"
  db_port  = 5432
  services = { api = { url = "http://api:8080", replicas = 2 }, web = { url = "http://web", replicas = 1 } }
}

environment "prod" {
  extends = "stage"
  db_host = "db-prod"
}
