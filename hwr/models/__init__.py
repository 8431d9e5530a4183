"""Recognition networks, their registry and model files."""
