"""Components plug into a strategy through no-op hooks (see :class:`Component`)."""

from continual.components.base import Batch, Component

__all__ = ["Batch", "Component"]
