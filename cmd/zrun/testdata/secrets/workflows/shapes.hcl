# Secrets of every shape, printed in every way a step might, and output
# that is not text. Every step succeeds.
workflow "shapes" {
  # A multi-line secret, printed whole, indented, one line at a time
  # with CRLF endings, and its lines joined on one line.
  step "pem" {
    action = exec.run
    env    = { PEM = secret.pem }
    script = <<-EOT
      printf '%s\n' "$PEM"
      printf '%s\n' "$PEM" | sed 's/^/    /'
      printf '%s\n' "$PEM" | sed 's/$/\r/'
      printf '%s\n' "$PEM" | tr '\n' ' '; echo
    EOT
  }

  # A secret across the point where a line that never ends is cut
  # (64 KiB), with no newline after it; then the same on stderr.
  step "cut" {
    action = exec.run
    env    = { SECRET = secret.token }
    script = "head -c 65530 /dev/zero | tr '\\0' a; printf %s \"$SECRET\"; head -c 65531 /dev/zero | tr '\\0' b >&2; printf %s \"$SECRET\" >&2"
  }

  # Values derived from a secret by functions, inside a larger string.
  step "derived" {
    action = exec.run
    script = "echo lower ${lower(secret.token)}; echo base64 ${base64encode(secret.token)}"
  }

  # Latin-1 and binary bytes, NUL bytes included.
  step "bytes" {
    action = exec.run
    script = "printf 'caf\\351 cr\\350me\\n'; printf '\\000\\001\\002\\377\\376 binary done\\n'; head -c 2048 /dev/zero; echo; printf 'the end\\n'"
  }
}

# A sensitive param of a type its value does not have.
workflow "typed" {
  param "pin" {
    type      = number
    sensitive = true
  }

  step "use" {
    action  = exec.run
    command = ["true"]
    env     = { PIN = tostring(param.pin) }
  }
}
