"""Drawing a synthetic database from a fitted relational model, one unit of root entities at a time.

A unit (see :mod:`.units`) makes its slice of the split root tables, then each child table from the
rows of its context parent: a parent with ``__count.<child>`` = k gets k children drawn conditional
on the parent's columns. Every key is then filled from parent rows of the same unit (or of a shared
table), so no row is an orphan, and primary keys are unique by construction. Each unit's randomness
comes from the seed and the unit's number alone.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..progress import ProgressLike, as_progress
from ..seeding import CHUNK_ROWS, derive_rng, derive_seed
from .keys import duplicate_keys, fresh_keys
from .links import add_seconds, key_values, sibling_index, take, with_dtype
from .metadata import Metadata
from .parts import AGAIN, COUNT, INDEX, PARENT, PREV, SAME, TablePart
from .units import UNIT_ROOTS, KeyRenumbering, UnitPlan, plan_units


class DatabaseSampler:
    """Units of a synthetic database of ``scale`` × the training roots, drawn with ``seed``."""

    def __init__(
        self,
        metadata: Metadata,
        parts: Mapping[str, TablePart],
        exact: Mapping[str, dict[int, list[tuple[str, str]]]],
        scale: float,
        seed: int,
        unit_roots: int = UNIT_ROOTS,
    ) -> None:
        self.metadata = metadata
        self.parts = parts
        self.exact = exact
        self.seed = seed
        sizes = {name: part.n_rows for name, part in parts.items()}
        self.plan: UnitPlan = plan_units(metadata, sizes, scale, unit_roots)
        self._shared: tuple[dict, dict, dict] | None = None

    # ------------------------------------------------------------------------------ tables
    def shared(self) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame], dict[str, np.ndarray]]:
        """The shared tables (output frames, model frames, cluster labels), drawn once."""
        if self._shared is None:
            out: dict[str, pd.DataFrame] = {}
            frames: dict[str, pd.DataFrame] = {}
            labels: dict[str, np.ndarray] = {}
            for name, n in self.plan.shared.items():
                tseed = derive_seed(self.seed, "relational", "sample", name)
                self._table(name, n, None, tseed, frames, labels, out)
            self._shared = (out, frames, labels)
        return self._shared

    def unit(self, unit: int) -> dict[str, pd.DataFrame]:
        """The split tables of one unit, with keys counted from the unit's start."""
        shared_out, shared_frames, shared_labels = self.shared()
        out = dict(shared_out)
        frames = dict(shared_frames)
        labels = dict(shared_labels)
        for name in self.metadata.order:
            if name in self.plan.shared:
                continue
            tseed = derive_seed(self.seed, "relational", "sample", name, unit)
            n = self.plan.roots[name][unit] if name in self.plan.roots else None
            self._table(name, n, unit, tseed, frames, labels, out)
        return {name: df for name, df in out.items() if name not in self.plan.shared}

    def database(self, progress: ProgressLike = None) -> dict[str, pd.DataFrame]:
        """Every unit, renumbered and joined in order, with the shared tables."""
        bar = as_progress(progress)
        bar.start(self.plan.n_units, "units")
        renumber = KeyRenumbering(self.metadata, self.parts, list(self.plan.shared))
        pieces: dict[str, list[pd.DataFrame]] = {name: [] for name in self.metadata.order}
        for u in range(self.plan.n_units):
            for name, df in renumber.apply(self.unit(u)).items():
                pieces[name].append(df)
            bar(1)
        shared_out = self.shared()[0]
        return {
            name: shared_out[name] if name in shared_out else join_units(pieces[name], self.parts[name])
            for name in self.metadata.order
        }

    # ------------------------------------------------------------------------------ one table
    def _table(
        self,
        name: str,
        n: int | None,
        unit: int | None,
        tseed: int,
        frames: dict[str, pd.DataFrame],
        labels: dict[str, np.ndarray],
        out: dict[str, pd.DataFrame],
    ) -> None:
        part = self.parts[name]
        fk = self.metadata.context_of(name)
        if fk is None:
            frame = part.synth.sample(n, seed=tseed) if n else part.synth.sample(1, seed=tseed).iloc[:0]
            context_pos = None
        else:
            pframe = frames[fk.parent]
            counts = np.clip(pd.to_numeric(pframe[COUNT + name]).fillna(0).to_numpy(), 0, None)
            context_pos = np.repeat(np.arange(len(pframe)), counts.round().astype(np.int64))
            parent_out = out[fk.parent]
            copies = {c: parent_out[c].to_numpy(dtype=object)[context_pos] for c in part.copied}
            frame = self._children(part, pframe, context_pos, tseed, copies)
        keys = self._keys(name, part, frame, context_pos, out, labels, unit)
        pk = self.metadata.tables[name].primary_key
        pk_frame = pd.concat([keys, frame[[c for c in pk if c not in keys.columns]]], axis=1)
        if duplicate_keys(pk_frame, pk):  # a key made only of foreign keys can repeat: keep the first
            keep = ~pk_frame.duplicated(subset=pk).to_numpy()
            frame, keys = frame[keep].reset_index(drop=True), keys[keep].reset_index(drop=True)
        frames[name] = frame
        if part.clusters is not None:
            learned = [c for c in part.profile if c in part.data]
            labels[name] = part.clusters.assign(frame[learned])
        out[name] = _assemble(part, frame, keys)

    @staticmethod
    def _children(
        part: TablePart, pframe: pd.DataFrame, pos: np.ndarray, seed: int, copies: dict[str, np.ndarray]
    ) -> pd.DataFrame:
        ctx = pd.DataFrame({PARENT + c: pframe[c].to_numpy()[pos] for c in part.parent_profile})
        ctx[INDEX] = sibling_index(pos)
        if len(ctx) == 0:
            if part.previous:
                ctx = ctx.assign(**{PREV + c: pd.Series([], dtype=object) for c in part.previous})
            return part.synth.sample_given(ctx.iloc[:0], seed=seed)
        if not part.previous and not part.again:
            chunks = [
                part.synth.sample_given(ctx.iloc[start : start + CHUNK_ROWS], seed=seed, chunk=k, row=start)
                for k, start in enumerate(range(0, len(ctx), CHUNK_ROWS))
            ]
            return pd.concat(chunks, ignore_index=True)
        return _by_rank(part, ctx, seed, copies)

    def _keys(
        self,
        name: str,
        part: TablePart,
        frame: pd.DataFrame,
        context_pos: np.ndarray | None,
        out: dict[str, pd.DataFrame],
        labels: dict[str, np.ndarray],
        unit: int | None,
    ) -> pd.DataFrame:
        md = self.metadata
        where = (name,) if unit is None else (name, unit)
        keys = pd.DataFrame(index=range(len(frame)))
        exact = self.exact[name]
        fks = sorted(
            (i for i, fk in enumerate(md.foreign_keys) if fk.child == name),
            key=lambda i: not md.foreign_keys[i].context,
        )  # the context key first
        for i in fks:
            fk = md.foreign_keys[i]
            parent = out[fk.parent]
            if fk.context:
                pos = context_pos
                for c in part.copied:
                    same = frame[SAME + c].astype(str).eq("True").to_numpy()
                    own = frame[c].to_numpy(dtype=object)
                    keys[c] = np.where(same, np.asarray(take(parent[c], pos), dtype=object), own)
                for c, p in part.deltas.items():
                    keys[c] = add_seconds(
                        parent[p].iloc[pos], pd.to_numeric(frame[c], errors="coerce").to_numpy()
                    )
            else:
                wanted = pd.to_numeric(frame[part.matches[i]], errors="coerce").fillna(-1).to_numpy()
                rng = derive_rng(self.seed, "relational", "match", i, *where)
                known = [key_values(keys[c] if c in keys.columns else frame[c]) for c, _ in exact[i]]
                ppart = self.parts[fk.parent]
                agree = part.agree.get(i, [])
                pos = ppart.clusters.pick(
                    wanted.astype(np.int64),
                    labels[fk.parent],
                    rng,
                    known,
                    [key_values(parent[pc]) for _, pc in exact[i]],
                    [key_values(keys[c] if c in keys.columns else frame[c]) for c in agree],
                    [key_values(parent[c]) for c in agree],
                )
            for c, pc in zip(fk.columns, fk.parent_columns, strict=True):
                keys[c] = take(parent[pc], pos)
        if part.key_column is not None:
            data_pk = [c for c in md.tables[name].primary_key if c != part.key_column]
            both = pd.concat([keys, frame[[c for c in frame.columns if c not in keys.columns]]], axis=1)
            group = both[data_pk] if data_pk else pd.DataFrame(index=keys.index)
            rng = derive_rng(self.seed, "relational", "keys", *where)
            keys[part.key_column] = fresh_keys(part.key_shape, group, data_pk, rng)
        return keys


def _by_rank(part: TablePart, ctx: pd.DataFrame, seed: int, copies: dict[str, np.ndarray]) -> pd.DataFrame:
    """Siblings rank after rank, each given its previous sibling's values. Rows come grouped by
    parent in rank order (``np.repeat`` of the parents), so row ``i``'s previous sibling is ``i - 1``.
    ``copies`` holds each copied column's parent value per row: a row takes it where ``__same`` says
    so, before a later sibling looks back at it."""
    rank = ctx[INDEX].to_numpy()
    group = np.cumsum(rank == 0) - 1  # the parent of each row, numbered in order
    last_own = {c: np.full(int(group.max()) + 1, None, dtype=object) for c in part.again}
    has_own = {c: np.zeros(int(group.max()) + 1, dtype=bool) for c in part.again}
    done: list[pd.DataFrame] = []
    rows: list[np.ndarray] = []
    last_rows, last = np.zeros(0, dtype=np.int64), None
    drawn = 0
    for r in range(int(rank.max()) + 1):
        idx = np.flatnonzero(rank == r)
        batch = ctx.iloc[idx].reset_index(drop=True)
        for c in part.previous:
            if last is None:
                batch[PREV + c] = None
            else:
                at = np.searchsorted(last_rows, idx - 1)
                batch[PREV + c] = last[c].to_numpy()[at]
        pieces = [
            part.synth.sample_given(
                batch.iloc[start : start + CHUNK_ROWS],
                seed=seed,
                chunk=r * _RANK_CHUNKS + k,
                row=drawn + start,
            )
            for k, start in enumerate(range(0, len(batch), CHUNK_ROWS))
        ]
        out = pd.concat(pieces, ignore_index=True)
        for c, parent_values in copies.items():
            same = out[SAME + c].astype(str).eq("True").to_numpy()
            values = out[c].to_numpy(dtype=object).copy()
            values[same] = parent_values[idx][same]
            out[c] = with_dtype(values, out[c].dtype)
        for c in part.again:  # a device used again: the last own value of an earlier synthetic sibling
            g = group[idx]
            values = out[c].to_numpy(dtype=object).copy()
            mine = np.ones(idx.size, bool)
            if c in copies:  # a copied column's own values are those not taken from the parent
                mine = ~out[SAME + c].astype(str).eq("True").to_numpy()
            repeat = out[AGAIN + c].astype(str).eq("True").to_numpy() & mine & has_own[c][g]
            values[repeat] = last_own[c][g[repeat]]
            out[c] = with_dtype(values, out[c].dtype)
            last_own[c][g[mine]] = values[mine]
            has_own[c][g[mine]] = True
        last, last_rows = out, idx
        drawn += len(idx)
        done.append(last)
        rows.append(idx)
    order = np.argsort(np.concatenate(rows), kind="stable")
    return pd.concat(done, ignore_index=True).iloc[order].reset_index(drop=True)


_RANK_CHUNKS = 1 << 20  # chunk keys of one rank: rank × this + the chunk within the rank


def _assemble(part: TablePart, frame: pd.DataFrame, keys: pd.DataFrame) -> pd.DataFrame:
    cols = {}
    for c in part.columns:
        s = keys[c] if c in keys.columns else frame[c]
        cols[c] = s.reset_index(drop=True)
    return pd.DataFrame(cols)


def join_units(frames: list[pd.DataFrame], part: TablePart) -> pd.DataFrame:
    """One table from its renumbered units, in unit order."""
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in part.columns})
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True)
