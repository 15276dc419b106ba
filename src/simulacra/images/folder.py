"""Image folders in and out: reading with one stated resize/crop and mode policy, writing atomically.

Layouts read:

- ImageFolder: ``root/<label>/*.png|jpg|...`` — one sub-folder per class, its name the label;
- flat: ``root/*.png|jpg|...`` — images without labels.

Policy (the same for every image of a folder):

- files whose name starts with ``.`` and a root ``index.csv`` (what :func:`write_image_folder`
  writes) are skipped; any other file that is not a readable image is an error naming it;
- mode: all grayscale (``1``, ``L``, ``LA``, ``I``, ``I;16``, ``F``) stays one channel (``L``);
  otherwise every image becomes ``RGB`` (alpha dropped, palettes expanded);
- size: with ``image_size=S`` every image is scaled so that its shorter side is S and centre-cropped
  to S × S (Lanczos); without it, images that all share one size are kept as they are, and a folder
  of mixed sizes is brought to its most common size (scaled to cover it, then centre-cropped).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError, UsageError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
INDEX_FILE = "index.csv"
GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")
MAX_SIZE = 512  # larger sides are refused: the models here are meant for small images


@dataclass
class ImageSet:
    """Images as ``uint8`` of shape (n, height, width, channels), their labels (str, or None for a
    flat folder) and, when read from files, the file of each image."""

    images: np.ndarray
    labels: np.ndarray | None
    files: list[str] | None = None
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def classes(self) -> list[str]:
        """The labels in sorted order (empty for unlabelled images)."""
        return [] if self.labels is None else sorted({str(x) for x in self.labels})


def _listing(root: Path) -> tuple[list[Path], dict[str, list[Path]]]:
    """The root's image files and each label folder's image files; other files are errors."""
    flat: list[Path] = []
    folders: dict[str, list[Path]] = {}
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            files = []
            for f in sorted(entry.iterdir()):
                if f.name.startswith("."):
                    continue
                if f.is_dir():
                    raise DataError(
                        f"{f}: a folder inside the label folder {entry.name}; images go directly in "
                        "<root>/<label>/ (move them up or remove the folder)"
                    )
                files.append(_image_file(f))
            folders[entry.name] = files
        elif entry.name == INDEX_FILE:
            continue
        else:
            flat.append(_image_file(entry))
    return flat, folders


def _image_file(f: Path) -> Path:
    if f.suffix.lower() not in IMAGE_EXTENSIONS:
        raise DataError(
            f"{f}: is not an image ({f.suffix or 'no extension'}); move it out of the folder "
            f"(images end in {', '.join(IMAGE_EXTENSIONS)})"
        )
    return f


def is_image_folder(path: str | os.PathLike) -> bool:
    """True when ``path`` is a folder holding image files, directly or one label folder down."""
    p = Path(path)
    if not p.is_dir():
        return False
    for entry in p.iterdir():
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix.lower() in IMAGE_EXTENSIONS:
            return True
        if entry.is_dir():
            for f in entry.iterdir():
                if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS:
                    return True
    return False


def read_image_folder(path: str | os.PathLike, image_size: int | None = None) -> ImageSet:
    """Read an ImageFolder (``<label>/*.png``) or a flat folder of images by the module's policy.

    Errors (one line naming the file or folder): no such folder, no images, an empty label folder,
    images beside label folders, a file that is not an image or cannot be decoded."""
    from PIL import Image, UnidentifiedImageError

    root = Path(path)
    if not root.exists():
        raise DataError(f"{root}: no such folder")
    if not root.is_dir():
        raise DataError(f"{root}: is a file; give a folder of images (<label>/*.png or *.png)")
    check_image_size(image_size)
    flat, folders = _listing(root)
    if flat and folders:
        raise DataError(
            f"{root}: holds both images ({flat[0].name}) and label folders ({next(iter(folders))}); "
            "put every image in a label folder, or use a flat folder without sub-folders"
        )
    for name, files in folders.items():
        if not files:
            raise DataError(f"{root / name}: label folder holds no images; add images or remove it")
    files = flat or [f for fs in folders.values() for f in fs]
    labels = None if flat else [name for name, fs in folders.items() for _ in fs]
    if not files:
        raise DataError(f"{root}: holds no images (expected <label>/*.png|jpg or *.png|jpg)")
    loaded = []
    for f in files:
        try:
            with Image.open(f) as im:
                im.load()
                loaded.append(im.copy())
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
            reason = " ".join(str(exc).split())[:80] or type(exc).__name__
            raise DataError(f"{f}: cannot be read as an image ({reason}); replace or remove it") from None
    images, notes = _normalise(loaded, image_size, files)
    return ImageSet(
        images,
        None if labels is None else np.asarray(labels, dtype=str),
        [str(f.relative_to(root)) for f in files],
        notes,
    )


def check_image_size(image_size: int | None) -> None:
    """A :class:`UsageError` unless ``image_size`` is None or a side from 4 to :data:`MAX_SIZE`."""
    if image_size is None:
        return
    if (
        isinstance(image_size, bool)
        or not isinstance(image_size, int | np.integer)
        or not (4 <= image_size <= MAX_SIZE)
    ):
        raise UsageError(
            f"image_size must be a whole number of pixels from 4 to {MAX_SIZE}, got {image_size!r}"
        )


def _normalise(loaded: list, image_size: int | None, files: list[Path]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Bring every PIL image to one mode and one size (see the module docstring)."""
    from PIL import Image, ImageOps

    notes = []
    gray = all(im.mode in GRAY_MODES for im in loaded)
    modes = Counter(im.mode for im in loaded)
    if len(modes) > 1:
        notes.append(
            f"mixed modes ({', '.join(f'{m}: {c}' for m, c in modes.most_common())}) read as "
            f"{'grayscale' if gray else 'RGB'}"
        )
    sizes = Counter(im.size for im in loaded)
    if image_size is not None:
        target = (int(image_size), int(image_size))
    else:
        target = sizes.most_common(1)[0][0]
        if len(sizes) > 1:
            notes.append(
                f"mixed sizes ({len(sizes)} different): scaled and centre-cropped to the most common, "
                f"{target[0]}×{target[1]} (set image_size to choose)"
            )
    if max(target) > MAX_SIZE:
        big = next(f for f, im in zip(files, loaded, strict=True) if im.size == target)
        raise DataError(f"{big}: is {target[0]}×{target[1]}; give --image-size (at most {MAX_SIZE})")
    out = np.empty((len(loaded), target[1], target[0], 1 if gray else 3), dtype=np.uint8)
    for i, im in enumerate(loaded):
        im = _to_mode(im, gray)
        if im.size != target:
            im = ImageOps.fit(im, target, method=Image.Resampling.LANCZOS)
        arr = np.asarray(im, dtype=np.uint8)
        out[i] = arr[..., None] if arr.ndim == 2 else arr
    return out, tuple(notes)


def _to_mode(im, gray: bool):  # noqa: ANN001, ANN202 - PIL images
    """``im`` as ``L`` (8-bit grayscale) or ``RGB``."""
    if gray:
        if im.mode in ("I", "I;16", "F"):
            arr = np.asarray(im, dtype=np.float64)
            hi = 65535.0 if im.mode != "F" and arr.max() > 255 else 255.0
            if im.mode == "F":
                hi = 1.0 if arr.max() <= 1.0 else 255.0
            from PIL import Image

            return Image.fromarray(np.clip(np.round(arr / hi * 255), 0, 255).astype(np.uint8), "L")
        return im.convert("L")
    return im.convert("RGB")


def as_uint8(images: np.ndarray, what: str = "images") -> np.ndarray:
    """An array of images as ``uint8`` (n, h, w, c): (n, h, w) is grayscale; integers must lie in
    0..255 and floats in [0, 1]."""
    arr = np.asarray(images)
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4 or arr.shape[-1] not in (1, 3) or arr.shape[0] == 0:
        raise DataError(
            f"{what}: expected an array of shape (n, height, width) or (n, height, width, 1|3), "
            f"got {arr.shape}"
        )
    if arr.dtype == np.uint8:
        return arr
    if np.issubdtype(arr.dtype, np.integer):
        if arr.min() < 0 or arr.max() > 255:
            raise DataError(f"{what}: integer pixels must lie in 0..255, got {arr.min()}..{arr.max()}")
        return arr.astype(np.uint8)
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 1:
            raise DataError(f"{what}: float pixels must be finite and lie in [0, 1]")
        return np.round(arr * 255).astype(np.uint8)
    raise DataError(f"{what}: pixels must be integers (0..255) or floats in [0, 1], got {arr.dtype}")


def png_bytes(image: np.ndarray) -> bytes:
    """One ``uint8`` image (h, w, 1|3) as PNG bytes (no timestamps: the same pixels give the same bytes)."""
    from PIL import Image

    arr = image[..., 0] if image.shape[-1] == 1 else image
    buf = io.BytesIO()
    Image.fromarray(arr, "L" if arr.ndim == 2 else "RGB").save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def check_out_folder(out: str | os.PathLike) -> Path:
    """An output folder that does not exist yet, or exists empty; else a :class:`UsageError`."""
    p = Path(out)
    if p.exists() and not p.is_dir():
        raise UsageError(f"{p}: exists and is not a folder; choose another --out")
    if p.is_dir() and any(p.iterdir()):
        raise UsageError(f"{p}: folder exists and is not empty; choose another --out or remove it")
    parent = p.parent if str(p.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise UsageError(f"{p}: {parent} is not a folder")
    return p


def write_image_folder(
    out: str | os.PathLike, images: np.ndarray, labels: np.ndarray | list | None, start: int = 0
) -> Path:
    """Write PNGs into ``out/<label>/NNNNNN.png`` (flat without labels) and ``out/index.csv``
    (file, label); written in a temporary folder renamed at the end, so nothing is half-written."""
    from ..io import current_umask

    target = check_out_folder(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        os.chmod(tmp, 0o777 & ~current_umask())
        write_images_into(tmp, images, labels, start)
        if target.exists():
            target.rmdir()
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return target


def write_images_into(
    folder: Path, images: np.ndarray, labels: np.ndarray | list | None, start: int = 0
) -> None:
    """Write images numbered from ``start`` into ``folder`` and append their rows to its index.csv."""
    width = 6
    index = folder / INDEX_FILE
    new = not index.exists()
    with index.open("a", newline="") as fh:
        w = csv.writer(fh)
        if new:
            w.writerow(["file", "label"])
        for i, img in enumerate(images):
            label = None if labels is None else str(labels[i])
            name = f"{start + i:0{width}d}.png"
            rel = name if label is None else f"{label}/{name}"
            if label is not None:
                (folder / label).mkdir(exist_ok=True)
            (folder / rel).write_bytes(png_bytes(img))
            w.writerow([rel, "" if label is None else label])


def conform(images: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``uint8`` images brought to ``shape`` (h, w, c) by the folder policy: channels converted
    (grayscale repeated to RGB, RGB to luminance), then scaled to cover and centre-cropped."""
    from PIL import Image, ImageOps

    h, w, c = (int(s) for s in shape)
    if images.shape[1:] == (h, w, c):
        return images
    out = np.empty((len(images), h, w, c), dtype=np.uint8)
    for i, img in enumerate(images):
        im = Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img)
        im = im.convert("L" if c == 1 else "RGB")
        if im.size != (w, h):
            im = ImageOps.fit(im, (w, h), method=Image.Resampling.LANCZOS)
        arr = np.asarray(im, dtype=np.uint8)
        out[i] = arr[..., None] if arr.ndim == 2 else arr
    return out
