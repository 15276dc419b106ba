"""Images: folders of labelled images in and out, and :class:`ImageSynthesizer` (a class-conditional
diffusion model with the ``[torch]`` extra, or a per-class PCA + Gaussian mixture baseline without it).

torch is imported only by :mod:`.diffusion`, when that model is asked for; :mod:`.synthesizer` on first use.
"""

from typing import Any

from .folder import IMAGE_EXTENSIONS, ImageSet, is_image_folder, read_image_folder, write_image_folder

# The synthesizer pulls in the tabular estimator machinery (and scikit-learn): loaded on first use, so
# that telling an image folder from a table (every `evaluate` and `fit` call) costs nothing.
_LAZY = {"IMAGE_CHUNK", "MODELS", "ImageSynthesizer", "image_model_params", "is_image_model"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import synthesizer

        return getattr(synthesizer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "IMAGE_CHUNK",
    "IMAGE_EXTENSIONS",
    "MODELS",
    "ImageSet",
    "ImageSynthesizer",
    "image_model_params",
    "is_image_folder",
    "is_image_model",
    "read_image_folder",
    "write_image_folder",
]
