environment "dev" {
  big = tostring(1e9999999) # ERROR: Number out of range
}
