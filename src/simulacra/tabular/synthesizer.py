"""``TabularSynthesizer``: learn from a table, sample as much synthetic data as wanted.

The pipeline: schema (inferred or given) → constraint transforms (fixed combinations merged,
``high > low`` modelled as a positive difference, formula targets dropped; :mod:`.columns`) → codecs
(values ⇄ bin codes) → a model from the registry over the codes. Sampling follows a plan
(:mod:`.plan`: conditions resolved to code weights) and runs the way back (:mod:`.restore`) chunk by
chunk, with one generator per chunk derived from the seed, so the output does not depend on how it
is split. PII, id and free-text columns are never learned: fresh values are made for them.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, ModelFormatError, UsageError
from ..io import to_pandas
from ..progress import ProgressLike
from ..schema.infer import coerce_column, complete_schema, infer_schema
from ..schema.model import Schema, load_schema
from ..seeding import CHUNK_ROWS, derive_rng
from .codecs import CategoricalCodec, Codec, NumericCodec
from .columns import NUMERIC_KINDS, ModelColumn, build_model_columns, model_inputs, to_float
from .constraints import check_constraints
from .estimator import Estimator, SamplingPlan, check_count, check_seed
from .models import DEFAULT_MODEL, get_model_class, model_params
from .persistence import MODEL_FILE, ModelArrays, format_reason, read_model_dir, write_model_dir
from .plan import resolve_parts, split_counts
from .regenerate import learn_shape
from .restore import decode_codes, finish, sample_part

MIN_ROWS = 10

__all__ = ["MIN_ROWS", "TabularSynthesizer", "to_pandas"]  # to_pandas: from simulacra.io


class TabularSynthesizer(Estimator):
    """Learn a table's joint distribution and sample synthetic rows.

    Parameters
    ----------
    model: name of a registered model (``"trees"``, the default, or ``"copula"``; the ``[torch]``
        extra adds deep models).
    seed: the default seed for fitting and sampling.
    **model_params: passed to the model (e.g. ``min_samples_leaf=20`` for ``"trees"``); see
        :func:`simulacra.tabular.models.model_params` for the names a model takes.
    """

    def __init__(self, model: str = DEFAULT_MODEL, *, seed: int = 0, **model_params: Any) -> None:
        self.model = model
        self.seed = seed
        self.model_params = model_params

    # ------------------------------------------------------------------------------ fitting
    def fit(
        self,
        data: Any,
        schema: Schema | str | os.PathLike | None = None,
        kinds: dict | None = None,
        progress: ProgressLike = None,
        *,
        context: list[str] | None = None,
        overrides: dict | None = None,
    ) -> TabularSynthesizer:
        """Learn from ``data``. ``schema`` (object or YAML path) and ``kinds`` (column → kind) fix
        column kinds; ``overrides`` is the former name of ``kinds``.

        ``context`` names learned columns that are given at sampling time rather than drawn (a child
        row's parent columns): the model learns the other columns conditional on them, and
        :meth:`sample_given` makes one row per given context row. Only the trees model takes context.
        """
        if overrides is not None:
            warnings.warn("fit(overrides=...) is now fit(kinds=...)", DeprecationWarning, stacklevel=2)
            kinds = {**overrides, **(kinds or {})}
        cls = get_model_class(self.model)  # an unknown name fails before the data is read
        df = to_pandas(data)
        df.columns = [str(c) for c in df.columns]
        if len(df.columns) != len(set(df.columns)):
            dup = next(c for c in df.columns if list(df.columns).count(c) > 1)
            raise DataError(f"column '{dup}' appears twice; give every column a distinct name")
        if len(df) < MIN_ROWS:
            raise DataError(
                f"the table has {len(df)} row{'s' if len(df) != 1 else ''}; "
                f"simulacra needs at least {MIN_ROWS} rows to learn from"
            )
        if isinstance(schema, str | os.PathLike):
            schema = load_schema(schema)
        schema = complete_schema(df, schema) if schema is not None else infer_schema(df)
        if kinds:
            schema = schema.with_overrides(kinds)
        self.schema_ = schema
        self.columns_ = list(df.columns)
        self.n_train_ = len(df)

        values = {
            name: coerce_column(name, df[name], schema.columns[name]) for name in schema.learned_columns()
        }
        check_constraints(schema.constraints, values)
        params = dict(self.model_params)
        if "seed" in model_params(self.model):
            params.setdefault("seed", self.seed)
        self.model_ = cls(**params)
        check = getattr(self.model_, "check_params", None)
        if check is not None:  # bad parameters fail before any codec reads the data (or spends a budget)
            check()
        self.model_columns_ = build_model_columns(schema, values, self._new_codec)
        codes = (
            np.column_stack(
                [mc.codec.encode(arr) for mc, arr in model_inputs(self.model_columns_, schema, values)]
            )
            if self.model_columns_
            else np.zeros((len(df), 0), dtype=np.int32)
        )
        self.shapes_ = {
            name: learn_shape(df[name], col) for name, col in schema.columns.items() if not col.learned
        }
        self.out_kinds_ = {name: col.kind.value for name, col in schema.columns.items()}
        self.out_dtypes_ = {name: str(df[name].dtype) for name in df.columns}
        self.out_missing_ = {name: bool(df[name].isna().any()) for name in df.columns}
        self.context_ = list(context or [])
        lead = self._context_positions(self.context_)
        if codes.shape[1]:
            extra = {"lead": lead} if lead else {}
            self.model_.fit(
                codes.astype(np.int32),
                [mc.codec.n_codes for mc in self.model_columns_],
                progress=progress,
                **extra,
            )
        return self

    def _context_positions(self, context: list[str]) -> list[int]:
        """Model-column positions of the context columns; a column that cannot be given fails here."""
        if not context:
            return []
        if not hasattr(self.model_, "sample_given"):
            raise UsageError(f"model '{self.model}' cannot learn columns given a context; use model 'trees'")
        plain = {mc.name: i for i, mc in enumerate(self.model_columns_) if mc.role == "plain"}
        for name in context:
            if name not in plain:
                why = (
                    "is not a column"
                    if name not in self.schema_.columns
                    else "is not a learned column of its own"
                )
                raise UsageError(
                    f"context column '{name}' {why}; context columns must be learned plain columns"
                )
        return [plain[name] for name in context]

    def _new_codec(self, name: str, role: str, kind: Any, data: Any) -> Codec:
        """A fitted codec for one model column; a model may make its own (``make_codec``, e.g. private)."""
        make = getattr(self.model_, "make_codec", None)
        codec = make(name, role, kind, data, self.schema_) if make is not None else None
        if codec is not None:
            return codec
        if kind in NUMERIC_KINDS:
            return NumericCodec(kind).fit(data)
        return CategoricalCodec().fit(data)

    # ------------------------------------------------------------------------------ sampling
    def plan(
        self,
        n: int,
        conditions: dict[str, Any] | None = None,
        rebalance: str | None = None,
        seed: int | None = None,
        chunk_rows: int = CHUNK_ROWS,
    ) -> SamplingPlan:
        """The plan of ``sample(n, conditions, rebalance, seed)``: conditions resolved once (a bad
        condition raises here), chunk ``k`` then made by :meth:`sample_chunk` from the plan alone."""
        self.check_fitted()
        n = check_count(n, "rows")
        seed = check_seed(self.seed if seed is None else seed)
        return SamplingPlan(n, seed, chunk_rows, resolve_parts(self, conditions, rebalance))

    def sample_chunk(self, plan: SamplingPlan, k: int) -> pd.DataFrame:
        """Chunk ``k`` of the sample ``plan`` describes: the same rows whoever makes it, in any order."""
        self.check_fitted()
        size = plan.chunk_size(k)
        seed = plan.seed
        parts = []
        counts = split_counts(size, [s for _, s in plan.parts])
        for p, (((weights, ranges, forced), _), cnt) in enumerate(zip(plan.parts, counts, strict=True)):
            if cnt:
                parts.append(sample_part(self, cnt, seed, k, p, weights, ranges, forced))
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        if len(parts) > 1:
            perm = derive_rng(seed, "tabular", "shuffle", k).permutation(size)
            frame = frame.iloc[perm].reset_index(drop=True)
        return finish(self, frame, seed, k, k * plan.chunk_rows)

    def sample_given(
        self, context: Any, seed: int | None = None, chunk: int = 0, row: int = 0
    ) -> pd.DataFrame:
        """One synthetic row per row of ``context`` (a frame holding the fitted context columns),
        drawn conditional on it; the context columns are not part of the result. ``chunk`` keys the
        random streams, so equal ``(seed, chunk, context)`` give equal rows; ``row`` is the first
        row's number, where fresh ids start."""
        self.check_fitted()
        if not getattr(self, "context_", None):
            raise UsageError("this model was fitted without context columns; use sample()")
        ctx = to_pandas(context)
        missing = [c for c in self.context_ if c not in ctx.columns]
        if missing:
            raise DataError(f"the context has no column '{missing[0]}'; it needs {', '.join(self.context_)}")
        seed = check_seed(self.seed if seed is None else seed)
        n = len(ctx)
        out_cols = [c for c in self.columns_ if c not in set(self.context_)]
        if n == 0:
            return pd.DataFrame({c: pd.Series([], dtype=self.out_dtypes_[c]) for c in out_cols})
        given = []
        for pos in self._context_positions(self.context_):
            mc = self.model_columns_[pos]
            vals = coerce_column(mc.name, ctx[mc.name].reset_index(drop=True), self.schema_.columns[mc.name])
            x = to_float(vals, mc.kind, mc.unit) if isinstance(mc.codec, NumericCodec) else vals
            given.append(mc.codec.encode(x))
        rng = derive_rng(seed, "tabular", "given", chunk)
        codes = self.model_.sample_given(np.column_stack(given).astype(np.float32), rng)
        frame = decode_codes(self, codes, seed, chunk, 0, {}, {})  # context columns decoded, then dropped
        return finish(self, frame, seed, chunk, row)[out_cols]

    def iter_sample(
        self,
        n: int,
        conditions: dict[str, Any] | None = None,
        rebalance: str | None = None,
        seed: int | None = None,
        chunk_rows: int = CHUNK_ROWS,
        progress: Callable[[int], None] | None = None,
    ) -> Iterator[pd.DataFrame]:
        """Yield the synthetic table in chunks of ``chunk_rows`` (same rows as :meth:`sample`)."""
        plan = self.plan(n, conditions, rebalance, seed, chunk_rows)  # a bad condition raises here, at once
        return self.iter_chunks(plan, progress)

    def sample(
        self,
        n: int,
        conditions: dict[str, Any] | None = None,
        rebalance: str | None = None,
        seed: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> pd.DataFrame:
        """Sample ``n`` synthetic rows.

        ``conditions`` maps columns to a value, a list of values, or a ``(low, high)`` range (ends may be
        None); every returned row satisfies them. ``rebalance`` names a categorical column whose values
        are made equally frequent.
        """
        return pd.concat(
            list(self.iter_sample(n, conditions, rebalance, seed, progress=progress)), ignore_index=True
        )

    # ------------------------------------------------------------------------------ persistence
    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """The fitted model as a JSON-able dict and named arrays (what :meth:`save` writes)."""
        self.check_fitted()
        arrays: dict[str, np.ndarray] = {}
        cols_meta = []
        for i, mc in enumerate(self.model_columns_):
            m, a = mc.to_meta(f"col{i}")
            cols_meta.append(m)
            arrays.update(a)
        model_meta, model_arrays = self.model_.to_state() if self.model_columns_ else ({}, {})
        arrays.update({f"model.{k}": v for k, v in model_arrays.items()})
        from .. import __version__

        meta = {
            "simulacra_version": __version__,
            "synthesizer": self.model,
            "seed": self.seed,
            "model_params": self.model_params,
            "schema": self.schema_.to_dict(),
            "columns": self.columns_,
            "n_train": self.n_train_,
            "out_kinds": self.out_kinds_,
            "out_dtypes": self.out_dtypes_,
            "out_missing": self.out_missing_,
            "regenerated": self.shapes_,
            "model_columns": cols_meta,
            "model": model_meta,
        }
        if getattr(self, "context_", None):
            meta["context"] = self.context_
        return meta, arrays

    @classmethod
    def from_state(
        cls, meta: dict, arrays: dict[str, np.ndarray], source: str | os.PathLike
    ) -> TabularSynthesizer:
        """Rebuild a model from :meth:`to_state`'s output; ``source`` (its model.json) names it in errors."""
        arrays = arrays if isinstance(arrays, ModelArrays) else ModelArrays(arrays, source)
        try:
            self = cls(meta["synthesizer"], seed=meta["seed"], **meta["model_params"])
            self.schema_ = Schema.from_dict(meta["schema"], source=str(source))
            self.columns_ = meta["columns"]
            self.n_train_ = meta["n_train"]
            self.out_kinds_, self.out_dtypes_ = meta["out_kinds"], meta["out_dtypes"]
            self.out_missing_, self.shapes_ = meta["out_missing"], meta["regenerated"]
            self.context_ = list(meta.get("context", []))
            self.model_columns_ = [
                ModelColumn.from_meta(m, arrays, f"col{i}") for i, m in enumerate(meta["model_columns"])
            ]
            mcls = get_model_class(meta["synthesizer"])
            self.model_ = (
                mcls.from_state(meta["model"], arrays.under("model."))
                if self.model_columns_
                else mcls(**meta["model_params"])
            )
        except (KeyError, TypeError, IndexError, ValueError, AttributeError) as exc:
            raise ModelFormatError(
                f"{source}: does not describe a valid model ({format_reason(exc)}); refit the model"
            ) from None
        return self

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted model to a directory (``model.json`` + ``arrays.npz``; no pickle)."""
        meta, arrays = self.to_state()
        return write_model_dir(path, meta, arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> TabularSynthesizer:
        """Load a model directory written by :meth:`save`."""
        meta, arrays = read_model_dir(path)
        return cls.from_state(meta, arrays, Path(path) / MODEL_FILE)
