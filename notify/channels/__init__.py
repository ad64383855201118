"""Channel adapters: one module per type, the HTTP base they share, settings and the registry."""
