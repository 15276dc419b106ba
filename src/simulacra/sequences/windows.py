"""One long series → many short sequences (windows), so a sequence model can learn from it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError, UsageError

WINDOW_KEY = "window"


def make_windows(
    data: pd.DataFrame,
    window: int,
    stride: int | None = None,
    order_by: str | None = None,
    key: str = WINDOW_KEY,
) -> pd.DataFrame:
    """Cut one long multivariate series into windows of ``window`` consecutive rows.

    Windows start every ``stride`` rows (default: ``window // 2``, half-overlapping); the last rows
    that do not fill a window are dropped. The result is in long format with a new column ``key``
    (the window number), ready for ``SequenceSynthesizer.fit(..., sequence_key=key)``. Rows are
    taken in ``order_by`` order when it is given, else in the order they come.
    """
    if not isinstance(window, int | np.integer) or isinstance(window, bool) or window < 2:
        raise UsageError(f"the window must be an integer of at least 2 rows, got {window!r}")
    stride = max(1, window // 2) if stride is None else stride
    if not isinstance(stride, int | np.integer) or isinstance(stride, bool) or stride < 1:
        raise UsageError(f"the stride must be a positive integer, got {stride!r}")
    if key in data.columns:
        raise DataError(f"the series already has a column '{key}'; choose another window key")
    df = data
    if order_by is not None:
        if order_by not in df.columns:
            raise DataError(f"order column '{order_by}' is not in the data")
        df = df.sort_values(order_by, kind="stable")
    n = len(df)
    if n < window:
        raise DataError(f"the series has {n} rows, fewer than one window of {window}")
    starts = np.arange(0, n - window + 1, stride)
    idx = (starts[:, None] + np.arange(window)[None, :]).ravel()
    out = df.iloc[idx].reset_index(drop=True)
    out.insert(0, key, np.repeat(np.arange(starts.size), window))
    return out
