"""Replay: a fixed-budget memory of past samples mixed into training batches."""
