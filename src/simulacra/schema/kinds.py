"""Column kinds and PII kinds."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """What a column holds, which decides how it is learned and regenerated."""

    INTEGER = "integer"
    FLOAT = "float"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    ID = "id"
    TEXT = "text"
    PII = "pii"


class PiiKind(StrEnum):
    """Kinds of personal data. Such columns are never learned from; fresh values replace them."""

    EMAIL = "email"
    PHONE = "phone"
    PERSON_NAME = "person_name"
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    STREET_ADDRESS = "street_address"
    NATIONAL_ID = "national_id"
    CARD_NUMBER = "card_number"
    IP_ADDRESS = "ip_address"


LEARNED_KINDS = frozenset({Kind.INTEGER, Kind.FLOAT, Kind.CATEGORICAL, Kind.BOOLEAN, Kind.DATETIME})
"""Kinds whose joint distribution a synthesizer learns; the others are regenerated."""
