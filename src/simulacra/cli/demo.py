"""``simulacra demo``: the main job end to end on bundled real data (see :mod:`simulacra.demo`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .options import Quiet, Seed
from .render import out, print_report, progress_bar


def demo(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the demo's outputs.")] = Path(
        "simulacra-demo"
    ),
    seed: Seed = 0,
    quiet: Quiet = False,
) -> None:
    """Learn from the bundled UCI Adult census data and check the synthetic copy against a real holdout."""
    from ..demo import run_demo

    if not quiet:
        out.print(
            "UCI Adult census data: the model learns from the train split and is checked against the "
            "test split, which it never sees"
        )
    with progress_bar(quiet, None, "demo") as progress:
        result = run_demo(out_dir, seed=seed, progress=progress)
    if quiet:
        return
    print_report(result.report)
    out_dir = result.out_dir
    out.print(
        f"learned {result.train_rows:,} rows in {result.fit_seconds:.1f}s, sampled {result.synthetic_rows:,} "
        f"in {result.sample_seconds:.2f}s, checked against {result.holdout_rows:,} held-out rows"
    )
    out.print(
        f"look at: {out_dir}/report.html (the verdict, open it in a browser), {out_dir}/synthetic.csv (the "
        f"data), {out_dir}/metrics.json (every number), {out_dir}/model/ (more rows: simulacra sample "
        f"{out_dir}/model -n 1000 --out more.csv)"
    )
