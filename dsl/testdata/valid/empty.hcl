# A project with no workflows is valid.
