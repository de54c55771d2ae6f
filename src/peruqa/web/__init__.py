"""The web edge: the JSON API, the chat page, security and the operator endpoints."""
