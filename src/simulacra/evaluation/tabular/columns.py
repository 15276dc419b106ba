"""Column kinds and value conversions shared by the tabular checks (fidelity, utility, privacy,
detection) and the sequence checks: numbers as floats, datetimes as nanoseconds, the rest as text."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulacra.errors import DataError

__all__ = ["align", "check_frame", "column_kind", "fresh_by_design", "fresh_columns", "to_datetime_ns",
           "to_float", "to_str"]


def check_frame(train: pd.DataFrame, role: str = "training") -> None:
    """Raise DataError unless ``train`` is a DataFrame with rows and distinct, non-empty columns."""
    if not isinstance(train, pd.DataFrame):
        raise DataError(f"{role} data must be a pandas DataFrame, got {type(train).__name__}")
    if train.shape[1] == 0:
        raise DataError(f"{role} data has no columns")
    if len(train) == 0:
        raise DataError(f"{role} data has no rows")
    dupes = train.columns[train.columns.duplicated()]
    if len(dupes) > 0:
        raise DataError(f"{role} data has column {dupes[0]!r} more than once")


def align(train: pd.DataFrame, other: pd.DataFrame, role: str) -> pd.DataFrame:
    """Return ``other`` with exactly the training columns in training order, or raise DataError."""
    if not isinstance(other, pd.DataFrame):
        raise DataError(f"{role} data must be a pandas DataFrame, got {type(other).__name__}")
    if len(other) == 0:
        raise DataError(f"{role} data has no rows")
    dupes = other.columns[other.columns.duplicated()]
    if len(dupes) > 0:
        raise DataError(f"{role} data has column {dupes[0]!r} more than once")
    missing = [c for c in train.columns if c not in other.columns]
    if missing:
        raise DataError(f"{role} data lacks column {missing[0]!r} of the training data")
    extra = [c for c in other.columns if c not in train.columns]
    if extra:
        raise DataError(f"{role} data has column {extra[0]!r} that the training data lacks")
    return other[list(train.columns)]


def column_kind(s: pd.Series) -> str:
    """'numeric', 'datetime' or 'categorical' (booleans and pandas categoricals are categorical)."""
    if pd.api.types.is_bool_dtype(s) or isinstance(s.dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime"
    if pd.api.types.is_numeric_dtype(s):
        return "numeric"
    return "categorical"


def to_float(s: pd.Series) -> np.ndarray:
    """Numeric values as float64 with NaN for missing or unparsable values."""
    if isinstance(s.dtype, np.dtype) and s.dtype.kind in "fiu":  # plain numpy numbers: already parsed
        return s.to_numpy(dtype="float64", copy=True)
    num = pd.to_numeric(s, errors="coerce")
    return np.asarray(pd.Series(num).astype("Float64").to_numpy(dtype="float64", na_value=np.nan))


def to_datetime_ns(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Datetimes as int64 nanoseconds (naive UTC) and a missing-value mask."""
    dt = pd.to_datetime(s, errors="coerce")
    if getattr(dt.dt, "tz", None) is not None:
        dt = dt.dt.tz_convert(None)
    na = dt.isna().to_numpy()
    values = dt.astype("datetime64[ns]").to_numpy().view("int64").copy()
    return values, na


def to_str(s: pd.Series) -> pd.Series:
    """Values as pandas strings (missing stays missing)."""
    return s.astype("string[pyarrow]")


FRESH_SAMPLE_ROWS = 2_000  # rows schema inference looks at to find fresh-by-design columns


def fresh_columns(df: pd.DataFrame, seed: int = 0) -> dict[str, str]:
    """Columns a synthesizer makes fresh by design rather than learns (ids, free text, PII such as
    names), as simulacra's schema inference sees them: column → kind. Their values are new in any
    good synthetic table, so comparing them would only measure that they are new.

    Inference reads a seeded sample of ``FRESH_SAMPLE_ROWS`` rows; a column that looks fresh there, or
    whose values are all distinct there (an id whose sample is no longer consecutive), is inferred
    again on every row, so the answer is the one the whole column gives."""
    from ...schema.infer import infer_column
    from ...seeding import derive_rng

    sample = df
    if len(df) > FRESH_SAMPLE_ROWS:
        rng = derive_rng(seed, "evaluate", "fresh_columns")
        sample = df.iloc[np.sort(rng.choice(len(df), FRESH_SAMPLE_ROWS, replace=False))]
    out = {}
    for c in df.columns:
        kind = infer_column(str(c), sample[c]).kind.value
        if sample is not df:
            values = sample[c].dropna()
            if kind in ("id", "text", "pii") or values.nunique() == len(values):
                kind = infer_column(str(c), df[c]).kind.value
        if kind in ("id", "text", "pii"):
            out[str(c)] = kind
    return out


def fresh_by_design(df: pd.DataFrame, seed: int = 0) -> list[str]:
    """The id and free-text columns among :func:`fresh_columns`, the same answer for less work: schema
    inference runs only on columns that could be either on every row (an id's values are all distinct,
    free text's at least half; numbers are never free text), so a table of repeating values needs none."""
    maybe = [c for c in df.columns if not _repeats(df[c])]
    kinds = fresh_columns(df[maybe], seed) if maybe else {}
    return [c for c, k in kinds.items() if k in ("id", "text")]


def _repeats(s: pd.Series) -> bool:
    """Too few distinct values for an id or free text: numbers that repeat one, other values fewer than half
    of them distinct; booleans, datetimes and empty columns are neither."""
    values = s.dropna()
    if len(values) == 0 or pd.api.types.is_bool_dtype(s) or pd.api.types.is_datetime64_any_dtype(s):
        return True
    distinct = values.nunique()
    if pd.api.types.is_numeric_dtype(s):
        return distinct < len(values)
    return distinct < 0.5 * len(values)
