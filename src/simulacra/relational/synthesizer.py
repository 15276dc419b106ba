"""``RelationalSynthesizer``: learn a database's tables and keys, sample a synthetic database.

Tables are learned in dependency order, each by a :class:`~simulacra.tabular.TabularSynthesizer`
over a *model frame*:

- the table's own columns, less its key columns (foreign keys come from parents, the fresh
  primary-key column from :mod:`.keys`);
- ``__count.<child>``: for every child learned in this table's context, how many rows it has per
  row of this table — so how many children a parent has is learned jointly with the parent;
- ``__match.<i>``: for every other foreign key, the cluster of the parent row it points at
  (:mod:`.matching`), so a plausible parent is chosen, not a random one;
- ``__parent.<column>``: for a child, its context parent's learned columns and counts, *given* at
  sampling time (the trees model walks the child's columns after them).

Sampling makes the roots (``scale`` × their training rows), then each child table from the rows
of its context parent: a parent with ``__count.<child>`` = k gets k children drawn conditional on
the parent's columns. Every key is then filled from parent rows that exist, so no row is an
orphan, and primary keys are unique by construction.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, ModelFormatError, SchemaError, SimulacraError, UsageError
from ..io import to_pandas
from ..progress import ProgressLike, as_progress
from ..schema.infer import infer_schema
from ..schema.kinds import Kind
from ..schema.model import ColumnSchema, Schema
from ..seeding import derive_seed
from ..tabular.estimator import Estimator, check_seed
from ..tabular.persistence import MODEL_FILE, ModelArrays, format_reason, read_model_dir, write_model_dir
from ..tabular.synthesizer import TabularSynthesizer
from .keys import counter_shape, key_roles
from .links import (
    agreeing_columns,
    parent_positions,
    previous_sibling,
    repeats_earlier,
    seconds_after,
    sibling_dependence,
    sibling_index,
    timeline_pairs,
)
from .matching import ParentClusters
from .metadata import Metadata
from .parts import (
    AGAIN,
    AGAIN_SHARE,
    COUNT,
    INDEX,
    KIND,
    MATCH,
    PARENT,
    PREV,
    PREV_MAX,
    PREV_MIN_DEPENDENCE,
    SAME,
    TablePart,
)
from .sampling import DatabaseSampler
from .units import UNIT_ROOTS


class RelationalSynthesizer(Estimator):
    """Learn a database (tables and keys) and sample a synthetic one with every key valid.

    Parameters
    ----------
    model: the per-table model (``"trees"``: children are drawn given their parent's columns).
    seed: the default seed for fitting and sampling.
    **model_params: passed to every table's model (see :class:`~simulacra.tabular.TabularSynthesizer`).
    """

    _fitted_attr = "parts_"
    _not_fitted = "the synthesizer is not fitted yet; call fit(tables, metadata) first"

    def __init__(self, model: str = "trees", *, seed: int = 0, **model_params: Any) -> None:
        self.model = model
        self.seed = seed
        self.model_params = model_params

    # ------------------------------------------------------------------------------ fitting
    def fit(
        self,
        tables: dict[str, Any],
        metadata: Metadata | str | os.PathLike | None = None,
        progress: ProgressLike = None,
        *,
        orphans: str = "error",
    ) -> RelationalSynthesizer:
        """Learn from ``tables`` (name → frame). ``metadata`` (object or YAML path) gives the keys;
        without it they are inferred from names and values. ``orphans`` says what to do with child
        rows whose parent is missing: ``"error"``, ``"drop"`` or ``"null"``."""
        from .checks import check_tables
        from .infer import infer_metadata

        if self.model != "trees":
            raise UsageError(f"model '{self.model}': relational synthesis needs model 'trees'")
        check_seed(self.seed)
        if not isinstance(tables, dict) or not tables:
            raise DataError("expected a dict of table name to table, with at least one table")
        frames = {str(k): to_pandas(v).reset_index(drop=True) for k, v in tables.items()}
        if metadata is None:
            metadata = infer_metadata(frames)
        elif not isinstance(metadata, Metadata):
            metadata = Metadata.load(metadata)
        frames, notes = check_tables(metadata, frames, orphans)
        self.notes_ = list(notes)
        for name in metadata.order:  # children are made per parent: a row without one is left out
            fk = metadata.context_of(name)
            df = frames[name].reset_index(drop=True)
            if fk is not None:
                keep = parent_positions(df, fk, frames[fk.parent]) >= 0
                if not keep.all():
                    self.notes_.append(
                        f"{name}: {int((~keep).sum())} rows without a {fk.parent} row left out"
                    )
                    df = df[keep].reset_index(drop=True)
            frames[name] = df
        self.metadata_ = metadata
        self.parts_: dict[str, TablePart] = {}
        model_frames: dict[str, pd.DataFrame] = {}
        labels: dict[str, np.ndarray] = {}
        bar = as_progress(progress)
        bar.start(len(metadata.order), "tables")
        for name in metadata.order:
            try:
                self.parts_[name], model_frames[name] = self._fit_table(name, frames, model_frames, labels)
            except SimulacraError as exc:
                raise type(exc)(f"table '{name}': {exc}") from None
            bar(1)
        return self

    def _fit_table(
        self,
        name: str,
        frames: dict[str, pd.DataFrame],
        model_frames: dict[str, pd.DataFrame],
        labels: dict[str, np.ndarray],
    ) -> tuple[TablePart, pd.DataFrame]:
        md = self.metadata_
        df = frames[name]
        data_pk, key_col = key_roles(md, name)
        exact = self._exact_pairs(name)
        ctx_fk = md.context_of(name)
        ctx_cols = set(ctx_fk.columns) if ctx_fk else set()
        learned_keys = {c for pairs in exact.values() for c, _ in pairs if c not in ctx_cols}
        fk_cols = {c for fk in md.parents(name) for c in fk.columns}
        copied: list[str] = []
        ctx_pos = parent_positions(df, ctx_fk, frames[ctx_fk.parent]) if ctx_fk is not None else None
        if ctx_fk is not None:  # columns that repeat the context parent's value are copied, not learned
            pdata = self.parts_[ctx_fk.parent].data
            copied = [
                c
                for c in agreeing_columns(df, frames[ctx_fk.parent], ctx_pos, fk_cols | {key_col})
                if c in pdata and c not in data_pk
            ]
        data = [c for c in df.columns if (c not in fk_cols or c in learned_keys) and c != key_col]
        frame = df[data].copy()
        kinds = {c: k for c, k in md.tables[name].kinds.items() if c in data}
        known: dict[str, ColumnSchema] = {}  # kinds of the added columns: not inferred again
        if ctx_fk is not None:  # a copy of a column the parent makes fresh (a device id) is fresh too
            pschema = self.parts_[ctx_fk.parent].synth.schema_.columns
            for c in copied:
                if c not in kinds and not pschema[c].learned:
                    known[c] = pschema[c]
        unknown = [c for c in md.tables[name].kinds if c not in df.columns]
        if unknown:
            raise SchemaError(f"kinds name column '{unknown[0]}', which the table does not have")

        counts = {}
        for fk in md.context_children(name):
            pos = parent_positions(frames[fk.child], fk, df)
            col = COUNT + fk.child
            frame[col] = np.bincount(pos[pos >= 0], minlength=len(df)).astype(np.int64)
            known[col] = ColumnSchema(kind=Kind.INTEGER)
            counts[fk.child] = col

        matches: dict[int, str] = {}
        agree: dict[int, list[str]] = {}
        for i, fk in enumerate(md.foreign_keys):
            if fk.child == name and not fk.context:
                pos = parent_positions(df, fk, frames[fk.parent])
                col = MATCH + str(i)
                lab = labels[fk.parent]
                frame[col] = np.where(pos >= 0, lab[np.clip(pos, 0, None)].astype(float), np.nan)
                known[col] = ColumnSchema(kind=Kind.CATEGORICAL)
                matches[i] = col
                agree[i] = agreeing_columns(
                    df, frames[fk.parent], pos, exclude={c for c, _ in exact[i]} | fk_cols
                )

        parent_profile: list[str] = []
        context: list[str] = []
        deltas: dict[str, str] = {}
        previous: list[str] = []
        again: list[str] = []
        fk = ctx_fk
        if fk is not None:
            ppart = self.parts_[fk.parent]
            pframe = model_frames[fk.parent]
            pos = ctx_pos
            parent_profile = list(ppart.profile)
            pschema = ppart.synth.schema_.columns
            for c in parent_profile:
                frame[PARENT + c] = pframe[c].to_numpy()[pos]
                known[PARENT + c] = pschema[c]
            frame[INDEX] = sibling_index(
                pos, df[md.tables[name].order_by] if md.tables[name].order_by else None
            )
            known[INDEX] = ColumnSchema(kind=Kind.INTEGER)
            context = [INDEX] + [PARENT + c for c in parent_profile]
            pdf = frames[fk.parent]
            dates = [c for c in data if c not in kinds and c not in copied]
            deltas = timeline_pairs(df, pdf, pos, dates, ppart.data)
            for c, p in deltas.items():
                frame[c] = seconds_after(df[c], pdf[p].iloc[np.clip(pos, 0, None)].where(pos >= 0))
                known[c] = ColumnSchema(kind=Kind.FLOAT)
            for c in copied:  # whether the row repeats its parent's value is learned; the value is copied
                parent_vals = pd.Series(pdf[c].to_numpy()[pos], dtype=object)
                frame[SAME + c] = pd.Series(df[c].to_numpy(), dtype=object).eq(parent_vals).to_numpy()
                known[SAME + c] = ColumnSchema(kind=Kind.CATEGORICAL)
            previous, again = self._previous(frame, data, copied, matches, known, kinds, pos)
            context += [PREV + c for c in previous]

        synth = TabularSynthesizer(
            self.model, seed=derive_seed(self.seed, "relational", name), **self.model_params
        )
        synth.fit(frame, Schema(columns=known), kinds=kinds, context=context)
        learned = [c for c in data if synth.schema_.columns[c].learned]
        part = TablePart(
            columns=list(df.columns),
            dtypes={c: str(df[c].dtype) for c in df.columns},
            data=data,
            profile=learned + list(counts.values()),
            parent_profile=parent_profile,
            counts=counts,
            matches=matches,
            agree=agree,
            copied=copied,
            deltas=deltas,
            previous=previous,
            again=again,
            key_column=key_col,
            key_shape=counter_shape(df[key_col], bool(data_pk or fk_cols & set(md.tables[name].primary_key)))
            if key_col
            else None,
            n_rows=len(df),
            synth=synth,
        )
        if any(not c.context for c in md.children(name)):
            part.clusters = ParentClusters().fit(
                df[learned], derive_seed(self.seed, "relational", "clusters", name)
            )
            labels[name] = part.clusters.assign(df[learned])
        return part, frame

    @staticmethod
    def _previous(
        frame: pd.DataFrame,
        data: list[str],
        copied: list[str],
        matches: dict[int, str],
        known: dict[str, ColumnSchema],
        kinds: dict,
        pos: np.ndarray,
    ) -> tuple[list[str], list[str]]:
        """Siblings are drawn one rank after another, each given the one before (a player's next season
        given the last one): add the previous sibling's learned values as context (``__prev.<col>``),
        and for a regenerated or copied column (a device id) whether the row repeats the last value of
        its own that an earlier sibling had (``__again.<col>``, learned; at sampling the value is taken
        from the synthetic siblings)."""
        if pos.size == 0 or np.bincount(pos).max() < 2:
            return [], []
        own = [c for c in data if c not in copied]
        inferred = infer_schema(frame[[c for c in own if c not in known]], kinds or None)
        columns = {**inferred.columns, **{c: known[c] for c in own if c in known}}
        prev = previous_sibling(pos, frame[INDEX].to_numpy())
        has_prev = prev >= 0
        again = []
        rank = frame[INDEX].to_numpy()
        for c in [*own, *copied]:
            if (c in own and columns[c].learned) or not has_prev.any():
                continue
            # a copied column's own values are those that differ from the parent's
            mine = ~frame[SAME + c].astype(bool).to_numpy() if c in copied else np.ones(len(frame), bool)
            repeat = repeats_earlier(frame[c].to_numpy(dtype=object), mine, pos, rank)
            if repeat[mine & has_prev].mean() >= AGAIN_SHARE if (mine & has_prev).any() else False:
                frame[AGAIN + c] = repeat
                known[AGAIN + c] = ColumnSchema(kind=Kind.CATEGORICAL)
                again.append(c)
        candidates = [c for c in own if columns[c].learned]
        candidates += [SAME + c for c in copied] + list(matches.values())
        previous = sibling_dependence(frame, candidates, prev, PREV_MIN_DEPENDENCE)[:PREV_MAX]
        for c in previous:
            values = frame[c].iloc[np.clip(prev, 0, None)].reset_index(drop=True)
            frame[PREV + c] = values.where(pd.Series(has_prev)).to_numpy()
            known[PREV + c] = known.get(c, columns.get(c))
        return previous, again

    def _exact_pairs(self, name: str) -> dict[int, list[tuple[str, str]]]:
        """For each non-context foreign key of ``name``, the (child, parent) column pairs whose value
        is known before the parent is picked: columns shared with the context key, and parent key
        columns that are data (a season's year). The picked parent must have the same values."""
        md = self.metadata_
        ctx_fk = md.context_of(name)
        ctx_cols = set(ctx_fk.columns) if ctx_fk else set()
        out = {}
        for i, fk in enumerate(md.foreign_keys):
            if fk.child == name and not fk.context:
                parent_data, _ = key_roles(md, fk.parent)
                out[i] = [
                    (c, pc)
                    for c, pc in zip(fk.columns, fk.parent_columns, strict=True)
                    if c in ctx_cols or pc in parent_data
                ]
        return out

    # ------------------------------------------------------------------------------ sampling
    def sample(
        self,
        scale: float = 1.0,
        seed: int | None = None,
        progress: ProgressLike = None,
        *,
        unit_roots: int = UNIT_ROOTS,
    ) -> dict[str, pd.DataFrame]:
        """A synthetic database: ``scale`` × the training rows of every root table, their
        descendants drawn in their context, every foreign key pointing at a synthetic parent.

        It is drawn in units of root entities (:mod:`.units`): the same tables as a sampling job
        (:func:`simulacra.relational.sample_database`) makes on any number of processes or Ray.
        ``unit_roots`` (rows of the largest root table per unit) is part of what is drawn, like the seed."""
        return self.sampler(scale, seed, unit_roots).database(progress)

    def sampler(
        self, scale: float = 1.0, seed: int | None = None, unit_roots: int = UNIT_ROOTS
    ) -> DatabaseSampler:
        """The unit-by-unit sampler of a database of ``scale`` × the training roots (see :meth:`sample`)."""
        self.check_fitted()
        seed = check_seed(self.seed if seed is None else seed)
        exact = {name: self._exact_pairs(name) for name in self.metadata_.order}
        return DatabaseSampler(self.metadata_, self.parts_, exact, scale, seed, unit_roots)

    # ------------------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted model to a directory (``model.json`` + ``arrays.npz``; no pickle)."""
        self.check_fitted()
        arrays: dict[str, np.ndarray] = {}
        tables = {}
        for i, (name, part) in enumerate(self.parts_.items()):
            smeta, sarrays = part.synth.to_state()
            arrays.update({f"t{i}.{k}": v for k, v in sarrays.items()})
            cmeta = None
            if part.clusters is not None:
                cmeta, carrays = part.clusters.to_state(f"t{i}.clusters")
                arrays.update(carrays)
            tables[name] = {
                "columns": part.columns,
                "dtypes": part.dtypes,
                "data": part.data,
                "profile": part.profile,
                "parent_profile": part.parent_profile,
                "counts": part.counts,
                "matches": {str(k): v for k, v in part.matches.items()},
                "agree": {str(k): v for k, v in part.agree.items()},
                "copied": part.copied,
                "deltas": part.deltas,
                "previous": part.previous,
                "again": part.again,
                "key_column": part.key_column,
                "key_shape": part.key_shape,
                "n_rows": part.n_rows,
                "synth": smeta,
                "clusters": cmeta,
            }
        from .. import __version__

        meta = {
            "simulacra_version": __version__,
            "kind": KIND,
            "model": self.model,
            "seed": self.seed,
            "model_params": self.model_params,
            "metadata": self.metadata_.to_dict(),
            "notes": self.notes_,
            "tables": tables,
        }
        return write_model_dir(path, meta, arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> RelationalSynthesizer:
        """Load a model directory written by :meth:`save`."""
        meta, arrays = read_model_dir(path)
        source = Path(path) / MODEL_FILE
        if meta.get("kind") != KIND:
            raise ModelFormatError(f"{source}: not a relational model; load it with TabularSynthesizer")
        arrays = arrays if isinstance(arrays, ModelArrays) else ModelArrays(arrays, source)
        try:
            self = cls(meta["model"], seed=meta["seed"], **meta["model_params"])
            self.metadata_ = Metadata.from_dict(meta["metadata"], str(source))
            self.notes_ = list(meta["notes"])
            self.parts_ = {}
            for i, (name, t) in enumerate(meta["tables"].items()):
                synth = TabularSynthesizer.from_state(t["synth"], arrays.under(f"t{i}."), source)
                clusters = (
                    ParentClusters.from_state(t["clusters"], arrays, f"t{i}.clusters")
                    if t["clusters"] is not None
                    else None
                )
                self.parts_[name] = TablePart(
                    t["columns"],
                    t["dtypes"],
                    t["data"],
                    t["profile"],
                    t["parent_profile"],
                    t["counts"],
                    {int(k): v for k, v in t["matches"].items()},
                    {int(k): list(v) for k, v in t["agree"].items()},
                    list(t["copied"]),
                    dict(t["deltas"]),
                    list(t.get("previous", [])),
                    list(t.get("again", [])),
                    t["key_column"],
                    t["key_shape"],
                    t["n_rows"],
                    synth,
                    clusters,
                )
        except (KeyError, TypeError, IndexError, ValueError, AttributeError) as exc:
            raise ModelFormatError(
                f"{source}: not a valid relational model ({format_reason(exc)}); refit the model"
            ) from None
        return self


def is_relational_model(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a model directory written by :meth:`RelationalSynthesizer.save`."""
    import json

    try:
        return json.loads((Path(path) / MODEL_FILE).read_text()).get("kind") == KIND
    except (OSError, ValueError, AttributeError):
        return False
