"""Schema inference, YAML files, overrides and constraint validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulacra.datasets import load_adult
from simulacra.errors import SchemaError
from simulacra.schema import Kind, PiiKind, Schema, infer_schema, load_schema
from simulacra.schema.infer import coerce_column


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return load_adult("train").head(3000)


def test_adult_kinds(adult) -> None:
    schema = infer_schema(adult)
    kinds = {n: c.kind for n, c in schema.columns.items()}
    assert kinds["age"] == Kind.INTEGER
    assert kinds["fnlwgt"] == Kind.INTEGER
    assert kinds["workclass"] == Kind.CATEGORICAL
    assert kinds["income"] == Kind.CATEGORICAL
    assert all(c.pii is None for c in schema.columns.values())


def test_kinds_of_typical_columns() -> None:
    n = 200
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "order_id": np.arange(1, n + 1),
            "ref": [f"ORD-{i:05d}" for i in range(n)],
            "price": rng.gamma(2, 10, n).round(2),
            "active": rng.choice(["yes", "no"], n),
            "flag": rng.choice([True, False], n),
            "signup": pd.date_range("2023-01-01", periods=n, freq="D").strftime("%d/%m/%Y"),
            "seen": pd.date_range("2023-01-01", periods=n, freq="h"),
            "email": [f"user{i}@mail-host.org" for i in range(n)],
            "ip": [f"10.0.{i // 250}.{i % 250}" for i in range(n)],
            "review": [f"the item number {i} arrived late but works well enough" for i in range(n)],
            "tier": rng.choice(["gold", "silver"], n),
        }
    )
    schema = infer_schema(df)
    got = {n: (c.pii or c.kind) for n, c in schema.columns.items()}
    assert got == {
        "order_id": Kind.ID,
        "ref": Kind.ID,
        "price": Kind.FLOAT,
        "active": Kind.BOOLEAN,
        "flag": Kind.BOOLEAN,
        "signup": Kind.DATETIME,
        "seen": Kind.DATETIME,
        "email": PiiKind.EMAIL,
        "ip": PiiKind.IP_ADDRESS,
        "review": Kind.TEXT,
        "tier": Kind.CATEGORICAL,
    }
    assert schema.columns["signup"].format == "%d/%m/%Y"
    # every inferred kind can be explained
    assert all(len(row) == 3 for row in schema.describe())


def test_yaml_round_trip_and_overrides(tmp_path, adult) -> None:
    schema = infer_schema(adult, overrides={"age": "float", "fnlwgt": {"kind": "categorical"}})
    assert schema.columns["age"].kind == Kind.FLOAT
    schema.save(tmp_path / "s.yaml")
    again = load_schema(tmp_path / "s.yaml")
    assert again.to_dict() == schema.to_dict()
    with pytest.raises(SchemaError, match="unknown column 'nope'"):
        schema.with_overrides({"nope": "float"})
    with pytest.raises(SchemaError, match="age"):
        schema.with_overrides({"age": "decimal"})


def test_malformed_yaml_names_the_line(tmp_path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("columns:\n  age:\n    kind: integer\n   income: {kind: categorical\n")
    with pytest.raises(SchemaError, match="line"):
        load_schema(p)


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        ({"columns": {"a": {"kind": "integr"}}}, "columns.a.kind"),
        ({"columns": {"a": {"kind": "pii"}}}, "needs 'pii:'"),
        (
            {
                "columns": {"a": {"kind": "integer"}, "b": {"kind": "integer"}},
                "constraints": [{"inequality": "a >> b"}],
            },
            "not of the form",
        ),
        (
            {
                "columns": {"a": {"kind": "categorical"}, "b": {"kind": "integer"}},
                "constraints": [{"inequality": "a > b"}],
            },
            "needs numeric",
        ),
        (
            {
                "columns": {"a": {"kind": "float"}, "b": {"kind": "float"}},
                "constraints": [{"formula": "a = __import__('os')"}],
            },
            "formula",
        ),
        ({"columns": {"a": {"kind": "float"}}, "constraints": [{"formula": "a = a * 2"}]}, "own target"),
        ({"version": 7, "columns": {"a": {"kind": "float"}}}, "newer"),
        (["not", "a", "mapping"], "columns"),
    ],
)
def test_invalid_schema_documents(doc, fragment) -> None:
    with pytest.raises(SchemaError, match=fragment):
        Schema.from_dict(doc)


def test_coercion_names_the_bad_value() -> None:
    schema = Schema.from_dict(
        {"columns": {"d": {"kind": "datetime", "format": "%Y-%m-%d"}, "x": {"kind": "integer"}}}
    )
    with pytest.raises(SchemaError, match=r"column 'd': value '2024-13-45' \(row 2\)"):
        coerce_column("d", pd.Series(["2024-01-05", "2024-13-45"]), schema.columns["d"])
    with pytest.raises(SchemaError, match=r"column 'x': value 'twelve'"):
        coerce_column("x", pd.Series(["12", "twelve"]), schema.columns["x"])


def test_partial_schema_is_completed_and_its_constraints_checked(adult) -> None:
    from simulacra.schema import complete_schema

    partial = Schema.from_dict({"constraints": [{"inequality": "age < hours-per-week"}]})
    full = complete_schema(adult, partial)
    assert full.columns["age"].kind == Kind.INTEGER and len(full.constraints) == 1
    bad = Schema.from_dict(
        {"columns": {"age": {"kind": "integer"}}, "constraints": [{"inequality": "age > nope"}]}
    )
    with pytest.raises(SchemaError, match="unknown column 'nope'"):
        complete_schema(adult, bad)
    wrong_kind = Schema.from_dict({"constraints": [{"inequality": "age > workclass"}]})
    with pytest.raises(SchemaError, match="needs numeric"):
        complete_schema(adult, wrong_kind)
