"""``SequenceSynthesizer``: learn entities with histories (long format), sample new ones.

Input is one row per event: an entity key, an optional order column (numbers or dates), static
context columns (one value per entity) and event columns (numbers, dates, categories). The model has
two parts:

1. **Entities**: one row per entity — its context, its length, its start (the first order value) and
   its first event — learned by a :class:`~simulacra.tabular.TabularSynthesizer`. This carries the
   length distribution, the context → sequence relation and the cross-channel correlation of where
   sequences start; conditions on context columns are exact as in the tabular model.
2. **Steps**: each later event is drawn channel by channel from trees over lagged features (see
   :mod:`simulacra.sequences.model` and :mod:`simulacra.sequences.features`): the time gap first
   (when there is an order column), then every event column in table order.

Sampling runs in chunks of :data:`ENTITY_CHUNK` entities, each with generators derived from
``(seed, "sequences", purpose, chunk)``, so the output does not depend on how it is consumed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConditionError, DataError, ModelFormatError, UsageError
from ..io import to_pandas
from ..progress import ProgressLike, as_progress
from ..schema.infer import coerce_column, infer_schema
from ..schema.kinds import Kind
from ..schema.model import ColumnSchema
from ..seeding import derive_rng
from ..tabular.codecs import CategoricalCodec, NumericCodec
from ..tabular.estimator import Estimator, SamplingPlan, check_count, check_seed
from ..tabular.models.leaf_size import FIXED_MULTIPLIER, leaf_rule
from ..tabular.persistence import MODEL_FILE, ModelArrays, format_reason, read_model_dir, write_model_dir
from ..tabular.regenerate import learn_shape
from ..tabular.synthesizer import TabularSynthesizer
from .assemble import assemble
from .checks import check_columns, check_context, order_schema
from .features import (
    ENTITY_CHUNK,
    FIRST,
    LENGTH,
    START,
    clean,
    context_features,
    context_matrix,
    event_channels,
    first_values,
    seconds,
    start_times,
    teacher_forcing,
)
from .model import Channel, JointStepTree, StepState, StepTrees, detect_grid

MIN_ENTITIES = 10
SEQUENCE_FORMAT = 1
STEP_MODELS = ("joint", "channels")

__all__ = ["ENTITY_CHUNK", "SequenceSynthesizer", "is_sequence_model"]


def is_sequence_model(path: str | os.PathLike) -> bool:
    """Whether ``path`` holds a model written by :meth:`SequenceSynthesizer.save`."""
    import json

    p = Path(path) / "model.json"
    try:
        meta = json.loads(p.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("synthesizer") == "sequences"


class SequenceSynthesizer(Estimator):
    """Learn sequences of events per entity and sample new entities with their histories.

    Parameters
    ----------
    step_model: ``"joint"`` (one tree over every channel, the default) or ``"channels"`` (a tree per
        channel, each seeing the channels drawn before it).
    seed: the default seed for fitting and sampling.
    entity_model: the tabular model of the entity table (``"trees"`` or ``"copula"``).
    min_samples_leaf: training steps per leaf of the step trees (default: 0.3% of the steps, 5–200).
    max_fit_steps: the step trees learn from at most this many steps (a seeded sample beyond it).
    """

    _fitted_attr = "steps_"
    _not_fitted = "the synthesizer is not fitted yet; call fit(data, sequence_key=...) first"

    def __init__(
        self,
        step_model: str = "joint",
        *,
        seed: int = 0,
        entity_model: str = "trees",
        min_samples_leaf: int | None = None,
        max_fit_steps: int = 400_000,
    ) -> None:
        self.step_model = step_model
        self.seed = seed
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
        progress: ProgressLike = None,
    ) -> SequenceSynthesizer:
        """Learn from a long table: one row per event, ``sequence_key`` naming the entity.

        ``order_by`` (numbers or dates) orders each entity's events (else the rows' order is kept);
        ``context`` names columns that hold one value per entity; ``kinds`` overrides column kinds.
        """
        if self.step_model not in STEP_MODELS:
            raise UsageError(f"step_model must be 'joint' or 'channels', got {self.step_model!r}")
        step = as_progress(progress)
        step.start(3, "phases")
        df = to_pandas(data).copy()
        df.columns = [str(c) for c in df.columns]
        context = [str(c) for c in (context or [])]
        kinds = dict(kinds or {})
        check_columns(df, sequence_key, order_by, context, kinds)
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
            col = order_schema(df, order_by, kinds)
            self.order_kind_, self.order_format_ = col.kind.value, col.format
            ovals = coerce_column(order_by, df[order_by], col)
            order_secs = seconds(ovals, col.kind)
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
        check_context(sdf, context, ent_s, uniques)

        # event columns
        events = [c for c in df.columns if c not in (sequence_key, order_by, *context)]
        schema = infer_schema(sdf[events], {k: v for k, v in kinds.items() if k in events} or None)
        self.event_schema_ = {c: schema.columns[c].model_dump(mode="json") for c in events}
        learned = [c for c in events if schema.columns[c].learned]
        self.shapes_ = {c: learn_shape(sdf[c], schema.columns[c]) for c in events if c not in learned}
        self.out_dtypes_ = {c: str(df[c].dtype) for c in df.columns}
        self.out_missing_ = {c: bool(df[c].isna().any()) for c in df.columns}

        step.status("events")

        step(1)
        sorted_order = order_secs[perm] if order_secs is not None else None
        flat, channels, integral = event_channels(sdf, learned, schema, sorted_order, firsts)
        self.learned_ = learned
        if not channels:
            raise DataError(
                "besides the sequence key and the context there is nothing that changes along a sequence "
                "(no order column, no learnable event column); add --order-by or event columns"
            )

        # the entity table: context, length, start and first event
        step.status("entities")
        step(1)
        table = {c: sdf[c].iloc[firsts].reset_index(drop=True) for c in context}
        table[LENGTH] = pd.Series(lengths.astype(np.int64))
        entity_kinds: dict[str, Any] = {LENGTH: "integer"}
        entity_kinds.update({c: kinds[c] for c in context if c in kinds})
        if order_by is not None:
            table[START] = coerce_column(order_by, sdf[order_by], ColumnSchema(kind=Kind(self.order_kind_)))
            table[START] = table[START].iloc[firsts].reset_index(drop=True)
            entity_kinds[START] = self.order_kind_
        for c in learned:
            col = schema.columns[c]
            table[FIRST + c] = coerce_column(c, sdf[c], col).iloc[firsts].reset_index(drop=True)
            entity_kinds[FIRST + c] = col.kind.value
        etable = pd.DataFrame(table)
        # The entity table's first events seed whole histories, so its leaf size is judged by sequence
        # scores (benchmarks/tune_sequences.py), not by the table's own held-out likelihood: larger
        # leaves chosen that way made the per-sequence detector's AUC worse on Japanese vowels.
        params = (
            {"min_samples_leaf": leaf_rule(len(etable), FIXED_MULTIPLIER)}
            if self.entity_model == "trees"
            else {}
        )
        self.entity_model_ = TabularSynthesizer(self.entity_model, seed=self.seed, **params)
        self.entity_model_.fit(etable, kinds=entity_kinds)
        self.max_length_ = int(lengths.max())
        self.ctx_feats_, self.ctx_codecs_ = context_features(context, self.entity_model_.schema_, etable)

        # the step model, learned on the real sequences (teacher forcing)
        step.status("steps")
        step(1)
        feats, targets = teacher_forcing(
            channels,
            flat,
            lengths,
            offsets,
            None if sorted_order is None else sorted_order[firsts],
            context_matrix(self.ctx_feats_, self.ctx_codecs_, etable),
            self.order_kind_ == Kind.DATETIME.value,
            self.grid_,
        )
        self.steps_ = self._fit_steps(channels, feats, targets, integral)
        self.channels_ = channels
        self.n_train_entities_ = n_ent
        self.n_train_rows_ = len(df)
        return self

    def _fit_steps(
        self, channels: list[Channel], feats: np.ndarray, targets: list[np.ndarray], integral: list[bool]
    ) -> JointStepTree | StepTrees:
        """The step trees over teacher-forced ``feats``; numeric channels get their codec here."""
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
                ch.codec = NumericCodec(Kind.INTEGER if integral[j] else Kind.FLOAT).fit(targets[j])
                y = ch.codec.encode(targets[j]).astype(np.int64)
            codes.append(y)
            n_codes.append(ch.codec.n_codes)
            ordinal.append(ch.mode != "category")
        leaf = self.min_samples_leaf or int(np.clip(round(0.003 * n_steps), 5, 200))
        base_dim = feats.shape[1] - len(channels)
        if self.step_model == "joint":
            return JointStepTree(min_samples_leaf=leaf).fit(
                feats[:, :base_dim], np.column_stack(codes), n_codes, ordinal
            )
        xs = [feats[:, : base_dim + j] for j in range(len(channels))]
        return StepTrees(min_samples_leaf=leaf).fit(xs, codes, n_codes, ordinal)

    # ------------------------------------------------------------------------------ sampling
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

    def plan(self, n: int, conditions: dict[str, Any] | None = None, seed: int | None = None) -> SamplingPlan:
        """The plan of ``sample(n, conditions, seed)``: ``n`` entities in chunks of :data:`ENTITY_CHUNK`
        (a bad condition raises here); :meth:`sample_chunk` makes chunk ``k`` from it alone."""
        self.check_fitted()
        n = check_count(n, "sequences")
        seed = check_seed(self.seed if seed is None else seed)
        return SamplingPlan(n, seed, ENTITY_CHUNK, self._check_conditions(conditions), unit="sequences")

    def sample_chunk(self, plan: SamplingPlan, k: int) -> pd.DataFrame:
        """Chunk ``k`` of the sample ``plan`` describes (its entities with every event)."""
        self.check_fitted()
        n, seed, conditions = plan.chunk_size(k), plan.seed, plan.parts
        eseed = int(derive_rng(seed, "sequences", "entities", k).integers(2**62))
        etable = self.entity_model_.sample(n, conditions=conditions or None, seed=eseed)
        L = np.clip(np.round(etable[LENGTH].to_numpy(dtype=float)), 1, self.max_length_).astype(np.int64)
        order = np.argsort(-L, kind="stable")
        etable = etable.iloc[order].reset_index(drop=True)
        L = L[order]
        channels = self.channels_
        first = first_values(etable, channels, self.event_schema_)
        start = start_times(etable, self.order_kind_, self.grid_)
        ctx = context_matrix(self.ctx_feats_, self.ctx_codecs_, etable)
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
            base = clean(state.features(t, Lf[:m], ctx[:m]))
            x = base
            joint = self.steps_.sample(base, rng) if self.step_model == "joint" else None
            for j, ch in enumerate(channels):
                code = joint[:, j] if joint is not None else self.steps_.sample(j, x, rng)
                target = code.astype(float) if ch.mode == "category" else ch.codec.decode(code, rng)
                val, real = state.update(j, target)
                values[j][:m, t] = val
                if joint is None:
                    x = np.hstack([x, clean(real)[:, None]])
        return assemble(self, etable, L, values, start, k, seed, rng)

    def iter_sample(
        self,
        n: int,
        conditions: dict[str, Any] | None = None,
        seed: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> Iterator[pd.DataFrame]:
        """Yield ``n`` synthetic entities with their events, :data:`ENTITY_CHUNK` entities at a time."""
        plan = self.plan(n, conditions, seed)  # a bad condition raises here, at once
        return self.iter_chunks(plan, progress)

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

    # ------------------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted model to a directory (``model.json`` + ``arrays.npz``; no pickle)."""
        self.check_fitted()
        emeta, earrays = self.entity_model_.to_state()
        arrays: dict[str, np.ndarray] = {f"entities.{k}": v for k, v in earrays.items()}
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

        params = self.get_params()
        meta = {
            "simulacra_version": __version__,
            "synthesizer": "sequences",
            "sequence_format": SEQUENCE_FORMAT,
            "seed": params.pop("seed"),
            "params": params,
            **{name: getattr(self, name + "_") for name in _SAVED},
            "regenerated": self.shapes_,
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
        source = Path(path) / MODEL_FILE
        if meta.get("synthesizer") != "sequences":
            raise ModelFormatError(f"{path}: holds a tabular model, not a sequence model")
        if int(meta.get("sequence_format", 0)) > SEQUENCE_FORMAT:
            raise ModelFormatError(
                f"{path}: sequence model format {meta['sequence_format']} is newer than this simulacra "
                f"reads ({SEQUENCE_FORMAT}); upgrade simulacra (pip install -U simulacra)"
            )
        if not isinstance(arrays, ModelArrays):
            arrays = ModelArrays(arrays, Path(path))
        try:
            self = cls(seed=meta["seed"], **meta["params"])
            for name in _SAVED:
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
            entities = meta["entities"]
        except (KeyError, TypeError, IndexError, ValueError, AttributeError) as exc:
            raise ModelFormatError(
                f"{source}: does not describe a valid sequence model ({format_reason(exc)}); refit the model"
            ) from None
        self.entity_model_ = TabularSynthesizer.from_state(entities, arrays.under("entities."), source)
        return self


_SAVED = (
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
)
"""Fitted attributes saved as they are (``name_`` in the synthesizer, ``name`` in ``model.json``)."""
