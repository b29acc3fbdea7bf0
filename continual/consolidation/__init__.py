"""Consolidation components: a per-synapse importance and a quadratic pull towards consolidated
weights, added to the update in ``adjust_update``."""
