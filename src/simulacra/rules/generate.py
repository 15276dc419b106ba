"""Generating rule-based tables chunk by chunk, deterministically.

Chunk ``k`` of root table ``t`` holds rows ``[k * chunk_rows, (k + 1) * chunk_rows)``. Each column's
values in it come from ``derive_rng(seed, "rules", t, column, k)`` and the row indices alone. A child
table (``per_parent``) has one chunk per parent chunk: chunk ``k`` holds the children of parent chunk
``k``, with counts from ``derive_rng(seed, "rules", child, "count", k)``. The output therefore depends
only on the spec, the seed and ``chunk_rows``, never on how chunks are grouped into files or workers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import special

from ..schema.fakes import fake_column, fake_people
from ..schema.kinds import PiiKind
from ..seeding import derive_rng
from . import expr as ex
from .errors import SpecError
from .shapes import (
    ChoiceCol,
    DatetimeCol,
    ExpressionCol,
    ForeignKeyCol,
    NumberSpec,
    PersonCol,
    SequenceCol,
    TimelineCol,
    UniqueIdCol,
)
from .spec import Spec, Table

RULES_CHUNK_ROWS = 1_000_000
"""Rows per chunk of a root table. Fixed: changing it changes the values a seed produces."""

NULLS = "\x00nulls"
"""Key of a chunk's null masks (``{column: bool array}``), applied only when writing."""

_NS = 1_000_000_000
_PERSON = {
    "first_name": PiiKind.FIRST_NAME,
    "last_name": PiiKind.LAST_NAME,
    "full_name": PiiKind.PERSON_NAME,
    "email": PiiKind.EMAIL,
    "phone": PiiKind.PHONE,
    "street_address": PiiKind.STREET_ADDRESS,
}


@dataclass
class Plan:
    """Row counts of every table, per chunk (enough to place any chunk without generating others)."""

    seed: int
    chunk_rows: int
    sizes: dict[str, np.ndarray]
    offsets: dict[str, np.ndarray]

    def rows(self, table: str) -> int:
        """Total rows of ``table``."""
        return int(self.sizes[table].sum())


def table_rows(spec: Spec, n: int | None) -> dict[str, int]:
    """Rows of each root table: ``n`` scales the first root, the others keep its proportion."""
    roots = [spec.tables[r] for r in spec.roots]
    first = roots[0]
    out: dict[str, int] = {}
    if n is None:
        if first.rows is None:
            raise spec.error(f"tables.{first.name}", "missing required parameter 'rows' (or give -n)")
        factor = 1.0
        n = first.rows
    else:
        factor = n / first.rows if first.rows else 1.0
    out[first.name] = int(n)
    for t in roots[1:]:
        if t.rows is None:
            raise spec.error(f"tables.{t.name}", "missing required parameter 'rows' (or per_parent)")
        out[t.name] = int(round(t.rows * factor))
    return out


def _counts(spec: Spec, seed: int, table: Table, k: int, parent_n: int) -> np.ndarray:
    rng = derive_rng(seed, "rules", table.name, "count", k)
    raw = sample_number(table.count, parent_n, rng)  # type: ignore[arg-type]
    return np.maximum(np.round(np.asarray(raw, dtype=float)), 0).astype(np.int64)


def plan(
    spec: Spec, n: int | None = None, seed: int | None = None, chunk_rows: int = RULES_CHUNK_ROWS
) -> Plan:
    """Work out every table's chunk sizes (drawing child counts); check ``unique_id`` widths."""
    seed = int(seed if seed is not None else (spec.seed if spec.seed is not None else 0))
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be positive")
    roots = table_rows(spec, n)
    sizes: dict[str, np.ndarray] = {}
    for t in spec.tables.values():
        if t.parent is None:
            full, rest = divmod(roots[t.name], chunk_rows)
            sizes[t.name] = np.array([chunk_rows] * full + ([rest] if rest else []), dtype=np.int64)
        else:
            parent = sizes[t.parent]
            sizes[t.name] = np.array(
                [int(_counts(spec, seed, t, k, int(m)).sum()) for k, m in enumerate(parent)], dtype=np.int64
            )
        total = int(sizes[t.name].sum())
        for col in t.columns.values():
            if isinstance(col.spec, UniqueIdCol) and total > 10**col.spec.width:
                raise spec.error(
                    f"{col.path}.width",
                    f"width {col.spec.width} allows {10**col.spec.width:,} "
                    f"ids but the table has {total:,} rows",
                )
    offsets = {k: np.concatenate([[0], np.cumsum(v)[:-1]]).astype(np.int64) for k, v in sizes.items()}
    return Plan(seed, chunk_rows, sizes, offsets)


# --------------------------------------------------------------------------------------------------
# Values


def sample_number(m: NumberSpec, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n`` values of a checked :class:`NumberSpec` (truncated, clipped, rounded)."""
    d = m.distribution
    lo, hi = m.min, m.max
    clip = True
    if d in ("normal", "lognormal"):
        mu, sd = (m.mean, m.sd) if d == "normal" else (m.mean, m.sigma)
        if lo is None and hi is None:
            x = mu + sd * rng.standard_normal(n)
        else:  # exact truncation by inverse CDF

            def z(bound: float | None, default: float) -> float:
                if bound is None:
                    return default
                if d == "lognormal":
                    return float(special.ndtr((np.log(bound) - mu) / sd)) if bound > 0 else 0.0
                return float(special.ndtr((bound - mu) / sd))

            a, b = z(lo, 0.0), z(hi, 1.0)
            u = a + (b - a) * rng.random(n)
            x = mu + sd * special.ndtri(np.clip(u, 1e-300, 1 - 1e-16))
        if d == "lognormal":
            x = np.exp(x)
    elif d == "gamma":
        x = rng.gamma(m.shape, m.scale, n)
    elif d == "exponential":
        x = rng.exponential(m.scale, n)
    elif d == "beta":
        x = rng.beta(m.a, m.b, n)
        x = (lo if lo is not None else 0.0) + ((hi if hi is not None else 1.0) - (lo or 0.0)) * x
        clip = False
    elif d == "uniform":
        x = rng.uniform(lo, hi, n)
        clip = False
    elif d == "poisson":
        x = rng.poisson(m.lam, n)
    elif d == "zipf":
        x = rng.zipf(m.a, n)
    else:  # empirical
        values = np.array(m.values)
        w = np.full(len(values), 1.0 / len(values)) if m.weights is None else np.array(m.weights, float)
        cdf = np.cumsum(w)
        idx = np.minimum(np.searchsorted(cdf / cdf[-1], rng.random(n), side="right"), len(values) - 1)
        x = values[idx]
        if x.dtype.kind not in "iuf":
            return x
    if clip and (lo is not None or hi is not None):
        x = np.clip(x, lo, hi)
    if m.round is not None:
        x = np.round(x, m.round)
        if m.round == 0:
            x = x.astype(np.int64)
    return x


def _mix(x: np.ndarray, key: int) -> np.ndarray:
    """A 64-bit mixing function (splitmix64 finaliser), vectorised with wrapping uint64 arithmetic."""
    z = x + np.uint64(key)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def permute(index: np.ndarray, domain: int, keys: np.ndarray) -> np.ndarray:
    """A keyed bijection of ``[0, domain)``: a balanced Feistel network with cycle walking."""
    bits = max(2, int(domain - 1).bit_length())
    half = (bits + 1) // 2
    mask = np.uint64((1 << half) - 1)
    shift = np.uint64(half)

    def feistel(x: np.ndarray) -> np.ndarray:
        left, right = x >> shift, x & mask
        for key in keys:
            left, right = right, left ^ (_mix(right, int(key)) & mask)
        return (left << shift) | right

    out = feistel(index.astype(np.uint64))
    bad = np.flatnonzero(out >= np.uint64(domain))
    while len(bad):
        out[bad] = feistel(out[bad])
        bad = bad[out[bad] >= np.uint64(domain)]
    return out.astype(np.int64)


def _digits(values: np.ndarray, width: int, prefix: str) -> np.ndarray:
    """Zero-padded decimal strings with a prefix, as a fixed-width bytes array (``S`` dtype, fast)."""
    n = len(values)
    pre = np.frombuffer(prefix.encode("utf-8"), dtype=np.uint8)
    buf = np.empty((n, len(pre) + width), dtype=np.uint8)
    buf[:, : len(pre)] = pre
    v = values.copy()
    for j in range(width - 1, -1, -1):
        buf[:, len(pre) + j] = 48 + (v % 10)
        v //= 10
    return buf.view(f"S{len(pre) + width}").ravel()


def _datetimes(m: DatetimeCol, n: int, rng: np.random.Generator) -> np.ndarray:
    start = pd.Timestamp(m.start).value // _NS
    end = pd.Timestamp(m.end).value // _NS
    if ":" not in str(m.end) and end % 86_400 == 0:
        end += 86_399  # a date alone as the end includes that whole day
    if end == start:
        secs = np.full(n, start, dtype=np.int64)
    elif m.seasonality is None or all(
        getattr(m.seasonality, f) is None for f in ("weekday", "hour", "month")
    ):
        secs = rng.integers(start, end + 1, n, dtype=np.int64)
    else:
        s = m.seasonality
        days = np.arange(start // 86400, end // 86400 + 1, dtype=np.int64)
        w = np.ones(len(days))
        if s.weekday is not None:
            w *= np.array(s.weekday, float)[(days + 3) % 7]  # 1970-01-01 was a Thursday; Monday = 0
        if s.month is not None:
            w *= np.array(s.month, float)[
                days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12
            ]
        if w.sum() <= 0:
            w = np.ones(len(days))
        cdf = np.cumsum(w)
        day = days[np.minimum(np.searchsorted(cdf / cdf[-1], rng.random(n), side="right"), len(days) - 1)]
        if s.hour is not None:
            hcdf = np.cumsum(np.array(s.hour, float))
            hour = np.minimum(np.searchsorted(hcdf / hcdf[-1], rng.random(n), side="right"), 23)
        else:
            hour = rng.integers(0, 24, n)
        secs = np.clip(day * 86400 + hour * 3600 + rng.integers(0, 3600, n), start, end)
    return (secs * _NS).astype("datetime64[ns]")


def _ref_values(spec: Spec, plan: Plan, ref: tuple[str, str], idx: np.ndarray) -> np.ndarray:
    """Values of a sequence / unique_id column of any table at global row indices ``idx``."""
    table, column = ref
    col = spec.tables[table].columns[column]
    return _index_column(plan, table, column, col.spec, idx)


def _index_column(plan: Plan, table: str, column: str, m: Any, idx: np.ndarray) -> np.ndarray:
    if isinstance(m, SequenceCol):
        return m.start + m.step * idx.astype(np.int64)
    keys = derive_rng(plan.seed, "rules", table, column, "key").integers(0, 2**63, 6)
    return _digits(permute(idx, 10**m.width, keys), m.width, m.prefix)


def generate_chunk(
    spec: Spec, plan: Plan, table: str, k: int, parent: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Columns of chunk ``k`` of ``table`` (internal form: arrays or :class:`Cat`).

    ``parent`` holds chunk ``k`` of the parent table for child tables.
    """
    t = spec.tables[table]
    n = int(plan.sizes[table][k])
    index = plan.offsets[table][k] + np.arange(n, dtype=np.int64)
    parent_idx = None
    if t.parent is not None:
        assert parent is not None
        counts = _counts(spec, plan.seed, t, k, len(next(iter(parent.values()))))
        parent_idx = np.repeat(np.arange(len(counts)), counts)
    out: dict[str, Any] = {}
    nulls: dict[str, np.ndarray] = {}
    people = None
    for name, col in t.columns.items():
        m = col.spec
        rng = derive_rng(plan.seed, "rules", table, name, k)
        if isinstance(m, SequenceCol | UniqueIdCol):
            out[name] = _index_column(plan, table, name, m, index)
        elif isinstance(m, NumberSpec):
            out[name] = sample_number(m, n, rng)
        elif isinstance(m, ChoiceCol):
            ch = col.choice
            assert ch is not None
            u = rng.random(n)
            codes = np.searchsorted(ch.cdf, u, side="right")
            done = np.zeros(n, dtype=bool)
            for i, (tree, cdf) in enumerate(ch.when):
                hit = np.asarray(_evaluate(spec, f"{col.path}.when.{i}.if", tree, out), dtype=bool) & ~done
                codes[hit] = np.searchsorted(cdf, u[hit], side="right")
                done |= hit
            codes = np.minimum(codes, len(ch.labels) - 1)
            out[name] = (
                ex.Cat(codes.astype(np.int32), ch.labels) if ch.labels.dtype == object else (ch.labels[codes])
            )
        elif isinstance(m, DatetimeCol):
            out[name] = _datetimes(m, n, rng)
        elif isinstance(m, PersonCol):
            if people is None:
                people = fake_people(n, derive_rng(plan.seed, "rules", table, "person", k))
            out[name] = fake_column(_PERSON[m.field], n, rng, people=people)
        elif isinstance(m, ExpressionCol):
            value = _evaluate(spec, f"{col.path}.expr", col.tree, out)  # type: ignore[arg-type]
            out[name] = value if isinstance(value, ex.Cat) else np.broadcast_to(value, (n,)).copy()
        elif isinstance(m, ForeignKeyCol):
            assert col.ref is not None
            if col.ref[0] == t.parent:
                src = parent[col.ref[1]]  # type: ignore[index]
                out[name] = src.take(parent_idx) if isinstance(src, ex.Cat) else src[parent_idx]
            else:
                total = plan.rows(col.ref[0])
                if total == 0 and n:
                    raise spec.error(
                        f"{col.path}.references", f"table '{col.ref[0]}' has no rows to reference"
                    )
                pick = rng.integers(0, max(total, 1), n, dtype=np.int64)
                out[name] = _ref_values(spec, plan, col.ref, pick)
        elif isinstance(m, TimelineCol):
            out[name] = _timeline(m, parent[col.ref[1]], parent_idx, rng)  # type: ignore[index]
        if m.missing > 0:
            nulls[name] = derive_rng(plan.seed, "rules", table, name, "missing", k).random(n) < m.missing
    hook = getattr(spec.hooks, "postprocess", None)
    if hook is not None:
        out = hook(table, out, k, plan.seed, parent, params=spec.params)
    if nulls:  # merged: a hook may have set null masks of its own
        out.setdefault(NULLS, {}).update(nulls)
    return out


def _evaluate(spec: Spec, path: str, tree: Any, env: dict[str, Any]) -> Any:
    try:
        return ex.evaluate(tree, env)
    except (TypeError, ValueError, ArithmeticError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise spec.error(path, f"cannot be evaluated ({first})") from None


def probe(spec: Spec, seed: int, rows: int = 16) -> None:
    """Generate a few rows of every table so that expression errors show before anything is written."""
    sizes: dict[str, np.ndarray] = {}
    for t in spec.tables.values():
        if t.parent is None:
            sizes[t.name] = np.array([rows], dtype=np.int64)
        else:
            sizes[t.name] = np.array([int(_counts(spec, seed, t, 0, int(sizes[t.parent][0])).sum())])
    p = Plan(seed, rows, sizes, {k: np.zeros(1, dtype=np.int64) for k in sizes})
    for root in spec.roots:
        for table, _k, data in iter_chunks(spec, p, root):
            to_arrow(spec, table, data)


def _timeline(
    m: TimelineCol, start: np.ndarray, parent_idx: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    n = len(parent_idx)
    gaps = np.maximum(np.asarray(sample_number(m.gap, n, rng), dtype=float), 0.0)
    csum = np.cumsum(gaps)
    first = np.r_[True, parent_idx[1:] != parent_idx[:-1]] if n else np.zeros(0, dtype=bool)
    group = np.cumsum(first) - 1
    within = csum - (csum - gaps)[np.flatnonzero(first)][group]  # cumulative gap within each parent
    origin = start.astype("datetime64[ns]").astype(np.int64)[parent_idx]
    return (origin + np.round(within * 1e6).astype(np.int64) * 1000).astype("datetime64[ns]")


# --------------------------------------------------------------------------------------------------
# Output form


def to_arrow(spec: Spec, table: str, data: dict[str, Any]) -> pa.Table:
    """The output form of a chunk: categories as dictionaries, formats applied."""
    arrays = []
    masks = data.get(NULLS, {})
    for name, col in spec.tables[table].columns.items():
        value = data[name]
        mask = masks.get(name)
        if isinstance(value, ex.Cat):
            arr: pa.Array = pa.DictionaryArray.from_arrays(
                pa.array(value.codes, type=pa.int32(), mask=mask), pa.array(value.labels, type=pa.string())
            )
        else:
            fmt = getattr(col.spec, "format", None)
            if fmt and value.dtype.kind == "M":
                value = pd.Series(value).dt.strftime(fmt).to_numpy(dtype=object)
            if value.dtype.kind == "S":  # fixed-width ASCII ids: hand the bytes to arrow as they are
                value = np.ascontiguousarray(value)
                offsets = np.arange(0, (len(value) + 1) * value.itemsize, value.itemsize, dtype=np.int32)
                valid = None if mask is None else pa.py_buffer(np.packbits(~mask, bitorder="little"))
                arr = pa.StringArray.from_buffers(
                    len(value), pa.py_buffer(offsets), pa.py_buffer(value), valid, -1 if valid else 0
                )
            elif value.dtype == object and len(value) == 0:
                arr = pa.array([], type=pa.string())
            else:
                arr = pa.array(value, mask=mask)
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, names=list(spec.tables[table].columns))


def regenerate_chunk(spec: Spec, plan: Plan, table: str, k: int) -> dict[str, Any]:
    """Chunk ``k`` of any table on its own, remaking chunk ``k`` of its ancestors (nothing is stored)."""
    chain = [table]
    while spec.tables[chain[0]].parent is not None:
        chain.insert(0, spec.tables[chain[0]].parent)  # type: ignore[arg-type]
    data = None
    for name in chain:
        data = generate_chunk(spec, plan, name, k, data)
    return data  # type: ignore[return-value]


def iter_chunks(
    spec: Spec, plan: Plan, root: str, chunks: range | None = None
) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """Yield ``(table, k, data)`` for ``root`` and its descendants, chunk index by chunk index.

    Chunk ``k`` of a child is made right after chunk ``k`` of its parent, so only one chunk per table
    is held at a time and no parent value is kept or re-read.
    """

    def family(table: str, k: int, parent: dict[str, Any] | None) -> Iterator[tuple[str, int, dict]]:
        data = generate_chunk(spec, plan, table, k, parent)
        yield table, k, data
        for child in spec.tables[table].children:
            yield from family(child, k, data)

    for k in chunks if chunks is not None else range(len(plan.sizes[root])):
        yield from family(root, k, None)


def generate(
    spec: Spec | str | dict,
    n: int | None = None,
    seed: int | None = None,
    chunk_rows: int = RULES_CHUNK_ROWS,
    overrides: dict[str, str] | None = None,
    on_rows: Callable[[int], None] | None = None,
) -> dict[str, pd.DataFrame]:
    """Generate every table of ``spec`` in memory; return ``{table: DataFrame}``."""
    from .spec import load_spec

    if not isinstance(spec, Spec):
        spec = load_spec(spec, overrides)
    p = plan(spec, n, seed, chunk_rows)
    parts: dict[str, list[pa.Table]] = {t: [] for t in spec.tables}
    for root in spec.roots:
        for table, _k, data in iter_chunks(spec, p, root):
            parts[table].append(to_arrow(spec, table, data))
            if on_rows is not None:
                on_rows(int(p.sizes[table][_k]))
    out = {}
    for table, tabs in parts.items():
        if not tabs:
            out[table] = pd.DataFrame({c: pd.Series([], dtype=object) for c in spec.tables[table].columns})
            continue
        out[table] = pa.concat_tables(tabs, promote_options="permissive").to_pandas()
    return out


__all__ = [
    "RULES_CHUNK_ROWS",
    "Plan",
    "SpecError",
    "generate",
    "generate_chunk",
    "iter_chunks",
    "plan",
    "probe",
    "regenerate_chunk",
    "sample_number",
    "to_arrow",
]
