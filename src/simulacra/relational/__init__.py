"""Relational synthesis: learn a database's tables and keys, write a synthetic one with every key valid."""

from .catalog import is_database, read_database
from .checks import check_tables
from .infer import infer_metadata, read_folder
from .job import sample_database
from .metadata import ForeignKey, Metadata, Table
from .split import split_by_root
from .synthesizer import RelationalSynthesizer, is_relational_model
from .writer import write_database

__all__ = [
    "ForeignKey",
    "Metadata",
    "RelationalSynthesizer",
    "Table",
    "check_tables",
    "infer_metadata",
    "is_database",
    "is_relational_model",
    "read_database",
    "read_folder",
    "sample_database",
    "split_by_root",
    "write_database",
]
