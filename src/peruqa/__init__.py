"""PeruQA: extractive question answering with citations over NGO reports about Peru."""

from importlib.metadata import PackageNotFoundError, version

try:
    # One home for the version: pyproject.toml, as the installed package records it.
    __version__ = version("peruqa")
except PackageNotFoundError:  # pragma: no cover - running from a tree that was never installed
    __version__ = "0+unknown"
