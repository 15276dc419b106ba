"""``SequenceSynthesizer``: learn entities with histories (long format), sample new ones.

Input is one row per event: an entity key, an optional order column (numbers or dates), static
context columns (one value per entity) and event columns (numbers, dates, categories). The model has
two parts:

1. **Entities**: one row per entity — its context, its length, its start (the first order value) and
   its first event — learned by a :class:`~simulacra.tabular.TabularSynthesizer`. This carries the
   length distribution, the context → sequence relation and the cross-channel correlation of where
   sequences start; conditions on context columns are exact as in the tabular model.
2. **Steps**: each later event is drawn channel by channel from trees over lagged features (see
   :mod:`simulacra.sequences.model`): the time gap first (when there is an order column), then every
   event column in table order.

Sampling runs in chunks of :data:`ENTITY_CHUNK` entities, each with generators derived from
``(seed, "sequences", purpose, chunk)``, so the output does not depend on how it is consumed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConditionError, DataError, ModelFormatError, SchemaError, UsageError
from ..schema.infer import coerce_column, infer_column, infer_schema
from ..schema.kinds import Kind
from ..schema.model import ColumnSchema
from ..seeding import derive_rng
from ..tabular.codecs import CategoricalCodec
from ..tabular.persistence import read_model_dir, write_model_dir
from ..tabular.regenerate import learn_shape, regenerate
from ..tabular.synthesizer import TabularSynthesizer, to_pandas
from .model import _NA, Channel, JointStepTree, StepState, StepTrees, detect_grid, make_channel, snap

ENTITY_CHUNK = 4096
"""Entities per sampling chunk. Fixed: changing it changes the bytes a seed produces."""
MIN_ENTITIES = 10
SEQUENCE_FORMAT = 1
LENGTH, START, FIRST, GAP = "__length__", "__start__", "__first__:", "__gap__"
_NUMERIC = (Kind.INTEGER, Kind.FLOAT, Kind.DATETIME)


def is_sequence_model(path: str | os.PathLike) -> bool:
    """Whether ``path`` holds a model written by :meth:`SequenceSynthesizer.save`."""
    import json

    p = Path(path) / "model.json"
    try:
        meta = json.loads(p.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("synthesizer") == "sequences"


def _seconds(values: pd.Series, kind: Kind) -> np.ndarray:
    if kind == Kind.DATETIME:
        ns = values.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(float)
        ns[values.isna().to_numpy()] = np.nan
        return ns / 1e9
    return values.to_numpy(dtype=float)


def _clean(x: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(x), _NA, x)


class SequenceSynthesizer:
    """Learn sequences of events per entity and sample new entities with their histories.

    Parameters
    ----------
    seed: the default seed for fitting and sampling.
    min_samples_leaf: training steps per leaf of the step trees (default: 0.3% of the steps, 5–200).
    max_fit_steps: the step trees learn from at most this many steps (a seeded sample beyond it).
    """

    def __init__(
        self,
        seed: int = 0,
        min_samples_leaf: int | None = None,
        max_fit_steps: int = 400_000,
        entity_model: str = "trees",
        step_model: str = "joint",
    ) -> None:
        if step_model not in ("joint", "channels"):
            raise UsageError(f"step_model must be 'joint' or 'channels', got {step_model!r}")
        self.seed = seed
        self.step_model = step_model
        self.entity_model = entity_model
        self.min_samples_leaf = min_samples_leaf
        self.max_fit_steps = max_fit_steps

    # ------------------------------------------------------------------------------ fitting
    def fit(
        self,
        data: Any,
        sequence_key: str,
        order_by: str | None = None,
        context: list[str] | None = None,
        kinds: dict[str, str] | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> SequenceSynthesizer:
        """Learn from a long table: one row per event, ``sequence_key`` naming the entity.

        ``order_by`` (numbers or dates) orders each entity's events (else the rows' order is kept);
        ``context`` names columns that hold one value per entity; ``kinds`` overrides column kinds.
        """
        step = progress or (lambda _m: None)
        df = to_pandas(data).copy()
        df.columns = [str(c) for c in df.columns]
        context = [str(c) for c in (context or [])]
        kinds = dict(kinds or {})
        self._check_columns(df, sequence_key, order_by, context, kinds)
        key = df[sequence_key]
        if key.isna().any():
            row = int(np.flatnonzero(key.isna().to_numpy())[0])
            raise DataError(
                f"sequence key '{sequence_key}' is missing in {int(key.isna().sum())} rows "
                f"(first: row {row + 1}); fill or drop them"
            )
        try:  # entities in key order: the model does not depend on the order of the rows
            ent, uniques = pd.factorize(key, sort=True)
        except TypeError:  # keys of mixed types
            ent, uniques = pd.factorize(key.astype(str), sort=True)
        n_ent = len(uniques)
        if n_ent < MIN_ENTITIES:
            raise DataError(
                f"the data holds {n_ent} entit{'y' if n_ent == 1 else 'ies'} ('{sequence_key}' values); "
                f"simulacra needs at least {MIN_ENTITIES} to learn sequences"
            )
        self.sequence_key_, self.order_by_, self.context_ = sequence_key, order_by, context
        self.columns_ = list(df.columns)
        self.key_numeric_ = bool(pd.api.types.is_numeric_dtype(key))

        # order: sort each entity's events, refuse missing and repeated order values
        order_secs = None
        self.order_kind_, self.order_format_ = None, None
        if order_by is not None:
            col = self._order_schema(df, order_by, kinds)
            self.order_kind_, self.order_format_ = col.kind.value, col.format
            ovals = coerce_column(order_by, df[order_by], col)
            order_secs = _seconds(ovals, col.kind)
            bad = np.isnan(order_secs)
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise DataError(
                    f"order column '{order_by}' is missing or unreadable in {int(bad.sum())} rows "
                    f"(first: row {row + 1}); fill or drop them"
                )
            perm = np.lexsort((order_secs, ent))
            self.grid_ = detect_grid(order_secs) if col.kind == Kind.DATETIME else None
        else:
            self.grid_ = None
            perm = np.argsort(ent, kind="stable")
        ent_s = ent[perm]
        lengths = np.bincount(ent_s, minlength=n_ent)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        if order_secs is not None:
            o = order_secs[perm]
            dup = (ent_s[1:] == ent_s[:-1]) & (o[1:] == o[:-1])
            if dup.any():
                i = int(np.flatnonzero(dup)[0]) + 1
                raise DataError(
                    f"entity {uniques[ent_s[i]]!r} has {int(dup.sum()) + 1 if dup.sum() == 1 else 'several'} "
                    f"events at the same '{order_by}' value ({df[order_by].iloc[perm[i]]}); order values "
                    "must be unique within an entity (drop duplicates or order by a finer column)"
                )
        if lengths.max() < 2:
            raise DataError(
                f"every entity ('{sequence_key}' value) has one event: there is no sequence to learn; "
                "fit a tabular model instead (simulacra fit without --sequence-key)"
            )
        sdf = df.iloc[perm].reset_index(drop=True)
        firsts = offsets[:-1]

        # context: one value per entity
        for c in context:
            vals = sdf[c]
            varies = pd.Series(vals.astype(str).where(vals.notna(), "\0na")).groupby(ent_s).nunique()
            if (varies > 1).any():
                e = int(varies.index[np.flatnonzero(varies.to_numpy() > 1)[0]])
                shown = ", ".join(map(str, pd.unique(vals[ent_s == e])[:3]))
                raise DataError(
                    f"context column '{c}' takes several values ({shown}) within entity {uniques[e]!r}; "
                    "a context column holds one value per entity (move it out of --context)"
                )

        # event columns
        events = [c for c in df.columns if c not in (sequence_key, order_by, *context)]
        schema = infer_schema(sdf[events], {k: v for k, v in kinds.items() if k in events} or None)
        self.event_schema_ = {c: schema.columns[c].model_dump(mode="json") for c in events}
        learned = [c for c in events if schema.columns[c].learned]
        self.shapes_ = {c: learn_shape(sdf[c], schema.columns[c]) for c in events if c not in learned}
        self.out_dtypes_ = {c: str(df[c].dtype) for c in df.columns}
        self.out_missing_ = {c: bool(df[c].isna().any()) for c in df.columns}

        step("events")
        flat: list[np.ndarray] = []  # per channel: the value of every (sorted) row
        channels: list[Channel] = []
        integral: list[bool] = []
        if order_secs is not None:
            o = order_secs[perm]
            gaps = np.r_[np.nan, np.diff(o)]
            gaps[firsts] = np.nan
            flat.append(gaps)
            channels.append(make_channel(GAP, "value", gaps, np.empty(0), False))
            integral.append(bool(np.all(np.nan_to_num(gaps) == np.round(np.nan_to_num(gaps)))))
        cat_codecs = {}
        for c in learned:
            kind = schema.columns[c].kind
            vals = coerce_column(c, sdf[c], schema.columns[c])
            if kind in _NUMERIC:
                x = _seconds(vals, kind)
                flat.append(x)
                fin = x[~np.isnan(x)]
                integral.append(bool(kind != Kind.FLOAT and np.all(fin == np.round(fin))))
                channels.append(make_channel(c, "level", x, np.empty(0), False))
            else:
                codec = CategoricalCodec().fit(vals)
                cat_codecs[c] = codec
                flat.append(codec.encode(vals).astype(float))
                integral.append(True)
                channels.append(Channel(c, "category", codec))
        self.learned_ = learned
        if not channels:
            raise DataError(
                "besides the sequence key and the context there is nothing that changes along a sequence "
                "(no order column, no learnable event column); add --order-by or event columns"
            )

        # the entity table: context, length, start and first event
        step("entities")
        table = {c: sdf[c].iloc[firsts].reset_index(drop=True) for c in context}
        table[LENGTH] = pd.Series(lengths.astype(np.int64))
        overrides: dict[str, Any] = {LENGTH: "integer"}
        overrides.update({c: kinds[c] for c in context if c in kinds})
        if order_by is not None:
            table[START] = coerce_column(order_by, sdf[order_by], ColumnSchema(kind=Kind(self.order_kind_)))
            table[START] = table[START].iloc[firsts].reset_index(drop=True)
            overrides[START] = self.order_kind_
        for c in learned:
            col = schema.columns[c]
            table[FIRST + c] = coerce_column(c, sdf[c], col).iloc[firsts].reset_index(drop=True)
            overrides[FIRST + c] = col.kind.value
        etable = pd.DataFrame(table)
        self.entity_model_ = TabularSynthesizer(self.entity_model, seed=self.seed)
        self.entity_model_.fit(etable, overrides=overrides)
        self.max_length_ = int(lengths.max())
        self._fit_context_features(etable)

        # the step model, learned on the real sequences (teacher forcing)
        step("steps")
        feats, targets = self._teacher_forcing(channels, flat, lengths, offsets, order_secs, perm, etable)
        n_steps = feats.shape[0]
        if n_steps > self.max_fit_steps:
            keep = np.sort(
                derive_rng(self.seed, "sequences", "fit-steps").choice(n_steps, self.max_fit_steps, False)
            )
            feats, targets = feats[keep], [t[keep] for t in targets]
            n_steps = self.max_fit_steps
        codes, n_codes, ordinal = [], [], []
        for j, ch in enumerate(channels):
            if ch.mode == "category":
                y = targets[j].astype(np.int64)
            else:
                from ..tabular.codecs import NumericCodec

                ch.codec = NumericCodec(Kind.INTEGER if integral[j] else Kind.FLOAT).fit(targets[j])
                y = ch.codec.encode(targets[j]).astype(np.int64)
            codes.append(y)
            n_codes.append(ch.codec.n_codes)
            ordinal.append(ch.mode != "category")
        leaf = self.min_samples_leaf or int(np.clip(round(0.003 * n_steps), 5, 200))
        base_dim = feats.shape[1] - len(channels)
        if self.step_model == "joint":
            self.steps_ = JointStepTree(min_samples_leaf=leaf).fit(
                feats[:, :base_dim], np.column_stack(codes), n_codes, ordinal
            )
        else:
            xs = [feats[:, : base_dim + j] for j in range(len(channels))]
            self.steps_ = StepTrees(min_samples_leaf=leaf).fit(xs, codes, n_codes, ordinal)
        self.channels_ = channels
        self.n_train_entities_ = n_ent
        self.n_train_rows_ = len(df)
        return self

    def _check_columns(
        self, df: pd.DataFrame, key: str, order_by: str | None, context: list[str], kinds: dict
    ) -> None:
        if len(df.columns) != len(set(df.columns)):
            dup = next(c for c in df.columns if list(df.columns).count(c) > 1)
            raise DataError(f"column '{dup}' appears twice; give every column a distinct name")
        shown = ", ".join(df.columns)
        if key not in df.columns:
            raise DataError(f"sequence key column '{key}' is not in the data (columns: {shown})")
        if order_by is not None and order_by not in df.columns:
            raise DataError(f"order column '{order_by}' is not in the data (columns: {shown})")
        if order_by == key:
            raise UsageError(f"'{key}' cannot be both the sequence key and the order column")
        for c in context:
            if c not in df.columns:
                raise DataError(f"context column '{c}' is not in the data (columns: {shown})")
            if c in (key, order_by):
                raise UsageError(f"'{c}' cannot be a context column: it is the sequence key or order column")
        for c in kinds:
            if c not in df.columns:
                raise DataError(f"--kind names unknown column '{c}' (columns: {shown})")
        if any(c.startswith("__") for c in df.columns):
            bad = next(c for c in df.columns if c.startswith("__"))
            raise DataError(f"column '{bad}': names starting with '__' are reserved; rename the column")

    @staticmethod
    def _order_schema(df: pd.DataFrame, order_by: str, kinds: dict) -> ColumnSchema:
        if order_by in kinds:
            try:
                col = ColumnSchema(kind=Kind(kinds[order_by]))
            except ValueError:
                raise SchemaError(
                    f"--kind {order_by}={kinds[order_by]}: unknown kind; the order column needs "
                    "integer, float or datetime"
                ) from None
        else:
            col = infer_column(order_by, df[order_by])
            if col.kind == Kind.ID and pd.api.types.is_numeric_dtype(df[order_by]):
                col = ColumnSchema(kind=Kind.INTEGER)
        if col.kind not in _NUMERIC:
            seen = df[order_by].dropna()
            example = f" (e.g. {seen.iloc[0]!r})" if len(seen) else ""
            raise DataError(
                f"order column '{order_by}' must hold numbers or dates; its values look "
                f"{col.kind.value}{example}"
            )
        return col

    def _fit_context_features(self, etable: pd.DataFrame) -> None:
        """How context columns become numeric features of the step trees."""
        self.ctx_feats_ = []
        self.ctx_codecs_ = {}
        for c in self.context_:
            kind = self.entity_model_.schema_.columns[c].kind
            if not self.entity_model_.schema_.columns[c].learned:
                continue
            if kind in _NUMERIC:
                self.ctx_feats_.append((c, kind.value))
            else:
                self.ctx_codecs_[c] = CategoricalCodec().fit(etable[c])
                self.ctx_feats_.append((c, "categorical"))

    def _context_matrix(self, etable: pd.DataFrame) -> np.ndarray:
        cols = []
        for c, kind in self.ctx_feats_:
            if kind == "categorical":
                cols.append(self.ctx_codecs_[c].encode(etable[c]).astype(float))
            else:
                k = Kind(kind)
                vals = etable[c]
                if k == Kind.DATETIME:
                    vals = pd.to_datetime(vals, errors="coerce")
                else:
                    vals = pd.to_numeric(vals, errors="coerce")
                cols.append(_clean(_seconds(vals, k)))
        return np.column_stack(cols) if cols else np.zeros((len(etable), 0))

    def _first_values(self, etable: pd.DataFrame, channels: list[Channel]) -> list[np.ndarray]:
        out = []
        for ch in channels:
            if ch.name == GAP:
                out.append(np.full(len(etable), np.nan))
                continue
            vals = etable[FIRST + ch.name]
            if ch.mode == "category":
                out.append(ch.codec.encode(vals).astype(float))
            else:
                kind = Kind(self.event_schema_[ch.name]["kind"])
                if kind == Kind.DATETIME:
                    vals = pd.to_datetime(vals, errors="coerce")
                out.append(_seconds(vals, kind))
        return out

    def _start(self, etable: pd.DataFrame) -> np.ndarray | None:
        if self.order_by_ is None:
            return None
        kind = Kind(self.order_kind_)
        vals = etable[START]
        vals = pd.to_datetime(vals, errors="coerce") if kind == Kind.DATETIME else vals
        return snap(_seconds(vals, kind), self.grid_)

    def _teacher_forcing(
        self,
        channels: list[Channel],
        flat: list[np.ndarray],
        lengths: np.ndarray,
        offsets: np.ndarray,
        order_secs: np.ndarray | None,
        perm: np.ndarray,
        etable: pd.DataFrame,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Features and realised targets of every step t >= 1 of the real sequences."""
        ctx = self._context_matrix(etable)
        firsts = [f[offsets[:-1]] for f in flat]
        start = order_secs[perm][offsets[:-1]] if order_secs is not None else None
        by_len = np.argsort(-lengths, kind="stable")
        rows, tgts = [], [[] for _ in channels]
        calendar = self.order_kind_ == Kind.DATETIME.value
        for b in range(0, by_len.size, ENTITY_CHUNK):
            idx = by_len[b : b + ENTITY_CHUNK]
            L = lengths[idx].astype(float)
            state = StepState(
                channels,
                [f[idx] for f in firsts],
                None if start is None else start[idx],
                calendar,
                self.grid_,
            )
            for t in range(1, int(L[0])):
                m = int(np.searchsorted(-L, -t, side="left"))  # rows with L > t (L sorted descending)
                if m == 0:
                    break
                state.take(m)
                base = state.features(t, L[:m], ctx[idx[:m]])
                cur = []
                pos = offsets[idx[:m]] + t
                for j, ch in enumerate(channels):
                    x = flat[j][pos]
                    target = x - state.s[j] if ch.mode == "level" else x
                    _, real = state.update(j, target)
                    cur.append(real)
                    tgts[j].append(real)
                rows.append(np.hstack([base, np.column_stack(cur)]) if cur else base)
        feats = _clean(np.vstack(rows))
        return feats, [np.concatenate(t) for t in tgts]

    # ------------------------------------------------------------------------------ sampling
    def _check_fitted(self) -> None:
        if not hasattr(self, "steps_"):
            raise UsageError("the synthesizer is not fitted yet; call fit(data, sequence_key=...) first")

    def _check_conditions(self, conditions: dict[str, Any] | None) -> dict[str, Any]:
        conditions = dict(conditions or {})
        for col in conditions:
            if col not in self.context_:
                if not self.context_:
                    raise ConditionError(
                        f"cannot condition on '{col}': the model has no context columns "
                        "(fit with --context to condition on per-entity values)"
                    )
                raise ConditionError(
                    f"cannot condition on '{col}': only context columns can be conditioned on "
                    f"({', '.join(self.context_)})"
                )
        return conditions

    def iter_sample(
        self,
        n: int,
        conditions: dict[str, Any] | None = None,
        seed: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> Iterator[pd.DataFrame]:
        """Yield ``n`` synthetic entities with their events, :data:`ENTITY_CHUNK` entities at a time."""
        self._check_fitted()
        if not isinstance(n, int | np.integer) or isinstance(n, bool) or n <= 0:
            raise UsageError(f"the number of sequences must be a positive integer, got {n!r}")
        seed = self.seed if seed is None else seed
        if seed < 0:
            raise UsageError(f"the seed must be a non-negative integer, got {seed}")
        conditions = self._check_conditions(conditions)
        from ..seeding import chunk_sizes

        for k, size in enumerate(chunk_sizes(n, ENTITY_CHUNK)):
            frame = self._sample_chunk(size, k, seed, conditions)
            if progress:
                progress(size)
            yield frame

    def sample(
        self,
        n: int,
        conditions: dict[str, Any] | None = None,
        seed: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> pd.DataFrame:
        """Sample ``n`` synthetic entities (long format, one row per event).

        ``conditions`` maps context columns to a value, a list of values or a ``(low, high)`` range, as
        in :meth:`TabularSynthesizer.sample`; every entity satisfies them.
        """
        return pd.concat(list(self.iter_sample(n, conditions, seed, progress)), ignore_index=True)

    def _sample_chunk(self, n: int, k: int, seed: int, conditions: dict) -> pd.DataFrame:
        eseed = int(derive_rng(seed, "sequences", "entities", k).integers(2**62))
        etable = self.entity_model_.sample(n, conditions=conditions or None, seed=eseed)
        L = np.clip(np.round(etable[LENGTH].to_numpy(dtype=float)), 1, self.max_length_).astype(np.int64)
        order = np.argsort(-L, kind="stable")
        etable = etable.iloc[order].reset_index(drop=True)
        L = L[order]
        channels = self.channels_
        first = self._first_values(etable, channels)
        start = self._start(etable)
        ctx = self._context_matrix(etable)
        lmax = int(L[0])
        values = [np.full((n, lmax), np.nan) for _ in channels]
        for j, f in enumerate(first):
            values[j][:, 0] = f
        rng = derive_rng(seed, "sequences", "steps", k)
        calendar = self.order_kind_ == Kind.DATETIME.value
        state = StepState(channels, first, start, calendar, self.grid_)
        Lf = L.astype(float)
        for t in range(1, lmax):
            m = int(np.searchsorted(-Lf, -t, side="left"))
            state.take(m)
            base = _clean(state.features(t, Lf[:m], ctx[:m]))
            x = base
            joint = self.steps_.sample(base, rng) if self.step_model == "joint" else None
            for j, ch in enumerate(channels):
                code = joint[:, j] if joint is not None else self.steps_.sample(j, x, rng)
                target = code.astype(float) if ch.mode == "category" else ch.codec.decode(code, rng)
                val, real = state.update(j, target)
                values[j][:m, t] = val
                if joint is None:
                    x = np.hstack([x, _clean(real)[:, None]])
        return self._assemble(etable, L, values, start, k, seed, rng)

    def _assemble(
        self,
        etable: pd.DataFrame,
        L: np.ndarray,
        values: list[np.ndarray],
        start: np.ndarray | None,
        k: int,
        seed: int,
        rng: np.random.Generator,
    ) -> pd.DataFrame:
        n = len(L)
        lmax = values[0].shape[1] if values else int(L.max())
        mask = np.arange(lmax)[None, :] < L[:, None]
        ent = np.repeat(np.arange(n), L)
        gid = k * ENTITY_CHUNK + ent
        cols: dict[str, Any] = {}
        cols[self.sequence_key_] = (
            gid if self.key_numeric_ else np.array([f"s{i}" for i in gid], dtype=object)
        )
        by_name = {ch.name: j for j, ch in enumerate(self.channels_)}
        if self.order_by_ is not None:
            gaps = np.nan_to_num(values[by_name[GAP]])
            gaps[:, 0] = 0.0
            order = start[:, None] + np.cumsum(gaps, axis=1)
            cols[self.order_by_] = self._restore_numeric(
                order[mask], Kind(self.order_kind_), self.order_format_, False, self.order_by_
            )
        for c in self.context_:
            cols[c] = np.repeat(etable[c].to_numpy(), L)
        for c in self.learned_:
            j = by_name[c]
            ch = self.channels_[j]
            col = self.event_schema_[c]
            if ch.mode == "category":
                vals = ch.codec.decode(values[j][mask].astype(np.int64), rng)
                s = pd.Series(vals, dtype=object)
                if self.out_dtypes_[c] == "bool" and not s.isna().any():
                    s = s.astype(bool)
                cols[c] = s
            else:
                cols[c] = self._restore_numeric(
                    values[j][mask], Kind(col["kind"]), col.get("format"), self.out_missing_[c], c
                )
        if self.shapes_:
            regen = regenerate(
                self.shapes_,
                int(mask.sum()),
                k * ENTITY_CHUNK * self.max_length_,
                derive_rng(seed, "sequences", "regenerate", k),
            )
            cols.update(regen)
        return pd.DataFrame({c: pd.Series(cols[c]).reset_index(drop=True) for c in self.columns_})

    def _restore_numeric(
        self, x: np.ndarray, kind: Kind, fmt: str | None, missing: bool, name: str
    ) -> pd.Series:
        if kind == Kind.DATETIME:
            ts = pd.Series(pd.to_datetime(np.round(x * 1e9).astype("float64"), unit="ns")).dt.floor("s")
            if fmt:
                return ts.dt.strftime(fmt).where(ts.notna(), None).astype(object)
            return ts
        if kind == Kind.INTEGER:
            if missing or np.isnan(x).any():
                return pd.Series(pd.array(np.where(np.isnan(x), np.nan, np.round(x)), dtype="Int64"))
            return pd.Series(np.round(x).astype(np.int64))
        return pd.Series(x.astype(float))

    # ------------------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted model to a directory (``model.json`` + ``arrays.npz``; no pickle)."""
        self._check_fitted()
        arrays: dict[str, np.ndarray] = {}
        with tempfile.TemporaryDirectory(prefix="simulacra-entities-") as tmp:
            self.entity_model_.save(Path(tmp) / "m")
            emeta, earrays = read_model_dir(Path(tmp) / "m")
        arrays.update({f"entities.{k}": v for k, v in earrays.items()})
        chans = []
        for j, ch in enumerate(self.channels_):
            m, a = ch.to_meta(f"chan{j}")
            chans.append(m)
            arrays.update(a)
        ctx_codecs = {}
        for c, codec in self.ctx_codecs_.items():
            m, a = codec.to_state(f"ctx.{c}")
            ctx_codecs[c] = m
            arrays.update(a)
        smeta, sarrays = self.steps_.to_state()
        arrays.update(sarrays)
        from .. import __version__

        meta = {
            "simulacra_version": __version__,
            "synthesizer": "sequences",
            "sequence_format": SEQUENCE_FORMAT,
            "seed": self.seed,
            "params": {
                "min_samples_leaf": self.min_samples_leaf,
                "max_fit_steps": self.max_fit_steps,
                "entity_model": self.entity_model,
                "step_model": self.step_model,
            },
            "sequence_key": self.sequence_key_,
            "order_by": self.order_by_,
            "order_kind": self.order_kind_,
            "order_format": self.order_format_,
            "grid": self.grid_,
            "context": self.context_,
            "columns": self.columns_,
            "key_numeric": self.key_numeric_,
            "event_schema": self.event_schema_,
            "learned": self.learned_,
            "regenerated": self.shapes_,
            "out_dtypes": self.out_dtypes_,
            "out_missing": self.out_missing_,
            "max_length": self.max_length_,
            "n_train_entities": self.n_train_entities_,
            "n_train_rows": self.n_train_rows_,
            "ctx_feats": self.ctx_feats_,
            "ctx_codecs": ctx_codecs,
            "channels": chans,
            "steps": smeta,
            "entities": emeta,
        }
        return write_model_dir(path, meta, arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> SequenceSynthesizer:
        """Load a model directory written by :meth:`save`."""
        meta, arrays = read_model_dir(path)
        if meta.get("synthesizer") != "sequences":
            raise ModelFormatError(f"{path}: holds a tabular model, not a sequence model")
        if int(meta.get("sequence_format", 0)) > SEQUENCE_FORMAT:
            raise ModelFormatError(
                f"{path}: sequence model format {meta['sequence_format']} is newer than this simulacra "
                f"reads ({SEQUENCE_FORMAT}); upgrade simulacra (pip install -U simulacra)"
            )
        try:
            self = cls(seed=meta["seed"], **meta["params"])
            for name in (
                "sequence_key",
                "order_by",
                "order_kind",
                "order_format",
                "grid",
                "context",
                "columns",
                "key_numeric",
                "event_schema",
                "learned",
                "out_dtypes",
                "out_missing",
                "max_length",
                "n_train_entities",
                "n_train_rows",
            ):
                setattr(self, name + "_", meta[name])
            self.shapes_ = meta["regenerated"]
            self.ctx_feats_ = [tuple(x) for x in meta["ctx_feats"]]
            self.ctx_codecs_ = {
                c: CategoricalCodec.from_state(m, arrays, f"ctx.{c}") for c, m in meta["ctx_codecs"].items()
            }
            self.channels_ = [
                Channel.from_meta(m, arrays, f"chan{j}") for j, m in enumerate(meta["channels"])
            ]
            steps_cls = JointStepTree if self.step_model == "joint" else StepTrees
            self.steps_ = steps_cls.from_state(meta["steps"], arrays)
            earrays = {k[len("entities.") :]: v for k, v in arrays.items() if k.startswith("entities.")}
            with tempfile.TemporaryDirectory(prefix="simulacra-entities-") as tmp:
                write_model_dir(Path(tmp) / "m", meta["entities"], earrays)
                self.entity_model_ = TabularSynthesizer.load(Path(tmp) / "m")
        except (KeyError, TypeError, IndexError, ValueError) as exc:
            raise ModelFormatError(f"{path}: the model is incomplete ({exc!r}); refit it") from None
        return self
