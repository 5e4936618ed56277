"""kerascheck's built-in rules: one module per rule, discovered by the registry."""
