workflow "w" {}
workflow "w" {} # ERROR: Duplicate workflow
environment "e" {}
environment "e" {} # ERROR: Duplicate environment
zrun {}
zrun {} # ERROR: Duplicate zrun block
