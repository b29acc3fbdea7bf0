"""Streams of experiences: data sources (where the arrays come from) and generators (how a
labelled dataset is cut into experiences). A generator never knows where the data came from.

Import from the submodules (``continual.scenarios.experience`` ...); this package imports nothing
so that ``continual list`` stays free of torch.
"""
