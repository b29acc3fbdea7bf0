"""Counting floating-point operations of a call: matrix products and convolutions, 2 FLOPs per
multiply-accumulate (``torch.utils.flop_counter.FlopCounterMode``); elementwise work is not
counted. A leaf module, so that components can count their own phases (``Component.cost``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch.utils.flop_counter import FlopCounterMode


def count_flops(function: Callable[..., Any], *args: Any, **kwargs: Any) -> float:
    """FLOPs of one call of ``function`` (matrix products and convolutions only)."""
    with FlopCounterMode(display=False) as counter:
        function(*args, **kwargs)
    return float(counter.get_total_flops())
