"""Real data sets shipped with simulacra, for the demo, the tests and the benchmarks.

UCI Adult (census income) — Becker, B. & Kohavi, R. (1996). Adult [Dataset]. UCI Machine
Learning Repository. https://doi.org/10.24432/C5XW20. Licence: CC BY 4.0. See ``ADULT.md``.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

ADULT_TARGET = "income"


def load_adult(split: str = "train") -> pd.DataFrame:
    """Load UCI Adult: ``split='train'`` (32,561 rows) or ``'test'`` (16,281 rows), 15 columns.

    Missing values (``?`` in the original files) are NaN; the label ``income`` is ``<=50K`` / ``>50K``.
    """
    if split not in ("train", "test"):
        raise ValueError("split must be 'train' or 'test'")
    with resources.files(__name__).joinpath(f"adult_{split}.csv.gz").open("rb") as fh:
        return pd.read_csv(fh, compression="gzip")
