workflow { # ERROR: Missing name for workflow
}
