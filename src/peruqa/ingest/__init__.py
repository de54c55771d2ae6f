"""Ingest: source files read into documents, and documents split into chunks and sentences."""
