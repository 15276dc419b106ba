"""No option of the ``simulacra`` command is accepted and then ignored.

``EFFECTS`` says, for every option of every command the CLI declares (read from the click app, so a
new option without an entry fails ``test_every_option_has_an_expected_effect``), how it shows:

- :class:`Changes`: the command with the option makes something observably different (the files it
  writes, what it prints, its exit code) from the same command without it;
- :class:`Refused`: in a combination where it could have no effect, the command stops with one line
  naming the option and exit code 2 (and writes nothing);
- :class:`Required`: the command refuses to run without it;
- :class:`CheckedIn`: the effect needs a server, Ray or a long fit; the named test checks it (its
  existence is checked here, so a renamed test breaks the table).

The commands run in this process (``simulacra.cli.main.main``) on small real data: UCI Adult rows,
Japanese vowels utterances, the bundled rules packs and the reviews task spec.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from simulacra.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
REVIEWS = ROOT / "examples" / "reviews.yaml"


@dataclass
class Run:
    """What one command did: exit code (or the exception it raised), what it printed, what it wrote."""

    rc: int | str
    out: str
    err: str
    files: dict[str, str]
    folder: Path

    def file(self, name: str) -> Path:
        return self.folder / name

    def json(self, name: str) -> Any:
        return json.loads(self.file(name).read_text())


def invoke(folder: Path, args: list[str]) -> Run:
    """Run ``simulacra ARGS`` in ``folder`` in this process and record everything it did there."""
    folder.mkdir(parents=True, exist_ok=True)
    before = {p for p in folder.rglob("*")}
    stdout, stderr = io.StringIO(), io.StringIO()
    rc: int | str = 0
    with contextlib.chdir(folder), contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Exception as exc:  # noqa: BLE001 - --debug lets exceptions through: that is its effect
            rc = f"raised {type(exc).__name__}"
    files = {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p not in before
    }
    return Run(rc, stdout.getvalue(), stderr.getvalue(), files, folder)


def everything(run: Run) -> Any:
    return (run.rc, run.out, run.files)


@dataclass
class Changes:
    """``base + option`` differs from ``base`` in ``look`` (default: exit code, stdout and files)."""

    base: list[str]
    option: list[str]
    look: Callable[[Run], Any] = everything
    rc: int | str = 0  # the exit code with the option
    base_rc: int = 0  # the exit code without it
    first: bool = False  # the option goes before the command (an option of `simulacra` itself)

    def check(self, data: Data, where: Path) -> None:
        args = [data.expand(a) for a in self.base]
        extra = [data.expand(a) for a in self.option]
        without = invoke(where / "without", args)
        with_ = invoke(where / "with", extra + args if self.first else args + extra)
        assert without.rc == self.base_rc, f"{args}: {without.err}"
        assert with_.rc == self.rc, f"{args + extra}: rc {with_.rc} {with_.err}"
        assert self.look(without) != self.look(with_), f"{extra} changed nothing observable in {args}"


@dataclass
class Refused:
    """The command stops with one line naming ``names`` and exit 2, and writes nothing."""

    args: list[str]
    names: tuple[str, ...] = ()

    def check(self, data: Data, where: Path) -> None:
        run = invoke(where, [data.expand(a) for a in self.args])
        lines = run.err.strip().splitlines()
        assert run.rc == 2, f"{self.args}: rc {run.rc}, stderr {run.err!r}"
        assert len(lines) == 1 and lines[0].startswith("error:"), run.err
        for name in self.names:
            assert name in lines[0], f"{name!r} not named in {lines[0]!r}"
        assert run.files == {}, f"{self.args} wrote {sorted(run.files)}"


@dataclass
class Required:
    """Without the option the command stops with one line naming it, exit 2."""

    args: list[str]
    name: str

    def check(self, data: Data, where: Path) -> None:
        Refused(self.args, (self.name,)).check(data, where)


@dataclass
class CheckedIn:
    """The option's effect is checked by ``test`` (``file.py::name``)."""

    test: str
    why: str

    def check(self, data: Data, where: Path) -> None:
        path, name = self.test.split("::")
        source = (Path(__file__).parent / path).read_text()
        assert f"def {name}(" in source, f"{self.test} does not exist: the table points nowhere"


@dataclass
class Data:
    """The small real inputs every check may name as ``{adult}``, ``{model}``, ``{seq}`` and so on."""

    paths: dict[str, Path] = field(default_factory=dict)

    def expand(self, arg: str) -> str:
        for key, path in self.paths.items():
            arg = arg.replace("{" + key + "}", str(path))
        return arg


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory, adult_csv: Path, fitted_model: Any) -> Data:
    from sktime.datasets import load_japanese_vowels

    from simulacra.datasets import load_adult

    base = tmp_path_factory.mktemp("inputs")
    adult = pd.read_csv(adult_csv)
    adult.head(400).to_csv(base / "train.csv", index=False)
    load_adult("test").head(200).to_csv(base / "holdout.csv", index=False)
    adult.iloc[1000:1200].to_csv(base / "synthetic.csv", index=False)
    (base / "kinds.yaml").write_text("columns:\n  education-num:\n    kind: categorical\n")
    x, y = load_japanese_vowels(return_type="pd-multiindex")
    df = x.reset_index()
    df.columns = ["utterance", "frame", *[f"c{i}" for i in range(df.shape[1] - 2)]]
    df.insert(1, "speaker", np.asarray(y)[df["utterance"].to_numpy()].astype(str))
    seq = df[df["utterance"] < 40][["utterance", "speaker", "frame", "c0", "c1", "c2"]]
    seq.sample(frac=1, random_state=0).to_csv(base / "seq.csv", index=False)  # shuffled: --order-by matters
    run = invoke(base, ["fit", "seq.csv", "--sequence-key", "utterance", "--order-by", "frame", "--context",
                        "speaker", "--out", "seqmodel", "--quiet"])
    assert run.rc == 0, run.err
    records = [
        {"sentiment": s, "title": f"Stay {i}", "review": f"The room was {w}.",
         "_meta": {"index": i, "generated": ["title", "review"]}}
        for i, (s, w) in enumerate([("positive", "lovely"), ("negative", "dirty"), ("positive", "quiet")])
    ]
    (base / "texts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (base / "prices.yaml").write_text("gpt-4o-mini: {input: 0.15, output: 0.6}\n")
    paths = {name: base / name for name in ("train.csv", "holdout.csv", "synthetic.csv", "kinds.yaml",
                                            "seq.csv", "seqmodel", "texts.jsonl", "prices.yaml")}
    paths = {name.split(".")[0]: path for name, path in paths.items()}
    return Data({**paths, "adult": adult_csv, "model": fitted_model.path, "reviews": REVIEWS})


def model_json(name: str) -> Callable[[Run], Any]:
    return lambda run: run.json(f"{name}/model.json")


def csv_rows(name: str) -> Callable[[Run], Any]:
    return lambda run: run.file(name).read_bytes()


FIT = ["fit", "{train}", "--out", "m", "--quiet"]
FIT_SEQ = ["fit", "{seq}", "--out", "m", "--quiet", "--sequence-key", "utterance"]
SAMPLE = ["sample", "{model}", "-n", "50", "--out", "s.csv", "--quiet"]
SAMPLE_SEQ = ["sample", "{seqmodel}", "-n", "5", "--out", "s.csv", "--quiet"]
RULES = ["rules", "shop", "-n", "200", "--out", "o", "--format", "csv", "--quiet"]
SPLIT = ["split", "{train}", "--train", "a.csv", "--holdout", "b.csv", "--quiet"]
REL = "test_relational_cli.py::"
EVAL = ["evaluate", "--synthetic", "{synthetic}", "--train", "{train}", "--holdout", "{holdout}",
        "--sections", "privacy", "--json", "r.json", "--quiet"]
TEXT = ["text", "{reviews}", "--dry-run", "--backend", "openai"]
EXPORT = ["text", "export", "{texts}", "--format", "jsonl", "--out", "e.jsonl", "--quiet"]
CHAT = ["text", "export", "{texts}", "--format", "openai-chat", "--out", "e.jsonl", "--quiet"]
DEEP = "test_deep_models.py::test_cli_fits_a_private_time_capped_model_and_samples"
SCALE_SAMPLE = "test_scale.py::test_sample_on_processes_and_ray_is_the_stream_written_by_one_process"
REL_UNITS = "test_relational_units.py::test_the_same_database_on_one_process_local_processes_and_ray"
SCALE_RULES = "test_scale.py::test_rules_on_two_local_processes_give_the_same_bytes"
TEXT_SERVER = "needs an LLM server"
SEQ_EVAL = "test_sequences.py::test_cli_evaluate_adds_the_sequence_section"
RT = str(ROOT / "src" / "simulacra" / "text" / "data" / "rt_snippets.csv")  # real snippets, text + label
FT = ["finetune", RT, "--holdout", RT, "--out", "s", "--quiet"]
FT_CLI = "test_finetune.py::test_cli_classify_writes_adapter_scores_and_report"
FT_CHAT = "test_finetune.py::test_chat_student_loss_drops_on_its_own_training_turns"
FT_ARMS = "test_finetune.py::test_four_arms_from_python"
FT_CAP = "test_finetune.py::test_time_cap_shorter_than_one_step_is_refused"
FT_SEED = "test_finetune.py::test_same_seed_same_adapter_bytes"
FT_TEACHER = "test_finetune.py::test_embedded_teacher_answers_the_holdout_and_each_arm_is_compared"
FT_SERVER = "test_finetune.py::test_a_teacher_server_answers_as_the_embedded_model_does"

EFFECTS: dict[str, list[Any]] = {
    "simulacra --debug": [Changes(["fit", "nothere.csv", "--out", "m"], ["--debug"], rc="raised DataError",
                                  base_rc=2, first=True)],
    # fit
    "fit --out": [Required(["fit", "{train}"], "--out")],
    "fit --schema": [Changes(FIT, ["--schema", "{kinds}"], model_json("m"))],
    "fit --kind": [Changes(FIT, ["--kind", "education-num=categorical"], model_json("m"))],
    "fit --model": [Changes(FIT, ["--model", "copula"], model_json("m")),
                    Refused([*FIT_SEQ, "--model", "copula"], ("--model", "--sequence-key"))],
    "fit --max-minutes": [Refused([*FIT, "--max-minutes", "1"], ("--max-minutes",)),
                          Refused([*FIT_SEQ, "--max-minutes", "1"], ("--max-minutes",)),
                          CheckedIn(DEEP, "a deep model's fit is minutes")],
    "fit --epsilon": [Refused([*FIT, "--epsilon", "1"], ("--epsilon",)), CheckedIn(DEEP, "DP training")],
    "fit --delta": [Refused([*FIT, "--model", "autoregressive", "--delta", "1e-5"], ("--delta", "--epsilon")),
                    CheckedIn(DEEP, "DP training")],
    "fit --sequence-key": [Changes(["fit", "{seq}", "--out", "m", "--quiet"], ["--sequence-key", "utterance"],
                                   model_json("m"))],
    "fit --order-by": [Changes(FIT_SEQ, ["--order-by", "frame"], model_json("m")),
                       Refused([*FIT, "--order-by", "age"], ("--order-by", "--sequence-key"))],
    "fit --context": [Changes(FIT_SEQ, ["--context", "speaker"], model_json("m")),
                      Refused([*FIT, "--context", "sex"], ("--context", "--sequence-key"))],
    "fit --metadata": [Refused([*FIT, "--metadata", "{kinds}"], ("--metadata",)),
                       CheckedIn(REL + "test_schema_reads_the_keys_declared_in_the_database", "a database")],
    "fit --tables": [Refused([*FIT, "--tables", "a"], ("--tables",)),
                     CheckedIn(REL + "test_bad_database_requests_are_one_line", "a database fit")],
    "fit --orphans": [Refused([*FIT, "--orphans", "drop"], ("--orphans",)),
                      CheckedIn("test_relational.py::test_orphans_are_refused_or_dropped", "a database fit")],
    "fit --image-size": [Refused([*FIT, "--image-size", "16"], ("--image-size",)),
                         CheckedIn("test_images.py::test_cli_image_size_resizes_and_is_refused_for_tables",
                                   "an image folder")],
    "fit --seed": [Changes(FIT, ["--seed", "5"], lambda r: r.file("m/arrays.npz").read_bytes())],
    "fit --quiet": [Changes(["fit", "{train}", "--out", "m"], ["--quiet"], lambda r: r.out)],
    # sample
    "sample --rows": [Changes(SAMPLE, ["-n", "60"], csv_rows("s.csv"))],
    "sample --out": [Required(["sample", "{model}", "-n", "5"], "--out")],
    "sample --where": [Changes(SAMPLE, ["--where", "sex=Female"], csv_rows("s.csv")),
                       Changes(SAMPLE_SEQ, ["--where", "speaker=1"], csv_rows("s.csv"))],
    "sample --rebalance": [Changes(SAMPLE, ["--rebalance", "income"], csv_rows("s.csv")),
                           Refused([*SAMPLE_SEQ, "--rebalance", "speaker"], ("--rebalance",))],
    "sample --seed": [Changes(SAMPLE, ["--seed", "3"], csv_rows("s.csv")),
                      Changes(SAMPLE_SEQ, ["--seed", "3"], csv_rows("s.csv"))],
    "sample --engine": [Refused([*SAMPLE, "--engine", "spark"], ("--engine", "ray")),
                        Refused([*SAMPLE_SEQ, "--engine", "ray"], ("--engine",)),
                        CheckedIn(SCALE_SAMPLE, "same bytes on Ray as in one process"),
                        CheckedIn(REL_UNITS, "a database model: the same database on Ray")],
    "sample --workers": [Refused([*SAMPLE, "--workers", "0"], ("--workers",)),
                         Refused([*SAMPLE_SEQ, "--workers", "2"], ("--workers",)),
                         CheckedIn(SCALE_SAMPLE, "same bytes on processes as in one process"),
                         CheckedIn(REL_UNITS, "a database model: the same database on processes")],
    "sample --scale": [Refused([*SAMPLE, "--scale", "2"], ("--scale",)),
                       CheckedIn(REL + "test_scale_two_doubles_the_roots", "a database model")],
    "sample --quiet": [Changes(SAMPLE[:-1], ["--quiet"], lambda r: r.out)],
    # schema
    "schema --out": [Changes(["schema", "{train}"], ["--out", "s.yaml"], lambda r: sorted(r.files))],
    "schema --kind": [Changes(["schema", "{train}"], ["--kind", "age=float"], lambda r: r.out)],
    # split
    "split --train": [Required(["split", "{train}", "--holdout", "b.csv"], "--train")],
    "split --holdout": [Required(["split", "{train}", "--train", "a.csv"], "--holdout")],
    "split --share": [Changes(SPLIT, ["--share", "0.5"], lambda r: r.files),
                      Refused([*SPLIT, "--share", "1"], ("--share",))],
    "split --metadata": [Refused([*SPLIT, "--metadata", "{kinds}"], ("--metadata",)),
                         CheckedIn(REL + "test_split_keeps_every_player_on_one_side", "a database split")],
    "split --tables": [Refused([*SPLIT, "--tables", "a"], ("--tables",)),
                       CheckedIn(REL + "test_split_keeps_every_player_on_one_side", "a database split")],
    "split --seed": [Changes(SPLIT, ["--seed", "3"], lambda r: r.files)],
    "split --quiet": [Changes(SPLIT[:-1], ["--quiet"], lambda r: r.out)],
    # rules
    "rules --rows": [Changes(RULES, ["-n", "300"], lambda r: r.files)],
    "rules --out": [Required(["rules", "shop", "-n", "10"], "--out")],
    "rules --seed": [Changes(RULES, ["--seed", "4"], lambda r: r.files)],
    "rules --chunks": [Refused([*RULES, "--chunks", "2"], ("--chunks", "csv")),
                       CheckedIn("test_rules.py::test_files_hold_the_same_values_whatever_the_chunk_grouping",
                                 "part files appear only past a million rows a chunk")],
    "rules --format": [Changes(RULES, ["--format", "jsonl"], lambda r: sorted(r.files))],
    "rules --set": [Changes(RULES, ["--set", "customers.columns.age.mean=70"], lambda r: r.files)],
    "rules --engine": [Refused([*RULES, "--engine", "spark"], ("--engine",)),
                       CheckedIn("test_scale.py::test_rules_and_fhir_on_ray_give_the_same_bytes", "Ray")],
    "rules --workers": [Refused([*RULES, "--workers", "0"], ("--workers",)),
                        CheckedIn(SCALE_RULES, "same bytes on two processes")],
    "rules --quiet": [Changes(RULES[:-1], ["--quiet"], lambda r: r.out)],
    # evaluate
    "evaluate --synthetic": [Required(["evaluate", *EVAL[3:7]], "--synthetic")],
    "evaluate --train": [Required(["evaluate", *EVAL[1:3], *EVAL[5:7]], "--train")],
    "evaluate --holdout": [Required(EVAL[:5], "--holdout")],
    "evaluate --target": [Changes(EVAL, ["--target", "income"], lambda r: r.json("r.json")["inputs"])],
    "evaluate --out": [Changes(EVAL, ["--out", "r.html"], lambda r: sorted(r.files))],
    "evaluate --json": [Changes(EVAL[:-3] + ["--quiet"], ["--json", "r.json"], lambda r: sorted(r.files))],
    "evaluate --sections": [Refused([*EVAL, "--sections", "beauty"], ("--sections", "beauty")),
                            CheckedIn("test_report.py::test_perturbed_copy_fails_on_privacy_although_fidelity_is_high",
                                      "the other sections take a minute on 2 cores")],
    "evaluate --strict": [Changes([*EVAL[:2], "{train}", *EVAL[3:]], ["--strict"], lambda r: r.rc, rc=1)],
    "evaluate --sequence-key": [CheckedIn("test_sequences.py::test_cli_evaluate_adds_the_sequence_section",
                                          "sequence data")],
    "evaluate --order-by": [Refused([*EVAL, "--order-by", "age"], ("--order-by", "--sequence-key")),
                            CheckedIn(SEQ_EVAL, "sequence data")],
    "evaluate --context": [Refused([*EVAL, "--context", "sex"], ("--context", "--sequence-key")),
                           CheckedIn(SEQ_EVAL, "sequence data")],
    "evaluate --text-field": [CheckedIn("test_text_eval.py::test_cli_writes_text_report", "text report")],
    "evaluate --no-embeddings": [Refused([*EVAL, "--no-embeddings"], ("--no-embeddings", "--text-field")),
                                 CheckedIn("test_text_eval.py::test_cli_runs_without_the_embedding_package",
                                           "text report")],
    "evaluate --metadata": [Refused([*EVAL, "--metadata", "{kinds}"], ("--metadata",)),
                            CheckedIn(REL + "test_report_has_the_relational_scores_beside_the_holdout",
                                      "databases")],
    "evaluate --attacks": [
        Changes(EVAL, ["--attacks", "0"], lambda r: [s["key"] for s in r.json("r.json")["sections"]["privacy"]
                                                     ["scores"]]),
        Refused([*EVAL, "--attacks", "-5"], ("--attacks",)),
        Refused([*EVAL[:7], "--sections", "fidelity", "--attacks", "100"], ("--attacks",)),
    ],
    "evaluate --max-rows": [
        Changes(EVAL, ["--max-rows", "300"], lambda r: [r.json("r.json")["sampling"]["rows_used"],
                                                        r.json("r.json")["sections"]]),
        Refused([*EVAL, "--max-rows", "-1"], ("--max-rows",)),
    ],
    "evaluate --seed": [Changes(EVAL, ["--seed", "1"], lambda r: r.json("r.json")["sections"])],
    "evaluate --student": [Refused([*EVAL, "--student", "nothere"], ("--student", "nothere")),
                           CheckedIn("test_finetune.py::test_evaluate_adds_the_student_section", "")],
    "evaluate --quiet": [Changes(EVAL[:-1], ["--quiet"], lambda r: r.out)],
    # demo (a full fit and report on 32,561 rows: run once, by test_cli)
    "demo --out": [CheckedIn("test_cli.py::test_demo", "the demo takes a minute")],
    "demo --seed": [CheckedIn("test_cli.py::test_demo_seed_changes_the_sample", "the demo takes a minute")],
    "demo --quiet": [CheckedIn("test_cli.py::test_demo", "the demo takes a minute")],
    # text run (dry runs here; real runs against local servers in test_text.py)
    "text run --examples": [Changes(TEXT, ["-n", "7"], lambda r: r.out)],
    "text run --out": [Changes(TEXT, ["--out", "x.jsonl"], lambda r: r.out),
                       Required(["text", "{reviews}", "--backend", "openai"], "--out")],
    "text run --backend": [Changes(TEXT, ["--backend", "anthropic"], lambda r: r.out),
                           Refused([*TEXT, "--backend", "gemini"], ("--backend", "gemini"))],
    "text run --model": [Changes(TEXT, ["--model", "gpt-4o-mini", "--prices", "{prices}"], lambda r: r.out)],
    "text run --base-url": [Refused(["text", "{reviews}", "-n", "1", "--out", "x.jsonl", "--base-url",
                                     "http://127.0.0.1:9"], ("--base-url",)),
                            CheckedIn("test_text.py::test_kill_9_then_resume_loses_and_duplicates_nothing",
                                      TEXT_SERVER)],
    "text run --api": [Refused(["text", "{reviews}", "--dry-run", "--api", "completions"], ("--api",)),
                       CheckedIn("test_text.py::test_anthropic_cli_options_work_or_stop_with_one_line",
                                 TEXT_SERVER)],
    "text run --structured": [
        Refused(["text", "{reviews}", "-n", "1", "--out", "x.jsonl", "--structured", "json_schema"],
                ("--structured",)),
        CheckedIn("test_text.py::test_anthropic_cli_options_work_or_stop_with_one_line", TEXT_SERVER)],
    "text run --api-key-env": [Refused(["text", "{reviews}", "--dry-run", "--api-key-env", "KEY"],
                                       ("--api-key-env",)),
                               CheckedIn("test_text.py::test_anthropic_cli_options_work_or_stop_with_one_line",
                                         TEXT_SERVER)],
    "text run --concurrency": [Refused([*TEXT, "--concurrency", "0"], ("--concurrency",)),
                               CheckedIn("test_text.py::test_kill_9_then_resume_loses_and_duplicates_nothing",
                                         TEXT_SERVER)],
    "text run --timeout": [Refused(["text", "{reviews}", "--dry-run", "--timeout", "5"], ("--timeout",)),
                           CheckedIn("test_text.py::test_kill_9_then_resume_loses_and_duplicates_nothing",
                                     TEXT_SERVER)],
    "text run --seed": [Changes(TEXT, ["--seed", "9"], lambda r: r.out)],
    "text run --resume": [Refused([*TEXT[:2], "--out", "x.jsonl", "--resume", "--overwrite"], ("--resume",)),
                          CheckedIn("test_text.py::test_kill_9_then_resume_loses_and_duplicates_nothing",
                                    TEXT_SERVER)],
    "text run --overwrite": [CheckedIn("test_text.py::test_cli_usage_errors_write_nothing", TEXT_SERVER)],
    "text run --dry-run": [Required(["text", "{reviews}", "--backend", "openai"], "--dry-run")],
    "text run --budget": [Refused([*TEXT[:2], "--out", "x.jsonl", "--budget", "1", "--workers", "2"],
                                  ("--budget",)),
                          CheckedIn("test_text.py::test_budget_stops_before_exceeding", TEXT_SERVER)],
    "text run --prices": [Changes(TEXT, ["--prices", "{prices}", "--model", "gpt-4o-mini"], lambda r: r.out)],
    "text run --no-cache": [Refused([*TEXT[:2], "--out", "x.jsonl", "--no-cache", "--workers", "2"],
                                    ("--no-cache",)),
                            CheckedIn("test_text.py::test_cache_pays_nothing_the_second_time", TEXT_SERVER)],
    "text run --threads": [Refused([*TEXT, "--threads", "2"], ("--threads",)),
                           CheckedIn("test_text.py::test_embedded_model_cli_then_resume", "embedded model")],
    "text run --engine": [Changes(TEXT, ["--engine", "ray"], lambda r: r.out),
                          CheckedIn("test_text_scale.py::test_text_on_processes_and_ray", TEXT_SERVER)],
    "text run --workers": [Changes(TEXT, ["--workers", "2"], lambda r: r.out),
                           CheckedIn("test_text_scale.py::test_text_on_processes_and_ray", TEXT_SERVER)],
    "text run --quiet": [Changes(TEXT, ["--quiet"], lambda r: r.out)],
    # text export
    "text export --format": [Changes(EXPORT, ["--format", "csv", "--out", "e.csv"], lambda r: list(r.files))],
    "text export --out": [Required(["text", "export", "{texts}", "--format", "jsonl"], "--out")],
    "text export --prompt-field": [Changes(CHAT, ["--prompt-field", "title"], lambda r: r.files),
                                   Refused([*EXPORT, "--prompt-field", "title"], ("--prompt-field",))],
    "text export --completion-field": [Changes(CHAT, ["--completion-field", "title"], lambda r: r.files),
                                       Refused([*EXPORT, "--completion-field", "title"],
                                               ("--completion-field",))],
    "text export --system": [Changes(CHAT, ["--system", "Be brief."], lambda r: r.files),
                             Refused([*EXPORT, "--system", "Be brief."], ("--system",))],
    "text export --quiet": [Changes(EXPORT[:-1], ["--quiet"], lambda r: r.out)],
    # finetune (a run trains a model: its effects are checked in test_finetune.py; refusals come first)
    "finetune --holdout": [Required(["finetune", RT, "--out", "s"], "--holdout")],
    "finetune --out": [Required(["finetune", RT, "--holdout", RT], "--out")],
    "finetune --task": [Refused([*FT, "--task", "translate"], ("--task",)), CheckedIn(FT_CHAT, "a chat run")],
    "finetune --seeds": [Refused([*FT, "--seeds", "nothere.csv"], ("nothere.csv",)),
                         CheckedIn(FT_ARMS, "the seeds and both arms")],
    "finetune --text-field": [Refused([*FT, "--text-field", "review"], ("--text-field", "review")),
                              Refused([*FT, "--task", "chat", "--text-field", "t"], ("--text-field",)),
                              CheckedIn(FT_CLI, "a fine-tuning run")],
    "finetune --target": [Refused([*FT, "--target", "movie_label"], ("--target", "movie_label")),
                          CheckedIn(FT_CLI, "a fine-tuning run")],
    "finetune --base": [Refused([*FT, "--base", "nothere"], ("--base",)), CheckedIn(FT_CAP, "a model loads")],
    "finetune --max-minutes": [Refused([*FT, "--max-minutes", "0"], ("--max-minutes",)),
                               CheckedIn(FT_CAP, "a training step")],
    "finetune --epochs": [Refused([*FT, "--epochs", "0"], ("--epochs",)), CheckedIn(FT_CLI, "training")],
    "finetune --lr": [Refused([*FT, "--lr", "0"], ("--lr",)), CheckedIn(FT_CHAT, "training")],
    "finetune --batch-size": [Refused([*FT, "--batch-size", "0"], ("--batch-size",)),
                              CheckedIn(FT_CAP, "training steps")],
    "finetune --max-seq-len": [Refused([*FT, "--max-seq-len", "8"], ("--max-seq-len",)),
                               CheckedIn(FT_CLI, "training")],
    "finetune --threads": [Refused([*FT, "--threads", "0"], ("--threads",)), CheckedIn(FT_CLI, "training")],
    "finetune --seed": [Refused([*FT, "--seed", "-1"], ("--seed",)), CheckedIn(FT_SEED, "training")],
    "finetune --show": [Refused([*FT, "--show", "-1"], ("--show",)), CheckedIn(FT_CLI, "answers")],
    "finetune --merge": [Refused([*FT, "--merge", "seeds"], ("--merge", "synthetic")), CheckedIn(FT_CLI, "")],
    "finetune --overwrite": [CheckedIn(FT_CLI, "a run replaces the folder"),
                             CheckedIn("test_finetune.py::test_out_folder_with_content_needs_overwrite", "")],
    "finetune --quiet": [CheckedIn(FT_CLI, "a fine-tuning run")],
    "finetune --teacher": [Refused([*FT, "--teacher", "gpt"], ("--teacher",)), CheckedIn(FT_TEACHER, "")],
    "finetune --teacher-model": [Refused([*FT, "--teacher-model", "m.gguf"], ("--teacher-model",)),
                                 CheckedIn(FT_TEACHER, "the embedded model is the default")],
    "finetune --teacher-api": [
        Refused([*FT, "--teacher", "embedded", "--teacher-api", "chat"], ("--teacher-api",)),
        CheckedIn(FT_SERVER, "completions through a real server")],
    "finetune --teacher-structured": [
        Refused([*FT, "--teacher-structured", "none"], ("--teacher-structured",)),
        CheckedIn(FT_SERVER, "a grammar through a real server")],
}


def declared_options() -> set[str]:
    """``"command --option"`` for every option of every command of the app (named by its first long flag)."""
    import typer

    from simulacra.cli.app import app

    found: set[str] = set()

    def walk(command: Any, path: str) -> None:
        for param in command.params:
            if param.param_type_name != "option" or param.name == "help":
                continue
            flags = [f for f in param.opts if f.startswith("--")]
            found.add(f"{path} {flags[0]}")
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, name if path == "simulacra" else f"{path} {name}")

    walk(typer.main.get_command(app), "simulacra")
    return found


def test_every_option_has_an_expected_effect() -> None:
    declared = declared_options()
    assert len(declared) > 60  # the walk found the commands
    missing = sorted(declared - set(EFFECTS))
    assert not missing, f"options without an entry in EFFECTS (say what they change): {missing}"
    stale = sorted(set(EFFECTS) - declared)
    assert not stale, f"EFFECTS names options the CLI no longer has: {stale}"
    for key, checks in EFFECTS.items():
        kinds = {type(c) for c in checks}
        assert kinds & {Changes, Required, CheckedIn}, f"{key}: only refusals; where does it have an effect?"


@pytest.mark.parametrize(
    ("key", "index"), [(key, i) for key, checks in EFFECTS.items() for i in range(len(checks))]
)
def test_option_has_its_effect(key: str, index: int, data: Data, tmp_path: Path) -> None:
    EFFECTS[key][index].check(data, tmp_path)
    shutil.rmtree(tmp_path, ignore_errors=True)
