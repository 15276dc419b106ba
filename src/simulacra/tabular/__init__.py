"""Learn from a table and sample synthetic rows: ``TabularSynthesizer`` over a registry of models."""

from .conditions import parse_where
from .job import sample_to_file
from .models import REGISTRY, register
from .synthesizer import TabularSynthesizer

__all__ = ["REGISTRY", "TabularSynthesizer", "parse_where", "register", "sample_to_file"]
