environment "stage" {
  gateway_url = "http://stage.internal:8080/health"
}

environment "prod" {
  extends     = "stage"
  gateway_url = "https://zakupai.site/health"
}
