"""continual: continual learning with biologically plausible learners, Hebbian consolidation and
sleep-like replay, measured side by side with backprop.

Importing the package is cheap: submodules import torch only when used. From Python:
``continual.run``, ``continual.ablate`` and ``continual.write_report`` (see :mod:`continual.api`).
"""

__version__ = "0.1.0"

__all__ = ["Results", "ablate", "run", "write_report"]


def __getattr__(name: str):  # the API is imported on first use, keeping `import continual` light
    if name in __all__:
        from continual import api

        return getattr(api, name)
    raise AttributeError(f"module 'continual' has no attribute {name!r}")
