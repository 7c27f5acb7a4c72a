"""Feed ingestion: parse feed documents, clean article text, canonicalise URLs."""
