"""The schema object: one entry per column (its kind) plus the constraints, saved as YAML."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from ..errors import SchemaError
from ..yamlerrors import yaml_problem
from .constraints import Constraint, Fixed, Formula, Inequality, Range, constraint_label
from .kinds import LEARNED_KINDS, Kind, PiiKind

SCHEMA_VERSION = 1


class ColumnSchema(BaseModel):
    """How one column is treated. ``note`` says why a kind was inferred; it is informative only."""

    model_config = ConfigDict(extra="forbid")
    kind: Kind
    pii: PiiKind | None = None
    format: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _pii_needs_kind(self) -> ColumnSchema:
        if self.kind == Kind.PII and self.pii is None:
            raise ValueError(f"kind 'pii' needs 'pii:' set to one of {[k.value for k in PiiKind]}")
        if self.pii is not None and self.kind != Kind.PII:
            self.kind = Kind.PII
        return self

    @property
    def learned(self) -> bool:
        return self.kind in LEARNED_KINDS


class Schema(BaseModel):
    """Column kinds (in table order) and constraints of one table."""

    model_config = ConfigDict(extra="forbid")
    version: int = SCHEMA_VERSION
    columns: dict[str, ColumnSchema] = {}
    constraints: list[Constraint] = []

    @model_validator(mode="after")
    def _constraints_name_known_columns(self) -> Schema:
        # columns a partial schema leaves out are inferred later (complete_schema), then checked again
        for c in self.constraints:
            kinds = {col: self.columns[col].kind for col in c.columns if col in self.columns}
            if isinstance(c, Range | Inequality | Formula):
                bad = [k for k, v in kinds.items() if v not in (Kind.INTEGER, Kind.FLOAT, Kind.DATETIME)]
                if bad:
                    raise ValueError(
                        f"constraint '{constraint_label(c)}' needs numeric or datetime columns; "
                        f"'{bad[0]}' is {kinds[bad[0]].value}"
                    )
            if isinstance(c, Fixed):
                bad = [k for k, v in kinds.items() if v not in (Kind.CATEGORICAL, Kind.BOOLEAN, Kind.INTEGER)]
                if bad:
                    raise ValueError(
                        f"constraint '{constraint_label(c)}' needs categorical columns; "
                        f"'{bad[0]}' is {kinds[bad[0]].value}"
                    )
        targets = [c.target for c in self.constraints if isinstance(c, Formula)]
        for c in self.constraints:
            if isinstance(c, Formula) and c.target in c.inputs:
                raise ValueError(f"formula '{c.formula}' uses its own target '{c.target}'")
            if not isinstance(c, Formula | Range) and set(c.columns) & set(targets):
                raise ValueError(f"constraint '{constraint_label(c)}' uses a formula's target column")
        highs = [c.parts()[0] for c in self.constraints if isinstance(c, Inequality)]
        if len(highs) != len(set(highs)):
            raise ValueError("a column may be the larger side of only one inequality")
        return self

    def check_constraint_columns(self) -> None:
        """Raise if a constraint names a column the schema does not have."""
        for c in self.constraints:
            for col in c.columns:
                if col not in self.columns:
                    raise SchemaError(
                        f"constraint '{constraint_label(c)}' names unknown column '{col}' "
                        f"(columns: {', '.join(self.columns)})"
                    )

    def learned_columns(self) -> list[str]:
        """Columns whose distribution is learned (not PII, ids, free text)."""
        return [name for name, col in self.columns.items() if col.learned]

    def with_overrides(self, overrides: dict[str, dict[str, Any] | str]) -> Schema:
        """Return a copy where the given columns take the given kind (``'float'`` or a full mapping)."""
        cols = dict(self.columns)
        for name, spec in overrides.items():
            if name not in cols:
                raise SchemaError(f"override names unknown column '{name}' (columns: {', '.join(cols)})")
            data = {"kind": spec} if isinstance(spec, str) else dict(spec)
            try:
                cols[name] = ColumnSchema(**data)
            except ValidationError as exc:
                raise SchemaError(f"column '{name}': {_first_error(exc)}") from None
        try:
            return Schema(version=self.version, columns=cols, constraints=self.constraints)
        except ValidationError as exc:
            raise SchemaError(f"override: {_first_error(exc)}") from None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for YAML/JSON (``note`` is kept as a comment-like field)."""
        out: dict[str, Any] = {"version": self.version, "columns": {}}
        for name, col in self.columns.items():
            out["columns"][name] = col.model_dump(exclude_none=True, mode="json")
        if self.constraints:
            out["constraints"] = [c.model_dump(exclude_none=True, mode="json") for c in self.constraints]
        return out

    @classmethod
    def from_dict(cls, data: Any, source: str = "schema") -> Schema:
        """Validate plain data into a schema; errors name the field at fault."""
        if not isinstance(data, dict) or not ({"columns", "constraints"} & set(data)):
            raise SchemaError(f"{source}: expected a mapping with a 'columns:' and/or 'constraints:' section")
        if data.get("columns") is None:
            data = {**data, "columns": {}}
        version = data.get("version", SCHEMA_VERSION)
        if isinstance(version, int) and version > SCHEMA_VERSION:
            raise SchemaError(
                f"{source}: schema version {version} is newer than this simulacra understands "
                f"({SCHEMA_VERSION}); upgrade simulacra"
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise SchemaError(f"{source}: {_first_error(exc)}") from None

    def save(self, path: str | os.PathLike) -> Path:
        """Write the schema as YAML (atomically; the folder must exist)."""
        from ..io import atomic_path

        p = Path(path)
        if not p.parent.is_dir():
            raise SchemaError(f"{p}: folder {p.parent} does not exist")
        with atomic_path(p) as tmp:
            tmp.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True))
        return p

    def describe(self) -> list[tuple[str, str, str]]:
        """Rows of (column, kind, detail) for printing."""
        rows = []
        for name, col in self.columns.items():
            kind = col.pii.value if col.pii else col.kind.value
            detail = ", ".join(x for x in (col.format and f"format {col.format}", col.note) if x)
            rows.append((name, kind if not col.pii else f"pii:{kind}", detail))
        return rows


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(x) for x in err["loc"] if not str(x).startswith("function-"))
    msg = err["msg"].removeprefix("Value error, ")
    return f"{loc}: {msg}" if loc else msg


def load_schema(path: str | os.PathLike) -> Schema:
    """Read a schema YAML file; a malformed file raises :class:`SchemaError` naming line or field."""
    p = Path(path)
    if not p.exists():
        raise SchemaError(f"{p}: no such schema file")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        raise SchemaError(yaml_problem(str(p), exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemaError(f"{p}: cannot be read ({exc.__class__.__name__})") from None
    return Schema.from_dict(data, source=str(p))
