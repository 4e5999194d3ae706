environment "a" {
  extends = "c" # ERROR: Environment inheritance cycle
}
environment "b" {
  extends = "a"
}
environment "c" {
  extends = "b"
}
environment "self" {
  extends = "self" # ERROR: Environment inheritance cycle
}
environment "child" {
  extends = "a"
}
