environment "prod" {
  extends  = "stage"
  replicas = 3
  services = {
    api = { port = 443 }
  }
  host "local" {
    address = "10.0.0.1"
    user    = "deploy"
  }
}
