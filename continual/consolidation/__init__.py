"""Consolidation components: a per-synapse importance and a proximal step towards consolidated
weights after the optimiser's step (EWC, SI, Hebbian), or a distillation term added to the
learner's loss (LwF). Each lives in its own module; the classes are exported here too, so
``from continual.consolidation import EWC`` works (as docs/avalanche.md shows)."""

from continual.consolidation.ewc import EWC
from continual.consolidation.hebbian import HebbianConsolidation
from continual.consolidation.lwf import LwF
from continual.consolidation.si import SynapticIntelligence

__all__ = ["EWC", "HebbianConsolidation", "LwF", "SynapticIntelligence"]
