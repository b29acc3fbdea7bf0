"""Evaluation: the accuracy matrix, metrics as pure functions of it, anytime curves, cost."""
