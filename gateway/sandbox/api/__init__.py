"""HTTP handlers of the sandbox, one module per resource."""
