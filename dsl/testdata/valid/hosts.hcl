secret "deploy_key_pass" {
  env = "DEPLOY_KEY_PASS"
}

environment "prod" {
  host "bastion" {
    address          = "203.0.113.10"
    user             = "ops"
    private_key_file = "~/.ssh/id_ed25519"
    passphrase       = secret.deploy_key_pass
    agent            = false
    known_hosts_file = "~/.ssh/known_hosts"
  }
  host "web1" {
    address  = "10.0.0.11"
    port     = 2222
    user     = "deploy"
    jump     = "bastion"
    sudo     = true
    host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    groups   = ["web", "eu"]
  }
  host "web2" {
    address = "10.0.0.12"
    jump    = "bastion"
    groups  = ["web"]
  }
  host "db" {
    address = "10.0.0.20"
  }
  group "eu" {
    hosts = ["db"]
  }
  group "backends" {
    hosts = ["web1", "db"]
  }
}

environment "stage" {
  extends = "prod"
  host "web2" {
    address = "127.0.0.3"
  }
  group "backends" {
    hosts = ["web2"]
  }
}

workflow "deploy" {
  step "restart" {
    action              = exec.run
    target              = "web"
    parallel            = 5
    batch_size          = "25%"
    max_fail_percentage = 10
    cmd                 = ["systemctl", "restart", "app"]
  }
  step "migrate" {
    action       = exec.run
    target       = "db"
    depends_on   = [step.restart]
    cmd          = ["./migrate"]
  }
  step "check" {
    action       = exec.run
    target       = "backends"
    batch_size   = 1
    max_failures = 0
    cmd          = ["true"]
  }
  step "here" {
    action = exec.run
    target = "local"
    cmd    = ["true"]
  }
}
