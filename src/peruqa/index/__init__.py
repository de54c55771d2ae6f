"""Index: chunks and sentences embedded, stored on disk with a manifest, swapped safely."""
