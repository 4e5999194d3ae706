workflow "hi" {
  step "hi" {
    action = greet.hello
    name   = "ops"
    shout  = true
  }

  output "message" {
    value = step.hi.message
  }
}
