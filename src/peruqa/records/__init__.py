"""What the service keeps for its maintainers: visitors' feedback, the query log and the
report drawn from both. Used by the web app and the CLI alike; nothing here speaks HTTP."""
