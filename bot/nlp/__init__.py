"""Pure-Python text analysis for articles: sentences, entities, condensed summaries, highlights."""
