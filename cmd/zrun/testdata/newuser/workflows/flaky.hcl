# Succeeds on its third attempt.
workflow "flaky" {
  step "flaky" {
    action = exec.run
    script = "n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; [ $n -ge 3 ]"
    retry {
      attempts = 3
      delay    = "10ms"
    }
  }
}
