"""Deep generative models over bin codes (the ``[torch]`` extra): autoregressive, diffusion and GAN.

Importing this package imports torch; :mod:`simulacra.tabular.models` loads it only when one of these
models is asked for by name, so ``import simulacra`` never needs torch.
"""

from __future__ import annotations

from .autoregressive import AutoregressiveModel
from .diffusion import DiffusionModel
from .gan import GANModel

__all__ = ["AutoregressiveModel", "DiffusionModel", "GANModel"]
