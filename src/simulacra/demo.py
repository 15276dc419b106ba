"""``simulacra demo``: the main job end to end on bundled real data, offline.

Fits the default synthesizer on UCI Adult's train split, samples as many rows, and checks them
against the real test split held out from training with the full validation report (fidelity,
train-synthetic/test-real utility, privacy), each score beside the same score for the real holdout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from .datasets import ADULT_TARGET, load_adult
from .errors import UsageError
from .io import write_table
from .tabular import TabularSynthesizer


def run_demo(
    out_dir: Path,
    seed: int = 0,
    quiet: bool = False,
    console: Console | None = None,
    progress: Callable | None = None,
) -> dict:
    """Run the demo, write its outputs under ``out_dir`` and return the measured numbers."""
    from .evaluate.report import evaluate

    console = console or Console()
    say = (lambda *_a, **_k: None) if quiet else console.print
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir}: exists and is not a folder; choose another --out")
    out_dir.mkdir(parents=True, exist_ok=True)
    train, holdout = load_adult("train"), load_adult("test")
    say(
        f"UCI Adult census data: {len(train):,} training rows, {len(holdout):,} held out (never shown to "
        "the model)"
    )
    t0 = time.perf_counter()
    synth = TabularSynthesizer(seed=seed)
    with progress(None, "learning") if progress else _null() as step:
        synth.fit(train, progress=lambda _m: step())
    fit_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    with progress(len(train), "sampling") if progress else _null() as step:
        syn = synth.sample(len(train), seed=seed, progress=step)
    sample_s = time.perf_counter() - t1
    synth.save(out_dir / "model")
    write_table(syn, out_dir / "synthetic.csv")

    say("checking the synthetic rows against the real holdout ...")
    report = evaluate(
        synthetic=syn,
        train=train,
        holdout=holdout,
        target=ADULT_TARGET,
        seed=seed,
        sources={
            "synthetic": "synthetic.csv",
            "train": "UCI Adult train split (bundled)",
            "holdout": "UCI Adult test split (bundled)",
        },
    )
    report.save_html(out_dir / "report.html")
    report.save_json(out_dir / "metrics.json")
    metrics = report.to_dict()
    if not quiet:
        from .cli.main import _print_report

        _print_report(report)
    say(f"fit {fit_s:.1f}s, sampled {len(syn):,} rows in {sample_s:.2f}s")
    say(
        f"look at: {out_dir}/report.html (the verdict, open it in a browser), {out_dir}/synthetic.csv (the "
        f"data), {out_dir}/metrics.json (every number), {out_dir}/model/ (more rows: simulacra sample "
        f"{out_dir}/model -n 1000 --out more.csv)"
    )
    return metrics


class _null:
    def __enter__(self):  # noqa: ANN204
        return lambda *_: None

    def __exit__(self, *_):  # noqa: ANN002, ANN204
        return False
