"""The image report (``evaluate`` on image folders): Fréchet distance, KID and precision / recall /
density / coverage in the features of a classifier trained on the real train split, label fidelity,
train-on-synthetic accuracy and the DCR share for images, each beside the real holdout's, and an HTML
page of per-class grids. See :mod:`.report`."""

from __future__ import annotations

import os
from typing import Any

from ...images.folder import ImageSet, as_uint8, is_image_folder, read_image_folder
from .report import SECTIONS, ImageReport
from .report import evaluate_images as _evaluate_sets

__all__ = ["SECTIONS", "ImageReport", "evaluate_images", "is_images"]


def is_images(data: Any) -> bool:
    """Whether ``data`` is images: an :class:`ImageSet` or a folder of image files."""
    return isinstance(data, ImageSet) or (isinstance(data, str | os.PathLike) and is_image_folder(data))


def as_image_set(data: Any, role: str) -> ImageSet:
    """``data`` (an :class:`ImageSet`, a folder, or an ``(images, labels)`` pair) as an :class:`ImageSet`."""
    if isinstance(data, ImageSet):
        return data
    if isinstance(data, str | os.PathLike):
        return read_image_folder(data)
    if isinstance(data, tuple) and len(data) == 2:
        images, labels = data
        return ImageSet(as_uint8(images, role), None if labels is None else [str(v) for v in labels])
    raise TypeError(f"the {role} images must be an ImageSet, a folder or an (images, labels) pair")


def evaluate_images(*, synthetic: Any, train: Any, holdout: Any, **kwargs: Any) -> ImageReport:
    """The image report of ``synthetic`` against ``train`` and ``holdout`` (ImageSets, folders or
    ``(images, labels)`` pairs); see :func:`.report.evaluate_images` for the options."""
    return _evaluate_sets(
        synthetic=as_image_set(synthetic, "synthetic"),
        train=as_image_set(train, "train"),
        holdout=as_image_set(holdout, "holdout"),
        **kwargs,
    )
