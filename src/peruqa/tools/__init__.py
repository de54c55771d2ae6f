"""Maintainers' tools: evaluation, calibration and the index quality gate."""
