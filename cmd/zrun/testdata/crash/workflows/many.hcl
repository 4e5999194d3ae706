# About thirty quick steps, some chained, some for_each, each printing a
# line: a test kills zrun at random moments while this runs.
workflow "many" {
  step "c01" {
    action = exec.run
    script = "sleep 0.02; echo c01"
  }

  step "c02" {
    action = exec.run
    script = "sleep 0.02; echo c02 after ${step.c01.exit_code}"
  }

  step "c03" {
    action     = exec.run
    script     = "sleep 0.02; echo c03"
    depends_on = [step.c02]
  }

  step "c04" {
    action = exec.run
    script = "sleep 0.02; echo c04 after ${step.c03.exit_code}"
  }

  step "c05" {
    action     = exec.run
    script     = "sleep 0.02; echo c05"
    depends_on = [step.c04]
  }

  step "c06" {
    action = exec.run
    script = "sleep 0.02; echo c06 after ${step.c05.exit_code}"
  }

  step "c07" {
    action     = exec.run
    script     = "sleep 0.02; echo c07"
    depends_on = [step.c06]
  }

  step "c08" {
    action = exec.run
    script = "sleep 0.02; echo c08 after ${step.c07.exit_code}"
  }

  step "c09" {
    action     = exec.run
    script     = "sleep 0.02; echo c09"
    depends_on = [step.c08]
  }

  step "c10" {
    action = exec.run
    script = "sleep 0.02; echo c10 after ${step.c09.exit_code}"
  }

  step "fan" {
    action     = exec.run
    for_each   = toset(["a", "b", "c", "d", "e", "f", "g", "h"])
    script     = "sleep 0.01; echo fan ${each.key}"
    depends_on = [step.c03]
  }
  step "gather" {
    action   = exec.run
    for_each = step.fan
    script   = "echo gathered ${each.value.stdout}"
  }

  step "solo1" {
    action = exec.run
    script = "echo solo1"
  }

  step "solo2" {
    action = exec.run
    script = "echo solo2"
  }

  step "solo3" {
    action = exec.run
    script = "echo solo3"
  }

  step "solo4" {
    action = exec.run
    script = "echo solo4"
  }

  # Holds the run open until the file "release" exists, silently: a test
  # that kills zrun knows the run cannot have ended before the kill.
  step "hold" {
    action = exec.run
    script = "while ! test -f release; do sleep 0.01; done"
  }

  output "last" {
    value = step.c10.stdout
  }
}
