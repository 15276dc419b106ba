"""The image side of ``fit``, ``sample`` and ``evaluate``: a folder of images (``<label>/*.png`` or
``*.png``) and a model directory written by :class:`simulacra.images.ImageSynthesizer`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ConditionError, UsageError
from .render import out, progress_bar


def refuse(given: dict[str, Any], what: str) -> None:
    """One line for the first option given that has no meaning for ``what``."""
    used = [flag for flag, value in given.items() if value not in (None, False, [])]
    if used:
        raise UsageError(f"{used[0]} does not apply to {what}; drop it")


def fit_images(
    data: Path,
    out_dir: Path,
    model: str | None,
    image_size: int | None,
    max_minutes: float | None,
    epsilon: float | None,
    delta: float | None,
    seed: int,
    quiet: bool,
) -> None:
    """``fit`` on an image folder: learn it and write a model directory."""
    from ..images import ImageSynthesizer, image_model_params
    from ..images.folder import check_image_size

    model = model or "diffusion"
    if seed < 0:
        raise UsageError(f"--seed must be a non-negative integer, got {seed}")
    try:
        check_image_size(image_size)
    except UsageError:
        raise UsageError(
            f"--image-size must be a whole number of pixels from 4 to 512, got {image_size}"
        ) from None
    accepted = image_model_params(model)
    given = {"max_minutes": max_minutes, "epsilon": epsilon, "delta": delta}
    for name, value in given.items():
        if value is not None and name not in accepted:
            raise UsageError(
                f"--{name.replace('_', '-')} applies to the diffusion image model, not to '{model}'"
            )
    if delta is not None and epsilon is None:
        raise UsageError("--delta needs --epsilon (the privacy budget)")
    params = {k: v for k, v in given.items() if v is not None}
    synth = ImageSynthesizer(model, image_size=image_size, seed=seed, **params)
    synth.check_params()
    _check_model_out(out_dir)
    with progress_bar(quiet, None, f"fitting {data.name}") as progress:
        synth.fit(data, progress=progress)
    synth.save(out_dir)
    if not quiet:
        h, w, c = synth.shape_
        for note in synth.notes_:
            out.print(f"note: {note}", markup=False)
        n = sum(synth.counts_)
        classes = f"{len(synth.classes_)} classes" if synth.labelled_ else "no labels"
        out.print(f"learned {n:,} images ({h}×{w}×{c}, {classes}) with '{model}' → {out_dir}/", markup=False)


def _check_model_out(out_dir: Path) -> None:
    from ..tabular.persistence import MODEL_FILE

    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir}: exists and is not a directory; choose another --out")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MODEL_FILE).exists():
        raise UsageError(f"{out_dir}: is a non-empty directory that holds no model; choose another --out")


def is_image_route(model_dir: Path, output: str) -> bool:
    """``sample`` goes to the image side for an image model, and for a model whose ``model.json`` is
    damaged when ``--out`` names a folder (so the error names the damaged file, not the output)."""
    import json

    from ..images import is_image_model

    if is_image_model(model_dir):
        return True
    try:
        json.loads((Path(model_dir) / "model.json").read_text())
    except (OSError, UnicodeDecodeError):
        return False
    except ValueError:
        return Path(output).suffix == ""
    return False


def sample_images(
    model_dir: Path,
    n: int | None,
    output: str,
    where: list[str] | None,
    rebalance: str | None,
    seed: int,
    quiet: bool,
) -> None:
    """``sample`` from an image model: PNGs in label folders plus index.csv, written atomically."""
    from ..images import ImageSynthesizer
    from ..images.folder import check_out_folder
    from ..tabular import parse_where

    if n is None:
        raise UsageError("-n/--rows is required: how many images to sample")
    if n <= 0:
        raise UsageError(f"-n must be a positive number of images, got {n}")
    if seed < 0:
        raise UsageError(f"--seed must be a non-negative integer, got {seed}")
    target = check_out_folder(Path(output))
    if target.suffix.lower() in (".csv", ".parquet", ".jsonl", ".tsv"):
        raise UsageError(f"{target}: an image model writes a folder of PNGs; give a folder name as --out")
    conditions = parse_where(where or [])
    for col, value in conditions.items():
        if not isinstance(value, str | list):
            raise ConditionError(f"--where {col}={value!r}: images take label=7 or label=3|7, not a range")
    synth = ImageSynthesizer.load(model_dir)
    synth.plan(n, conditions or None, rebalance, seed)  # a bad --where fails here, before any file
    with progress_bar(quiet, n, "sampling images") as progress:
        synth.sample_to_folder(target, n, conditions or None, rebalance, seed, progress)
    if not quiet:
        out.print(
            f"wrote {n:,} synthetic images → {target}/ (PNGs in label folders, index.csv)", markup=False
        )


def evaluate_images(
    synthetic: str,
    train: str,
    holdout: str,
    sections: list[str],
    seed: int,
    quiet: bool,
) -> Any:
    """``evaluate`` on image folders: the image report (fidelity, utility, privacy)."""
    from ..errors import SimulacraError
    from ..evaluation.images import evaluate_images as run
    from ..images import read_image_folder

    sets = {}
    for role, path in (("train", train), ("holdout", holdout), ("synthetic", synthetic)):
        try:
            sets[role] = read_image_folder(path)
        except SimulacraError as exc:
            raise type(exc)(f"--{role} {exc}") from None
    with progress_bar(quiet, len(sections) + 1, "checking images") as progress:
        return run(
            synthetic=sets["synthetic"],
            train=sets["train"],
            holdout=sets["holdout"],
            sections=sections,
            seed=seed,
            sources={"synthetic": str(synthetic), "train": str(train), "holdout": str(holdout)},
            progress=progress,
        )
