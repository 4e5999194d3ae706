# A run that prints a numbered line every 100 ms for about two seconds,
# for `zrun logs RUN --follow` to follow from another process.
workflow "count" {
  step "count" {
    action = exec.run
    script = "for i in $(seq 1 20); do echo \"line $i\"; sleep 0.1; done"
  }

  step "other" {
    action = exec.run
    script = "echo other says hi"
  }

  step "each" {
    action     = exec.run
    for_each   = toset(["x", "y"])
    script     = "echo each ${each.key}"
    depends_on = [step.other]
  }
}
