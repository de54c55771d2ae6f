"""Scoring the bot on question and conversation files (``peruqa eval``), and the quality
gate a build passes before it replaces the serving index."""
