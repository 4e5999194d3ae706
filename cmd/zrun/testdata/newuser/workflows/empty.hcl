# Nothing to run.
workflow "empty" {}
