# Six independent steps; each appends "START END" (ns) to times.txt.
workflow "parallel" {
  step "a" {
    action = exec.run
    script = "s=$(date +%s%N); sleep 0.3; echo \"$s $(date +%s%N)\" >> times.txt"
  }
  step "b" {
    action = exec.run
    script = "s=$(date +%s%N); sleep 0.3; echo \"$s $(date +%s%N)\" >> times.txt"
  }
  step "c" {
    action = exec.run
    script = "s=$(date +%s%N); sleep 0.3; echo \"$s $(date +%s%N)\" >> times.txt"
  }
  step "d" {
    action = exec.run
    script = "s=$(date +%s%N); sleep 0.3; echo \"$s $(date +%s%N)\" >> times.txt"
  }
  step "e" {
    action = exec.run
    script = "s=$(date +%s%N); sleep 0.3; echo \"$s $(date +%s%N)\" >> times.txt"
  }
  step "f" {
    action = exec.run
    script = "s=$(date +%s%N); sleep 0.3; echo \"$s $(date +%s%N)\" >> times.txt"
  }
}
