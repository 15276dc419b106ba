"""``ImageSynthesizer``: learn labelled images, sample new ones per class (estimator style).

The models: ``diffusion`` (a class-conditional DDPM with a small U-Net, the ``[torch]`` extra,
:mod:`.diffusion`) and ``pca`` (per-class PCA + Gaussian mixture, no torch, :mod:`.baseline`).
Sampling runs in fixed chunks of :data:`IMAGE_CHUNK` images, each drawn from ``(seed, chunk)`` alone.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Self

import numpy as np

from ..errors import ConditionError, DataError, ModelFormatError, UsageError
from ..progress import ProgressLike, as_progress
from ..seeding import derive_rng
from ..tabular.estimator import Estimator, SamplingPlan, check_count, check_seed
from ..tabular.persistence import MODEL_FILE, format_reason, read_model_dir, write_model_dir
from .baseline import PCAMixture
from .folder import (
    ImageSet,
    as_uint8,
    check_image_size,
    check_out_folder,
    read_image_folder,
    write_images_into,
)

IMAGE_CHUNK = 1024
"""Images per sampling chunk. Fixed: changing it changes the bytes a seed produces."""
MIN_CLASS_IMAGES = 5
"""A class with fewer images than this is refused: no model can learn a class from one picture."""
MODELS = ("diffusion", "pca")
KIND = "images"


def model_class(name: str) -> type:
    """The model class registered as ``name`` (``diffusion`` imports torch)."""
    if name == "pca":
        return PCAMixture
    if name == "diffusion":
        try:
            from .diffusion import DiffusionModel
        except ImportError as exc:
            if "torch" not in str(exc) and "safetensors" not in str(exc):
                raise
            raise UsageError(
                "the diffusion model needs torch: pip install 'simulacra[torch]' (or use --model pca)"
            ) from None
        return DiffusionModel
    raise UsageError(f"unknown image model '{name}'; choose from {', '.join(MODELS)}")


def image_model_params(name: str) -> list[str]:
    """The parameters model ``name`` accepts (read from its signature; ``seed`` left out)."""
    cls = model_class(name)
    return [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "seed")]


def is_image_model(path: str | os.PathLike) -> bool:
    """Whether ``path`` holds a model written by :meth:`ImageSynthesizer.save`."""
    try:
        meta = json.loads((Path(path) / MODEL_FILE).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("synthesizer") == KIND


class ImageSynthesizer(Estimator):
    """Learn a folder (or array) of labelled images and sample new ones, per class if asked.

    ``model``: ``diffusion`` (default; needs torch) or ``pca``. ``image_size``: resize and centre-crop
    every image to this square side (see :mod:`.folder` for the policy). ``params`` go to the model
    (diffusion: ``epochs``, ``max_minutes``, ``guidance``, ``epsilon`` ...; pca: ``components`` ...).
    """

    _not_fitted = "the image synthesizer is not fitted yet; call fit(images) first"

    def __init__(self, model: str = "diffusion", image_size: int | None = None, seed: int = 0, **params: Any):
        self.model = model
        self.image_size = image_size
        self.seed = seed
        self.params = params

    def check_params(self) -> None:
        """One :class:`UsageError` for an unknown model, parameter or impossible size."""
        if self.model not in MODELS:
            raise UsageError(f"unknown image model '{self.model}'; choose from {', '.join(MODELS)}")
        check_image_size(self.image_size)
        check_seed(self.seed)
        accepted = image_model_params(self.model)
        for name in self.params:
            if name not in accepted:
                raise UsageError(f"'{name}' is not a parameter of the {self.model} image model")

    def fit(self, data: Any, labels: Any = None, progress: ProgressLike = None) -> Self:
        """Learn from a folder path, an :class:`ImageSet`, or an array of images (``labels``: one per
        image, or None for one unlabelled class)."""
        self.check_params()
        where = None
        if isinstance(data, str | os.PathLike):
            where = Path(data)
            data = read_image_folder(data, self.image_size)
        elif not isinstance(data, ImageSet):
            data = ImageSet(as_uint8(data), None if labels is None else np.asarray(labels).astype(str))
            if self.image_size is not None:
                data = ImageSet(resize(data.images, self.image_size), data.labels)
        if labels is not None and data.labels is None:
            data = ImageSet(data.images, np.asarray(labels).astype(str), data.files, data.notes)
        if data.labels is not None and len(data.labels) != len(data):
            raise DataError(f"labels: {len(data.labels)} labels for {len(data)} images; give one per image")
        self.labelled_ = data.labels is not None
        raw = data.labels if self.labelled_ else np.zeros(len(data), dtype=str)
        classes, y, counts = np.unique(raw, return_inverse=True, return_counts=True)
        for c, k in zip(classes, counts, strict=True):
            check_label(str(c))
            if k < MIN_CLASS_IMAGES:
                place = f"{where / str(c)}" if where is not None and self.labelled_ else f"label '{c}'"
                if not self.labelled_:
                    place = str(where) if where is not None else "images"
                raise DataError(
                    f"{place}: holds {k} image{'s' if k != 1 else ''}; a class needs at least "
                    f"{MIN_CLASS_IMAGES} to be learned (add images or remove it)"
                )
        model = model_class(self.model)(**self.params, seed=self.seed)
        x = data.images.astype(np.float32) / 255.0
        model.fit(x, y.astype(np.int64), len(classes), progress=progress)
        self.classes_ = [str(c) for c in classes]
        self.counts_ = [int(k) for k in counts]
        self.shape_ = tuple(int(s) for s in data.images.shape[1:])
        self.notes_ = list(data.notes)
        self.model_ = model
        return self

    # -------------------------------------------------------------------------------- sampling
    def plan(
        self,
        n: int,
        where: dict[str, Any] | None = None,
        rebalance: str | None = None,
        seed: int | None = None,
        chunk_rows: int = IMAGE_CHUNK,
    ) -> SamplingPlan:
        """Resolve ``where`` (``{"label": "7"}`` or ``{"label": ["3", "7"]}``) and ``rebalance``
        (``"label"``: classes equally often) into class shares; errors raise here, before any image."""
        self.check_fitted()
        n = check_count(n, "images")
        seed = check_seed(self.seed if seed is None else seed)
        shares = np.asarray(self.counts_, dtype=np.float64)
        for col, value in (where or {}).items():
            if col != "label":
                raise ConditionError(f"--where {col}=...: images have one column to condition on, 'label'")
            if not self.labelled_:
                raise ConditionError("--where label=...: this model was learned from unlabelled images")
            wanted = [value] if isinstance(value, str | int | np.integer) else list(value)
            if not wanted or not all(isinstance(v, str | int | np.integer) for v in wanted):
                raise ConditionError(f"--where label={value!r}: give labels, label=7 or label=3|7")
            unknown = [str(v) for v in wanted if str(v) not in self.classes_]
            if unknown:
                raise ConditionError(
                    f"--where label={unknown[0]}: unknown label; the model knows {_listed(self.classes_)}"
                )
            keep = np.isin(self.classes_, [str(v) for v in wanted])
            shares = np.where(keep, shares, 0.0)
        if rebalance is not None:
            if rebalance != "label":
                raise ConditionError(f"--rebalance {rebalance}: images can be rebalanced on 'label' only")
            if not self.labelled_:
                raise ConditionError("--rebalance label: this model was learned from unlabelled images")
            shares = (shares > 0).astype(np.float64)
        parts = {"shares": (shares / shares.sum()).tolist(), "balanced": rebalance is not None}
        return SamplingPlan(n=n, seed=seed, chunk_rows=chunk_rows, parts=parts, unit="images")

    def chunk_labels(self, plan: SamplingPlan, k: int) -> np.ndarray:
        """The class index of every image of chunk ``k`` (balanced: equal counts, leftovers at random)."""
        size = plan.chunk_size(k)
        rng = derive_rng(plan.seed, "images", "labels", k)
        shares = np.asarray(plan.parts["shares"])
        if plan.parts["balanced"]:
            allowed = np.flatnonzero(shares > 0)
            base, rest = divmod(size, len(allowed))
            counts = np.full(len(allowed), base)
            counts[rng.permutation(len(allowed))[:rest]] += 1
            return rng.permutation(np.repeat(allowed, counts))
        return np.minimum(
            np.searchsorted(np.cumsum(shares), rng.random(size) * shares.sum()), len(shares) - 1
        )

    def sample_chunk(self, plan: SamplingPlan, k: int) -> ImageSet:
        """Chunk ``k`` of ``plan``: the same images whoever makes it, in any order."""
        self.check_fitted()
        y = self.chunk_labels(plan, k)
        x = self.model_.generate(y, plan.seed, k)
        images = np.round(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)
        labels = np.asarray(self.classes_, dtype=str)[y] if self.labelled_ else None
        return ImageSet(images, labels)

    def sample(
        self,
        n: int,
        where: dict[str, Any] | None = None,
        rebalance: str | None = None,
        seed: int | None = None,
        progress: ProgressLike = None,
    ) -> ImageSet:
        """``n`` synthetic images (``.images`` uint8 (n, h, w, c), ``.labels``)."""
        plan = self.plan(n, where, rebalance, seed)
        bar = as_progress(progress)
        bar.start(n, "images")
        parts = list(self.iter_chunks(plan, bar))
        labels = None if not self.labelled_ else np.concatenate([p.labels for p in parts])
        return ImageSet(np.concatenate([p.images for p in parts]), labels)

    def sample_to_folder(
        self,
        out: str | os.PathLike,
        n: int,
        where: dict[str, Any] | None = None,
        rebalance: str | None = None,
        seed: int | None = None,
        progress: ProgressLike = None,
    ) -> Path:
        """Write ``n`` images as PNGs in ``out/<label>/`` plus ``out/index.csv``; a temporary folder is
        renamed at the end, so a failure leaves nothing half-written."""
        from ..io import current_umask

        target = check_out_folder(out)
        plan = self.plan(n, where, rebalance, seed)
        bar = as_progress(progress)
        bar.start(n, "images")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            os.chmod(tmp, 0o777 & ~current_umask())
            start = 0
            for part in self.iter_chunks(plan, bar):
                write_images_into(tmp, part.images, part.labels, start)
                start += len(part)
            if target.exists():
                target.rmdir()
            os.replace(tmp, target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)
        return target

    # ------------------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> Path:
        """Write the model directory (``model.json``, ``arrays.npz``, network weights as safetensors)."""
        self.check_fitted()
        meta = {
            "synthesizer": KIND,
            "model": self.model,
            "image_size": self.image_size,
            "seed": self.seed,
            "params": self.params,
            "classes": self.classes_,
            "labelled": self.labelled_,
            "counts": self.counts_,
            "shape": list(self.shape_),
            "notes": self.notes_,
            "state": self.model_.to_meta(),
        }
        arrays = {f"model.{k}": v for k, v in self.model_.to_arrays().items()}
        return write_model_dir(path, meta, arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> ImageSynthesizer:
        """Read a model directory written by :meth:`save`; a damaged one raises a one-line error."""
        meta, arrays = read_model_dir(path)
        source = Path(path) / MODEL_FILE
        if meta.get("synthesizer") != KIND:
            raise ModelFormatError(
                f"{path}: holds a {meta.get('synthesizer', 'table')} model, not an image model"
            )
        try:
            self = cls(meta["model"], meta["image_size"], meta["seed"], **meta["params"])
            self.classes_ = [str(c) for c in meta["classes"]]
            self.labelled_ = bool(meta["labelled"])
            self.counts_ = [int(k) for k in meta["counts"]]
            self.shape_ = tuple(int(s) for s in meta["shape"])
            self.notes_ = list(meta.get("notes", []))
            if len(self.counts_) != len(self.classes_) or not self.classes_:
                raise ValueError("classes and counts disagree")
            model_cls = model_class(self.model)
            self.model_ = model_cls.from_saved(meta["state"], arrays.under("model."), self.seed)
        except (ModelFormatError, UsageError):
            raise
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ModelFormatError(f"{source}: is damaged ({format_reason(exc)}); refit the model") from None
        return self


def check_label(label: str) -> None:
    """A label must be usable as a folder name."""
    if label.startswith(".") or "/" in label or "\\" in label or "\x00" in label:
        raise DataError(f"label '{label}': cannot be a folder name; rename it (no '/', no leading '.')")


def _listed(names: list[str], most: int = 12) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def resize(images: np.ndarray, size: int) -> np.ndarray:
    """``uint8`` images scaled (shorter side to ``size``) and centre-cropped to ``size`` × ``size``."""
    from PIL import Image, ImageOps

    if images.shape[1] == images.shape[2] == size:
        return images
    out = np.empty((len(images), size, size, images.shape[-1]), dtype=np.uint8)
    for i, img in enumerate(images):
        im = Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img)
        arr = np.asarray(ImageOps.fit(im, (size, size), method=Image.Resampling.LANCZOS))
        out[i] = arr[..., None] if arr.ndim == 2 else arr
    return out
