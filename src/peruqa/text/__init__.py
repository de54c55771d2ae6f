"""Text analysis shared by every stage: language detection, terms and names, UI messages."""
