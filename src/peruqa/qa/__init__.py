"""Question answering: the question analysed, passages retrieved, a sentence chosen or declined."""
