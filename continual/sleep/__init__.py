"""Sleep-like phases that run between experiences without new data."""
