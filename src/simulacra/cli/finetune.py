"""``simulacra finetune``: fine-tune a small student on the synthetic set and score it on real held-out data.

simulacra finetune SYNTHETIC --task classify --holdout REAL --out FOLDER [--seeds REAL_FEW] [--base PATH]
    [--teacher embedded|URL]
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import UsageError
from .render import out, progress_bar


def finetune_cmd(
    synthetic: Annotated[
        str, typer.Argument(help="The synthetic set to fine-tune on (table or chat JSONL).")
    ],
    holdout: Annotated[str, typer.Option("--holdout", help="Real held-out examples every arm is scored on.")],
    output: Annotated[
        Path, typer.Option("--out", "-o", help="Output folder: adapters, student.json, .html.")
    ],
    task: Annotated[str, typer.Option("--task", help="classify (answer with a label) or chat.")] = "classify",
    seeds: Annotated[
        str | None, typer.Option("--seeds", help="Real seed examples: adds the seeds and both arms.")
    ] = None,
    text_field: Annotated[
        str | None, typer.Option("--text-field", help="classify: field holding the text (default text).")
    ] = None,
    target: Annotated[
        str | None, typer.Option("--target", help="classify: field holding the label (default label).")
    ] = None,
    base: Annotated[
        Path | None,
        typer.Option("--base", help="A Hugging Face causal LM folder (default: the bundled SmolLM2-135M)."),
    ] = None,
    max_minutes: Annotated[
        float, typer.Option("--max-minutes", help="Time cap on each arm's training, in minutes.")
    ] = 15.0,
    epochs: Annotated[int, typer.Option("--epochs", help="Passes over each arm's training set.")] = 3,
    lr: Annotated[float, typer.Option("--lr", help="Learning rate of the LoRA adapter.")] = 5e-4,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Examples per training step.")] = 4,
    max_seq_len: Annotated[
        int, typer.Option("--max-seq-len", help="Tokens kept per example (the prompt is cut first).")
    ] = 256,
    threads: Annotated[
        int, typer.Option("--threads", help="CPU threads (1 is fastest beside another busy process).")
    ] = 1,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the adapters, the order and the intervals.")
    ] = 0,
    show: Annotated[
        int, typer.Option("--show", help="Held-out prompts answered by each arm side by side.")
    ] = 3,
    merge: Annotated[
        str | None,
        typer.Option("--merge", help="Also write this arm's adapter merged into the weights (merged/)."),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an --out folder that holds something.")
    ] = False,
    teacher: Annotated[
        str | None,
        typer.Option(
            "--teacher",
            help="classify: the generating model, embedded or an OpenAI-compatible server URL; it answers "
            "the holdout too and each arm's errors are compared with its errors.",
        ),
    ] = None,
    teacher_model: Annotated[
        str | None,
        typer.Option("--teacher-model", help="The teacher's model: a GGUF path (embedded) or a model name."),
    ] = None,
    teacher_api: Annotated[
        str | None, typer.Option("--teacher-api", help="Server teacher: chat (default) or completions.")
    ] = None,
    teacher_structured: Annotated[
        str | None,
        typer.Option(
            "--teacher-structured",
            help="How the label set is enforced, as `simulacra text --structured` (server: json_schema, "
            "json_object, grammar, none; embedded: grammar, none).",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")] = False,
) -> None:
    """Fine-tune a small student (LoRA) on the synthetic set, the real seeds and both; score every arm and
    the untouched base model on the real holdout."""
    from ..finetune.run import finetune

    if task == "chat":
        for flag, value in (("--text-field", text_field), ("--target", target)):
            if value is not None:
                raise UsageError(f"{flag} applies to --task classify; chat files hold 'messages' or 'turns'")
    with progress_bar(quiet, None, "finetune") as progress:
        result = finetune(
            synthetic,
            holdout=holdout,
            task=task,
            seeds=seeds,
            out=output,
            text_field=text_field or "text",
            target=target or "label",
            base=base,
            max_minutes=max_minutes,
            epochs=epochs,
            lr=lr,
            batch_size=batch_size,
            max_seq_len=max_seq_len,
            threads=threads,
            seed=seed,
            show=show,
            merge=merge,
            overwrite=overwrite,
            teacher=teacher,
            teacher_model=teacher_model,
            teacher_api=teacher_api,
            teacher_structured=teacher_structured,
            progress=progress,
        )
    if quiet:
        return
    data = result.data
    out.print(data["verdict"]["text"], markup=False, soft_wrap=True)
    metrics = ["accuracy", "macro_f1"] if data["task"] == "classify" else ["loss", "perplexity"]
    for arm, entry in data["arms"].items():
        parts = []
        for m in metrics:
            s = entry["scores"][m]
            parts.append(f"{m} {s['value']:.3f} [{s['interval'][0]:.3f}, {s['interval'][1]:.3f}]")
        out.print(f"  {arm:<10} " + "  ".join(parts), markup=False)
    if "teacher" in data:
        out.print(data["teacher"]["text"], markup=False, soft_wrap=True)
    merged = f", merged/ ({merge})" if merge else ""
    out.print(f"wrote {output}/ (adapters/{merged}, student.json, student.html)", markup=False)
