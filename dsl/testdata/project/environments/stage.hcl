environment "stage" {
  extends   = "dev"
  log_level = "INFO"
  services = {
    api = { tags = ["stage"] }
    web = { port = 80 }
  }
}
