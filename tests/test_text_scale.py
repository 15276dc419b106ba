"""LLM batches on the scale-out engine against a real llama.cpp server: same file as one process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from simulacra.errors import UsageError
from simulacra.text.distributed import generate_on_engine
from simulacra.text.job import Job
from simulacra.text.load import load_task

SPEC = {
    "name": "scale-reviews",
    "seed": 5,
    "instruction": "Write one short {label} movie review.",
    "attributes": {"label": {"fresh": 1, "rotten": 1}},
    "output": {"text": {"type": "string", "minLength": 5, "maxLength": 80}},
    "seeds": {
        "file": "package:simulacra/text/data/rt_snippets.csv",
        "k": 1,
        "max_chars": 90,
    },
    "generation": {"max_tokens": 24, "temperature": 0.7},
    "quality": {"min_chars": 5, "language": None, "seed_copy": False},  # the 270M model repeats its seed
}


@pytest.fixture(scope="module")
def spec_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spec") / "reviews.yaml"
    path.write_text(yaml.safe_dump(SPEC, sort_keys=False))
    return path


def _backend(url: str) -> dict:
    return {
        "kind": "openai",
        "base_url": url,
        "model": "gemma",
        "api": "completions",
        "structured": "grammar",
        "api_key_env": None,
        "timeout": 300,
    }


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_text_on_processes_and_ray(llama_server: str, spec_path: Path, tmp_path: Path) -> None:
    """Each example's attributes and prompt come from (spec, seed, index) alone, whoever runs it.

    The words themselves are the server's: llama.cpp reuses the key-value cache of a shared prompt
    prefix, which changes the arithmetic slightly, so the same prompt and seed can give other words.
    """
    import ray

    n = 4
    job = Job(load_task(spec_path), n=n)
    procs = tmp_path / "procs.jsonl"
    stats = generate_on_engine(spec_path, procs, _backend(llama_server), n=n, workers=2, size=2)
    assert stats.accepted == n and stats.tokens_out > 0
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = tmp_path / "ray.jsonl"
        generate_on_engine(spec_path, on_ray, _backend(llama_server), n=n, engine="ray", size=2)
    finally:
        ray.shutdown()
    for path in (procs, on_ray):
        rows = _rows(path)
        indices = [r["_meta"]["index"] for r in rows]
        assert len(rows) == n and indices == sorted(indices)
        for r in rows:
            assert {"label": r["label"]} == job.plan(r["_meta"]["index"]).attributes
            assert 5 <= len(r["text"]) <= 80
        summary = json.loads((path.parent / f"{path.stem}.simulacra" / "summary.json").read_text())
        assert summary["accepted"] == n
        assert summary["accepted"] + summary["rejected"] >= max(indices) + 1
    assert not (tmp_path / ".ray.jsonl.simulacra-staging").exists()


def test_text_on_engine_refuses_bad_output_names(spec_path: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="name it \\*.jsonl"):
        generate_on_engine(spec_path, tmp_path / "out.csv", {"kind": "openai"}, n=2)
    with pytest.raises(UsageError, match="does not exist"):
        generate_on_engine(spec_path, tmp_path / "no" / "out.jsonl", {"kind": "openai"}, n=2)


def test_text_engine_options_are_checked(spec_path: Path, tmp_path: Path, cli) -> None:  # noqa: ANN001
    def check(*args: str, message: str) -> None:
        result = cli("text", str(spec_path), "-n", "2", *args, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.stderr

    check("--out", "o.jsonl", "--workers", "2", "--budget", "1", message="--budget needs one process")
    check("--out", "o.jsonl", "--workers", "2", "--no-cache", message="--no-cache")
    check(
        "--out", "o.jsonl", "--engine", "spark", "--backend", "openai", message="--engine spark: use one of"
    )
    check(
        "--out", "o.jsonl", "--workers", "0", "--backend", "openai", message="--workers 0: must be at least 1"
    )
    check("--out", "o.csv", "--workers", "2", message="*.jsonl")
    (tmp_path / "done.jsonl").write_text("{}\n")
    check("--out", "done.jsonl", "--workers", "2", "--resume", message="is complete")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["done.jsonl"]
