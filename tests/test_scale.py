"""Scale-out: the same bytes from one process, local processes and a real local Ray; retries; resume."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from simulacra.errors import SimulacraError
from simulacra.rules import run_rules
from simulacra.scale import run_job, staging_dir
from simulacra.tabular import TabularSynthesizer
from simulacra.tabular.job import SampleJob

SHOP = Path(__file__).resolve().parents[1] / "examples" / "rules" / "shop.yaml"
CHUNK = 1_000


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def ray_local():  # noqa: ANN201
    import sys

    import ray

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the test job travels by value
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def adult_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from simulacra.datasets import load_adult

    folder = tmp_path_factory.mktemp("model") / "adult"
    TabularSynthesizer(seed=0).fit(load_adult("train").head(4_000)).save(folder)
    return folder


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_rules_on_two_local_processes_give_the_same_bytes(tmp_path: Path, fmt: str) -> None:
    one = run_rules(str(SHOP), 4_500, tmp_path / "one", 7, None, fmt, {}, chunk_rows=CHUNK)
    two = run_rules(str(SHOP), 4_500, tmp_path / "two", 7, None, fmt, {}, chunk_rows=CHUNK, workers=2)
    assert one == two and one["customers"] == 4_500
    a, b = _files(tmp_path / "one"), _files(tmp_path / "two")
    assert a == b and len(a) >= 2
    assert not staging_dir(tmp_path / "two").exists()


def test_rules_and_fhir_on_ray_give_the_same_bytes(tmp_path: Path, ray_local) -> None:  # noqa: ANN001
    run_rules("payments", 3_000, tmp_path / "local", 3, None, "parquet", {}, chunk_rows=CHUNK)
    run_rules(
        "payments", 3_000, tmp_path / "ray", 3, None, "parquet", {}, chunk_rows=CHUNK, engine="ray"
    )
    local, remote = _files(tmp_path / "local"), _files(tmp_path / "ray")
    assert local == remote
    assert any(name.startswith("transactions.parquet/part-") for name in local)
    frame = pd.read_parquet(tmp_path / "ray" / "transactions.parquet")
    assert len(frame) == 3_000 and frame["is_fraud"].any()
    import duckdb
    parts = str(tmp_path / "ray" / "transactions.parquet" / "*.parquet")
    ((rows, frauds),) = duckdb.sql(
        f"select count(*), sum(is_fraud::int) from read_parquet('{parts}')"
    ).fetchall()
    assert (rows, frauds) == (3_000, int(frame["is_fraud"].sum()))
    run_rules("ehr", 600, tmp_path / "fl", 1, None, "fhir", {}, chunk_rows=200)
    run_rules("ehr", 600, tmp_path / "fr", 1, None, "fhir", {}, chunk_rows=200, engine="ray")
    assert _files(tmp_path / "fl") == _files(tmp_path / "fr")
    assert (tmp_path / "fr" / "Patient.ndjson").read_text().count("\n") == 600


@pytest.mark.parametrize("ext", [".parquet", ".csv"])
def test_sample_on_processes_and_ray_is_the_stream_written_by_one_process(
    tmp_path: Path,
    adult_model: Path,
    ray_local,
    ext: str,  # noqa: ANN001
) -> None:
    synth = TabularSynthesizer.load(adult_model)
    from simulacra.io import write_chunks

    n = 150_000  # three chunks of 65,536 rows and a short one
    write_chunks(synth.iter_sample(n, seed=5), tmp_path / f"stream{ext}")
    for engine, workers, name in (("local", 2, "procs"), ("ray", None, "ray")):
        job = SampleJob(adult_model, n, tmp_path / f"{name}{ext}", seed=5, unit_chunks=1)
        assert run_job(job, tmp_path / f"{name}{ext}", engine, workers) == n
        assert (tmp_path / f"{name}{ext}").read_bytes() == (tmp_path / f"stream{ext}").read_bytes()


def test_sample_chunk_is_the_kth_chunk_of_the_sample(adult_model: Path) -> None:
    synth = TabularSynthesizer.load(adult_model)
    whole = synth.sample(70_000, conditions={"sex": "Female"}, seed=2)
    last = synth.sample_chunk(synth.plan(70_000, conditions={"sex": "Female"}, seed=2), 1)
    pd.testing.assert_frame_equal(last, whole.iloc[65_536:].reset_index(drop=True))
    with pytest.raises(SimulacraError, match="chunk 2 is out of range"):
        synth.sample_chunk(synth.plan(70_000, seed=2), 2)


class _DiesOnce:
    """A job whose unit 1 kills its own worker process the first time it runs."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def fingerprint(self) -> dict:
        return {"job": "dies-once"}

    def units(self) -> list[int]:
        return [0, 1, 2]

    def unit_rows(self, unit: int) -> int:
        return 1

    def run_unit(self, unit: int, staging: Path) -> list[dict]:
        if unit == 1 and not self.marker.exists():
            self.marker.write_text("died")
            os._exit(1)  # the worker process is gone, as if killed
        path = staging / f"part-{unit}.txt"
        path.write_text(f"unit {unit}\n")
        return [{"file": str(path), "bytes": path.stat().st_size}]

    def finish(self, staging: Path, out: Path, entries: dict) -> list[int]:
        out.write_text("".join((staging / e["file"]).read_text() for u in entries for e in entries[u]))
        return sorted(entries)


def test_ray_retries_a_unit_whose_worker_died(tmp_path: Path, ray_local) -> None:  # noqa: ANN001
    job = _DiesOnce(tmp_path / "marker")
    assert run_job(job, tmp_path / "out.txt", "ray") == [0, 1, 2]
    assert (tmp_path / "marker").exists()  # the first try really died
    assert (tmp_path / "out.txt").read_text() == "unit 0\nunit 1\nunit 2\n"


def test_a_crashed_local_run_resumes_from_the_manifest(tmp_path: Path) -> None:
    job = _DiesOnce(tmp_path / "marker")
    from concurrent.futures.process import BrokenProcessPool

    with pytest.raises(BrokenProcessPool):
        run_job(job, tmp_path / "out.txt", "local", workers=2)
    assert not (tmp_path / "out.txt").exists()
    assert run_job(job, tmp_path / "out.txt", "local", workers=2) == [0, 1, 2]
    assert (tmp_path / "out.txt").read_text() == "unit 0\nunit 1\nunit 2\n"
    assert not staging_dir(tmp_path / "out.txt").exists()


def test_engine_options_are_checked(tmp_path: Path, cli, adult_model: Path) -> None:  # noqa: ANN001
    def check(*args: str, message: str) -> None:
        result = cli(*args, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert message in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1

    check(
        "rules",
        str(SHOP),
        "-n",
        "10",
        "--out",
        "o",
        "--engine",
        "spark",
        message="--engine spark: use one of",
    )
    check(
        "rules",
        str(SHOP),
        "-n",
        "10",
        "--out",
        "o",
        "--workers",
        "0",
        message="--workers 0: must be at least 1",
    )
    check(
        "sample", "nomodel", "-n", "10", "--out", "s.csv", "--workers", "2", message="no such model directory"
    )
    check(
        "sample",
        str(adult_model),
        "-n",
        "10",
        "--out",
        "s.csv",
        "--workers",
        "2",
        "--where",
        "sex=Martian",
        message="Martian",
    )
    check(
        "sample", str(adult_model), "-n", "10", "--out", "s.csv", "--engine", "yarn", message="--engine yarn"
    )
    check("sample", str(adult_model), "-n", "10", "--out", "s.csv", "--workers", "0", message="--workers 0")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("ext", [".jsonl", ".csv", ".parquet"])
def test_one_chunk_writer_parts_concatenate_to_the_streamed_file(tmp_path: Path, ext: str) -> None:
    """Parts written by io.ChunkWriter (header in the first part only) join into the bytes that
    io.write_chunks streams in one go; JSONL keeps timestamps to the microsecond."""
    from simulacra.datasets import load_adult
    from simulacra.io import ChunkWriter, write_chunks

    frame = load_adult("train").head(3_000).reset_index(drop=True)
    frame["seen"] = pd.Timestamp("2024-05-01 10:00:00.123456") + pd.to_timedelta(frame.index, unit="min")
    chunks = [frame.iloc[i : i + 1_000].reset_index(drop=True) for i in range(0, 3_000, 1_000)]
    streamed, rows = write_chunks(iter(chunks), tmp_path / f"all{ext}")
    assert rows == 3_000
    if ext == ".parquet":
        pd.testing.assert_frame_equal(pd.read_parquet(streamed), frame)
        return
    parts = []
    for i, chunk in enumerate(chunks):
        with ChunkWriter(tmp_path / f"part{i}{ext}", header=i == 0) as writer:
            writer.write(chunk)
        parts.append((tmp_path / f"part{i}{ext}").read_bytes())
    assert b"".join(parts) == streamed.read_bytes()
    if ext == ".jsonl":
        back = pd.read_json(streamed, lines=True, convert_dates=["seen"])
        assert back["seen"].dt.microsecond.eq(123_456).all()
