environment "dev" {
  log_level = "DEBUG"
  replicas  = 1
  services = {
    api = { port = 8080, tags = ["a", "b"] }
  }
  host "local" {
    address = "127.0.0.1"
  }
}
