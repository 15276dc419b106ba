"""Relational synthesis: learn a database's tables and keys, write a synthetic one with every key valid."""

from .metadata import ForeignKey, Metadata, Table

__all__ = ["ForeignKey", "Metadata", "Table"]
