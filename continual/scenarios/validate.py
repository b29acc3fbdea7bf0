"""Checks every dataset passes before a generator sees it, each ending in one clear message."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from continual.errors import ContinualError
from continual.limits import MAX_CLASSES
from continual.scenarios.experience import LabelledData


def as_tensors(x, y, where: str, part: str) -> tuple[Tensor, Tensor]:
    """Validated (x, y) tensors: equal lengths, finite values, integer labels ≥ 0."""
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim < 2:
        raise ContinualError(
            f"{where}: x_{part} must have one row per sample (got shape {x.shape})"
        )
    if y.ndim != 1:
        raise ContinualError(f"{where}: y_{part} must be a flat vector of labels (got {y.shape})")
    if len(x) != len(y):
        raise ContinualError(f"{where}: x_{part} has {len(x)} samples but y_{part} has {len(y)}")
    if len(x) == 0:
        raise ContinualError(f"{where}: the {part} set is empty")
    if x.dtype.kind not in "biuf":
        raise ContinualError(f"{where}: x_{part} must be numeric (got {x.dtype})")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        bad = int((~np.isfinite(x)).any(axis=tuple(range(1, x.ndim))).sum())
        raise ContinualError(f"{where}: x_{part} has NaN or infinite values in {bad} samples")
    if y.dtype.kind == "f":
        if not np.isfinite(y).all() or not np.equal(np.mod(y, 1), 0).all():
            raise ContinualError(f"{where}: y_{part} must hold integer class labels")
        y = y.astype(np.int64)
    elif y.dtype.kind not in "iu":
        raise ContinualError(f"{where}: y_{part} must hold integer class labels (got {y.dtype})")
    if y.min() < 0:
        raise ContinualError(f"{where}: y_{part} has negative labels")
    if y.max() >= MAX_CLASSES:
        raise ContinualError(
            f"{where}: y_{part} has label {int(y.max())}; labels must be below {MAX_CLASSES} "
            "(number the classes 0, 1, 2, ...)"
        )
    tensor = torch.from_numpy(np.array(x, copy=True, order="C"))
    if tensor.dtype != torch.uint8:
        tensor = tensor.float()
    return tensor, torch.from_numpy(y.astype(np.int64))


def labelled(name: str, x_train, y_train, x_test, y_test, where: str) -> LabelledData:
    """A validated :class:`LabelledData` from train and test arrays (any array-likes)."""
    xtr, ytr = as_tensors(x_train, y_train, where, "train")
    xte, yte = as_tensors(x_test, y_test, where, "test")
    if xtr.shape[1:] != xte.shape[1:]:
        raise ContinualError(
            f"{where}: train inputs have shape {tuple(xtr.shape[1:])} but test inputs "
            f"{tuple(xte.shape[1:])}"
        )
    if xtr.dtype == torch.float32 and xtr.numel() and float(xtr.abs().max()) > 1.0 + 1e-6:
        top = float(xtr.max())
        if top <= 255.0 and float(xtr.min()) >= 0.0:  # 0..255 floats: scale like uint8
            xtr, xte = xtr / 255.0, xte / 255.0
    if xtr.ndim == 4 and xtr.shape[-1] in (1, 3) and xtr.shape[1] not in (1, 3):
        xtr, xte = xtr.permute(0, 3, 1, 2).contiguous(), xte.permute(0, 3, 1, 2).contiguous()
    return LabelledData(name, xtr, ytr, xte, yte)
