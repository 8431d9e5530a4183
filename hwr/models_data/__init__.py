"""The embedded default models and their model cards (data files only)."""
