"""Sequences and time series: entities with histories (long format), learned and sampled."""

from .synthesizer import ENTITY_CHUNK, SequenceSynthesizer, is_sequence_model
from .windows import make_windows

__all__ = ["ENTITY_CHUNK", "SequenceSynthesizer", "is_sequence_model", "make_windows"]
