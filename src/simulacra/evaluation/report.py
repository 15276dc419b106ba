"""The validation report: :class:`Report` and :func:`evaluate`, which picks the checks for the data kind.

Every score stands beside its reference: the same score computed for the real holdout against the
real train split, i.e. what "as good as fresh real data" looks like for these data. The verdict on top
says pass, warn or fail with reasons a non-statistician can act on, or "not computable" when no check
could run. Tables (with optional sequences) are checked by :mod:`.tabular.report`, texts by
:mod:`.text.report`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError, UsageError
from ..progress import ProgressLike

__all__ = ["MIN_ROWS", "SECTIONS", "Report", "evaluate", "read_frame"]

SECTIONS = ("fidelity", "utility", "privacy")
"""The tabular report's sections, in the order they are shown."""
MIN_ROWS = 20


class Report:
    """The validation report: ``to_dict()``, ``save_json()``, ``save_html()``, and notebook display."""

    def __init__(self, data: dict) -> None:
        self.data = data

    @property
    def verdict(self) -> str:
        """``pass``, ``warn``, ``fail``, or ``n/a`` when no check could be computed."""
        return self.data["verdict"]["status"]

    def to_dict(self) -> dict:
        """Every number of the report as plain JSON-able data."""
        return self.data

    def save_json(self, path: str | os.PathLike) -> Path:
        """Write the report's numbers as JSON (atomically)."""
        from ..io import atomic_path

        p = Path(path)
        with atomic_path(p) as tmp:
            tmp.write_text(json.dumps(self.data, indent=1, ensure_ascii=False))
        return p

    def save_html(self, path: str | os.PathLike) -> Path:
        """Write one self-contained HTML file (opens offline)."""
        from ..io import atomic_path
        from .html import render_html

        p = Path(path)
        html = render_html(self.data)
        with atomic_path(p) as tmp:
            tmp.write_text(html, encoding="utf-8")
        return p

    def _repr_html_(self) -> str:
        from .html import render_fragment

        return render_fragment(self.data)

    def __repr__(self) -> str:
        return f"<simulacra Report verdict={self.verdict}: {'; '.join(self.data['verdict']['reasons'])}>"


def read_frame(data: Any, role: str, min_rows: int = MIN_ROWS) -> pd.DataFrame:
    """``data`` (a frame or a file path) as a pandas frame with string column names and enough rows."""
    from ..io import to_pandas  # not through simulacra.tabular: the synthesizers need not load to judge

    if data is None:
        raise UsageError(f"the {role} data is required")
    df = to_pandas(data)
    df.columns = [str(c) for c in df.columns]
    if len(df) < min_rows:
        raise DataError(f"the {role} data has {len(df)} rows; the report needs at least {min_rows}")
    return df


def _is_images(data: Any) -> bool:
    from .images import is_images

    return is_images(data)


def evaluate(
    *,
    synthetic: Any,
    train: Any,
    holdout: Any,
    target: str | None = None,
    sections: tuple[str, ...] | list[str] = SECTIONS,
    seed: int = 0,
    max_rows: int = 10_000,
    pii_columns: list[str] | None = None,
    sources: dict[str, str] | None = None,
    progress: ProgressLike = None,
    sequence_key: str | None = None,
    order_by: str | None = None,
    context: list[str] | None = None,
    text_field: str | None = None,
    embeddings: Any = True,
    metadata: Any = None,
    attacks: int = 2000,
    max_table_rows: int | None = None,
    table_rows: dict[str, int] | None = None,
) -> Report:
    """Compare ``synthetic`` with the real ``train`` split it was made from, on the real ``holdout``.

    With ``text_field`` the data are texts (one per row, in that field; ``target`` is the label):
    the text report runs instead (:func:`simulacra.evaluation.text.report.evaluate_text`: diversity,
    realism, utility, leakage; ``embeddings=False`` skips sentence embeddings).

    With ``sequence_key`` the tables are read as sequences in long format (``order_by`` orders each
    entity's events, ``context`` names per-entity columns): a ``sequences`` section is added and the
    row-level sections leave the key column out.

    Frames or file paths are accepted. ``target`` enables the utility section. ``sections`` picks
    among fidelity, utility and privacy. ``max_rows`` caps the rows used by distance and classifier
    checks. ``attacks`` is the number of singling-out, linkability and inference attacks of the
    privacy section (each; 0 leaves them out). ``max_table_rows`` caps each table of a table report at
    that many rows, a seeded sample stated at the top of the report (default 100,000; 0: every row);
    ``table_rows`` gives the full counts when the tables were sampled while read. The same inputs and
    seed give the same report.

    With ``metadata`` (a :class:`simulacra.relational.Metadata` or its YAML path) the three arguments
    are databases, dicts of table name to table: the database report runs instead
    (:func:`simulacra.evaluation.relational.evaluate_database`).
    """
    if not isinstance(synthetic, pd.DataFrame) and _is_images(synthetic):  # folders or ImageSets
        from .images import evaluate_images

        return evaluate_images(synthetic=synthetic, train=train, holdout=holdout, sections=sections,
                               seed=seed, sources=sources, progress=progress)
    if metadata is not None or isinstance(synthetic, dict):
        if metadata is None:
            raise UsageError("a database (a dict of tables) needs metadata= to say how its tables are keyed")
        if target is not None or sequence_key is not None or text_field is not None:
            raise UsageError("a database report takes no target, sequence key or text field")
        from .relational import evaluate_database

        return evaluate_database(synthetic=synthetic, train=train, holdout=holdout, metadata=metadata,
                                 seed=seed, max_rows=max_rows, progress=progress, sources=sources)
    if text_field is not None:
        if sequence_key is not None:
            raise UsageError("--text-field and --sequence-key cannot be combined; check texts or sequences")
        from .text.report import evaluate_text

        return evaluate_text(synthetic=synthetic, train=train, holdout=holdout, text_field=text_field,
                             target=target, sections=sections, seed=seed, max_rows=max_rows,
                             embeddings=embeddings, sources=sources, progress=progress)
    from .tabular.report import evaluate_table

    return evaluate_table(synthetic=synthetic, train=train, holdout=holdout, target=target, sections=sections,
                          seed=seed, max_rows=max_rows, pii_columns=pii_columns, sources=sources,
                          progress=progress, sequence_key=sequence_key, order_by=order_by, context=context,
                          attacks=attacks, max_table_rows=max_table_rows, table_rows=table_rows)
