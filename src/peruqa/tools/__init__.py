"""Maintainers' tools: evaluation, training the decision, and the index quality gate."""
