"""Data sources: functions that return a :class:`LabelledData` and know nothing of experiences.

Embedded sources need no download: scikit-learn's digits and synthetic clusters.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
import torch

from continual.ranges import Positive, Range, Seed, checked
from continual.scenarios.experience import LabelledData


def _stratified(x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int, name: str):
    from sklearn.model_selection import train_test_split

    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_fraction, stratify=y, random_state=seed
    )
    return LabelledData(
        name=name,
        x_train=torch.as_tensor(x_train, dtype=torch.float32),
        y_train=torch.as_tensor(y_train, dtype=torch.long),
        x_test=torch.as_tensor(x_test, dtype=torch.float32),
        y_test=torch.as_tensor(y_test, dtype=torch.long),
    )


@checked
def digits(
    *,
    test_fraction: Annotated[float, Range(0, 1, True, True)] = 0.2,
    split_seed: Seed = 0,
    size: Annotated[int, Range(8, 256, note="8: the original")] = 8,
) -> LabelledData:
    """scikit-learn's 1797 8x8 digit images (Alpaydin & Kaynak 1998), scaled to [0, 1], with a
    stratified train/test split that is fixed by ``split_seed`` (not by the run's seed, so every
    seed of a run is tested on the same images). ``size`` > 8 upsamples them bilinearly to
    ``size``×``size`` (28: MNIST's shape, to check that a method tuned on 8×8 travels to 784
    inputs; the images stay smooth, so this is no substitute for MNIST itself)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)  # (N, 8, 8), pixel values 0..16
    if size != 8:
        images = upsample(images, size)
    name = "digits" if size == 8 else f"digits-{size}"
    return _stratified(images, bunch.target, test_fraction, split_seed, name)


def upsample(images: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of (N, H, W) images to (N, size, size), values clipped to [0, 1]."""
    tensor = torch.as_tensor(images)[:, None]
    resized = torch.nn.functional.interpolate(
        tensor, size=(size, size), mode="bilinear", align_corners=False
    )
    return resized[:, 0].clamp(0.0, 1.0).numpy()


@checked
def synthetic(
    *,
    samples: Annotated[int, Range(2, 10_000_000)] = 1000,
    features: Annotated[int, Range(2, 100_000)] = 20,
    classes: Annotated[int, Range(2, 1000)] = 10,
    test_fraction: Annotated[float, Range(0, 1, True, True)] = 0.25,
    class_sep: Positive = 4.0,
    split_seed: Seed = 0,
) -> LabelledData:
    """Well-separated Gaussian clusters from ``sklearn.datasets.make_classification``, scaled to
    [0, 1] per feature. Tiny and fast: the test suite's stream."""
    from sklearn.datasets import make_classification

    x, y = make_classification(
        n_samples=samples,
        n_features=features,
        n_informative=min(features, max(2, features // 2)),
        n_redundant=0,
        n_classes=classes,
        n_clusters_per_class=1,
        class_sep=class_sep,
        random_state=split_seed,
    )
    x = (x - x.min(0)) / (x.max(0) - x.min(0) + 1e-12)
    return _stratified(x.astype(np.float32), y, test_fraction, split_seed, "synthetic")
