"""continual: continual learning with biologically plausible learners, Hebbian consolidation and
sleep-like replay, measured side by side with backprop.

Importing the package is cheap: submodules import torch only when used.
"""

__version__ = "0.1.0"
