"""The shapes of a rules spec: what each column type, a table and the spec accept (pydantic models).

:mod:`simulacra.rules.spec` validates a YAML spec against these shapes, then checks its meaning.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "normal": ("mean", "sd"),
    "lognormal": ("mean", "sigma"),
    "gamma": ("shape", "scale"),
    "beta": ("a", "b"),
    "poisson": ("lam",),
    "zipf": ("a",),
    "uniform": ("min", "max"),
    "exponential": ("scale",),
    "empirical": ("values",),
}
"""Each distribution and the parameters it needs."""

PERSON_FIELDS = ("first_name", "last_name", "full_name", "email", "phone", "street_address")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class NumberSpec(_Model):
    """A distribution with its parameters, clipped to ``min``/``max`` and rounded."""

    distribution: str
    mean: float | None = None
    sd: float | None = None
    sigma: float | None = None
    shape: float | None = None
    scale: float | None = None
    a: float | None = None
    b: float | None = None
    lam: float | None = None
    values: list[Any] | None = None
    weights: list[float] | None = None
    min: float | None = None
    max: float | None = None
    round: int | None = None


class _Column(_Model):
    missing: float = Field(default=0.0, ge=0, le=1)
    """Share of the column's output values written as missing (expressions still see the values)."""


class SequenceCol(_Column):
    type: Literal["sequence"]
    start: int = 1
    step: int = 1


class UniqueIdCol(_Column):
    type: Literal["unique_id"]
    prefix: str = ""
    width: int = Field(default=8, ge=1, le=18)


class WhenClause(_Model):
    if_: str = Field(alias="if")
    values: dict[Any, float] | list[Any]


class ChoiceCol(_Column):
    type: Literal["choice"]
    values: dict[Any, float] | list[Any]
    when: list[WhenClause] = []


class NumberCol(NumberSpec):
    type: Literal["number"]
    missing: float = Field(default=0.0, ge=0, le=1)


class Seasonality(_Model):
    weekday: list[float] | None = None
    hour: list[float] | None = None
    month: list[float] | None = None


class DatetimeCol(_Column):
    type: Literal["datetime"]
    start: str
    end: str
    seasonality: Seasonality | None = None
    format: str | None = None


class PersonCol(_Column):
    type: Literal["person"]
    field: str


class ExpressionCol(_Column):
    type: Literal["expression"]
    expr: str


class ForeignKeyCol(_Column):
    type: Literal["foreign_key"]
    references: str


class TimelineCol(_Column):
    type: Literal["timeline"]
    parent_column: str
    gap: NumberSpec
    format: str | None = None


COLUMN_TYPES: dict[str, type[_Model]] = {
    "sequence": SequenceCol,
    "unique_id": UniqueIdCol,
    "choice": ChoiceCol,
    "number": NumberCol,
    "datetime": DatetimeCol,
    "person": PersonCol,
    "expression": ExpressionCol,
    "foreign_key": ForeignKeyCol,
    "timeline": TimelineCol,
}


class PerParent(NumberSpec):
    parent: str
    distribution: str = "poisson"


class _TableModel(_Model):
    rows: int | None = Field(default=None, ge=0)
    per_parent: PerParent | None = None
    columns: dict[str, Any]


class _SpecModel(_Model):
    seed: int | None = Field(default=None, ge=0)
    params: dict[str, Any] = {}
    tables: dict[str, _TableModel]
