"""Images: folders of labelled images in and out, and :class:`ImageSynthesizer` (a class-conditional
diffusion model with the ``[torch]`` extra, or a per-class PCA + Gaussian mixture baseline without it).

torch is imported only by :mod:`.diffusion`, when that model is asked for.
"""

from .folder import IMAGE_EXTENSIONS, ImageSet, is_image_folder, read_image_folder, write_image_folder
from .synthesizer import IMAGE_CHUNK, MODELS, ImageSynthesizer, image_model_params, is_image_model

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
