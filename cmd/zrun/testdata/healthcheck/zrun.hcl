# The health-check scenario: the test copies workflows/health-check.hcl
# here and writes environments/test.hcl pointing at its own servers.
zrun {
  project = "health"
}
