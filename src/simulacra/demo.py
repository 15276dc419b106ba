"""The demo: the main job end to end on bundled real data, offline (``simulacra demo`` prints it).

Fits the default synthesizer on UCI Adult's train split, samples as many rows, and checks them
against the real test split held out from training with the full validation report (fidelity,
train-synthetic/test-real utility, privacy), each score beside the same score for the real holdout.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .datasets import ADULT_TARGET, load_adult
from .errors import UsageError
from .io import write_table
from .progress import ProgressLike, as_progress
from .tabular import TabularSynthesizer


@dataclass
class DemoResult:
    """What the demo made: the report, where its files are, and how long each step took."""

    report: Any
    out_dir: Path
    train_rows: int
    holdout_rows: int
    synthetic_rows: int
    fit_seconds: float
    sample_seconds: float

    @property
    def metrics(self) -> dict:
        """Every number of the report (what ``metrics.json`` holds)."""
        return self.report.to_dict()


def run_demo(out_dir: str | Path, seed: int = 0, progress: ProgressLike = None) -> DemoResult:
    """Run the demo, write its outputs under ``out_dir`` (model, synthetic.csv, report) and return them."""
    from .evaluation import evaluate

    step = as_progress(progress)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir}: exists and is not a folder; choose another --out")
    out_dir.mkdir(parents=True, exist_ok=True)
    train, holdout = load_adult("train"), load_adult("test")
    t0 = time.perf_counter()
    synth = TabularSynthesizer(seed=seed)
    step.start(None, "learning")
    synth.fit(train, progress=step)
    fit_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    step.start(len(train), "sampling")
    syn = synth.sample(len(train), seed=seed, progress=step)
    sample_s = time.perf_counter() - t1
    synth.save(out_dir / "model")
    write_table(syn, out_dir / "synthetic.csv")

    step.start(None, "checking against the real holdout")
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
        progress=step,
    )
    report.save_html(out_dir / "report.html")
    report.save_json(out_dir / "metrics.json")
    return DemoResult(report, out_dir, len(train), len(holdout), len(syn), fit_s, sample_s)
