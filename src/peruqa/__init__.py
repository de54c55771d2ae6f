"""PeruQA: extractive question answering with citations over NGO reports about Peru."""

__version__ = "0.1.0"
