"""End-to-end tests of the ``simulacra`` command, run as a real subprocess (``python -m simulacra``).

The project rule under test: malformed files, wrong options and impossible requests get exactly one
line on stderr starting ``error:`` that names the file, column or field, exit code 2, no traceback,
and no half-written output (neither the output path nor a ``.part`` temporary file is left behind).

Starting the interpreter and importing simulacra takes over a second per command, so the ``jobs``
fixture starts every command of this file at once on a small thread pool (longest first) and each
test waits only for the commands it checks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
import yaml

if TYPE_CHECKING:
    from conftest import FittedModel

Runner = Callable[..., subprocess.CompletedProcess]

ADULT_KINDS = {
    "age": "integer", "workclass": "categorical", "fnlwgt": "integer", "education": "categorical",
    "education-num": "integer", "marital-status": "categorical", "occupation": "categorical",
    "relationship": "categorical", "race": "categorical", "sex": "categorical", "capital-gain": "integer",
    "capital-loss": "integer", "hours-per-week": "integer", "native-country": "categorical",
    "income": "categorical",
}
ADULT_COLUMNS = list(ADULT_KINDS)
WORKERS = max(2, os.cpu_count() or 2)
DEMO_TIMEOUT_S = 900
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

# --------------------------------------------------------------------------------------------------
# helpers


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit code 2, no traceback, stderr is one line starting 'error:' naming every fragment."""
    shown = f"rc={result.returncode}\nstdout={result.stdout!r}\nstderr={result.stderr!r}"
    assert "Traceback" not in result.stderr, shown
    assert result.returncode == 2, shown
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr (wrapped or multi-line?)\n{shown}"
    line = lines[0]
    assert line.startswith("error:"), shown
    assert "internal error" not in line, shown
    for fragment in fragments:
        assert fragment.lower() in line.lower(), f"{fragment!r} not named in the error line\n{shown}"


def assert_nothing_written(folder: Path, output: str | None) -> None:
    """Neither the output nor a temporary leftover (``*.part``, ``.NAME.*``) exists under ``folder``."""
    if output is None:
        return
    target = folder / output
    assert not target.exists(), f"{target} was written by a failing command"
    hidden = f".{Path(output).name}."
    leftovers = [p for p in folder.rglob("*") if p.name.endswith(".part") or p.name.startswith(hidden)]
    assert not leftovers, f"temporary files left behind: {leftovers}"


def model_json(model_dir: Path) -> dict:
    return json.loads((model_dir / "model.json").read_text())


@dataclass(frozen=True)
class Ctx:
    """What a case's setup may use: its own empty folder, the Adult CSV and the shared fitted model."""

    folder: Path
    adult: Path
    model: Path

    def write(self, name: str, content: str | bytes) -> str:
        path = self.folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return name

    def mkdir(self, name: str) -> str:
        (self.folder / name).mkdir()
        return name

    def copy_model(self, name: str, edit: Callable[[str], str] | None = None) -> str:
        target = self.folder / name
        shutil.copytree(self.model, target)
        if edit is not None:
            (target / "model.json").write_text(edit((target / "model.json").read_text()))
        return name


@dataclass(frozen=True)
class Case:
    """One failing command: ``setup`` prepares files in the case folder and returns the CLI args."""

    id: str
    setup: Callable[[Ctx], list[str]]
    fragments: tuple[str, ...]
    output: str | None  # relative to the case folder; must not exist after the command
    xfail: str | None = None
    run: bool = True  # False: skipped (and not run)
    skip_reason: str = ""

    def param(self) -> object:
        marks = []
        if self.xfail:
            marks.append(pytest.mark.xfail(strict=True, reason=self.xfail))
        if not self.run:
            marks.append(pytest.mark.skip(reason=self.skip_reason))
        return pytest.param(self, id=self.id, marks=marks)


def _adult_with_schema(schema_yaml: str, *extra: str) -> Callable[[Ctx], list[str]]:
    def setup(ctx: Ctx) -> list[str]:
        return ["fit", str(ctx.adult), "--schema", ctx.write("schema.yaml", schema_yaml), "--out", "model",
                *extra]
    return setup


def _fit_adult(*extra: str) -> Callable[[Ctx], list[str]]:
    return lambda ctx: ["fit", str(ctx.adult), "--out", "model", *extra]


def _fit_file(name: str, content: str | bytes) -> Callable[[Ctx], list[str]]:
    return lambda ctx: ["fit", ctx.write(name, content), "--out", "model"]


def _unreadable(ctx: Ctx) -> list[str]:
    name = ctx.write("secret.csv", ctx.adult.read_text())
    (ctx.folder / name).chmod(0)
    return ["fit", name, "--out", "model"]


def _dates_table(ctx: Ctx) -> list[str]:
    days = [f"2021-03-{d:02d}" for d in range(1, 29)]
    frame = pd.DataFrame({"signup": days, "spend": range(len(days))})
    frame.loc[6, "signup"] = "2021-02-30"  # no such day
    frame.to_csv(ctx.folder / "users.csv", index=False)
    schema = 'columns:\n  signup:\n    kind: datetime\n    format: "%Y-%m-%d"\n'
    return ["fit", "users.csv", "--schema", ctx.write("schema.yaml", schema), "--out", "model"]


BAD_INDENT_YAML = """\
columns:
  age:
    kind: integer
   sex:
    kind: categorical
"""
AGE_HOURS = "  age:\n    kind: integer\n  hours-per-week:\n    kind: integer\n"
INEQUALITY = "constraints:\n  - inequality: age > hours-per-week\n"
GARBAGE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16

FIT_CASES = [
    Case("missing-file", lambda ctx: ["fit", "nothere.csv", "--out", "model"],
         ("nothere.csv", "no such file"), "model"),
    # a folder is a database of table files: an empty one says so
    Case("directory", lambda ctx: ["fit", ctx.mkdir("data.csv"), "--out", "model"],
         ("data.csv", "no .csv, .parquet, .jsonl files in the folder"), "model"),
    Case("empty-file", _fit_file("empty.csv", b""), ("empty.csv", "empty"), "model"),
    Case("header-only", _fit_file("header.csv", "a,b,c\n"), ("header.csv", "no data rows"), "model"),
    Case("one-row", _fit_file("one.csv", "a,b,c\n1,x,2.5\n"), ("one.csv", "1 row", "at least 10"), "model"),
    Case("unreadable", _unreadable, ("secret.csv", "permission"), "model", run=not IS_ROOT,
         skip_reason="running as root: root can read a chmod 000 file"),
    Case("binary-garbage", _fit_file("garbage.csv", GARBAGE), ("garbage.csv", "UTF-8"), "model"),
    Case("corrupt-parquet", _fit_file("table.parquet", GARBAGE), ("table.parquet", "parquet"), "model"),
    Case("unknown-extension", lambda ctx: ["fit", ctx.write("table.xlsx", ctx.adult.read_text()), "--out",
                                           "model"], ("table.xlsx", ".xlsx", ".csv"), "model"),
    Case("yaml-bad-indentation", _adult_with_schema(BAD_INDENT_YAML), ("schema.yaml", "line 4", "YAML"),
         "model"),
    Case("yaml-missing-file", lambda ctx: ["fit", str(ctx.adult), "--schema", "nope.yaml", "--out", "model"],
         ("nope.yaml", "no such"), "model"),
    Case("yaml-unknown-column", _adult_with_schema("columns:\n  salary:\n    kind: float\n"),
         ("salary", "does not have"), "model"),
    Case("yaml-invalid-kind", _adult_with_schema("columns:\n  age:\n    kind: banana\n"),
         ("schema.yaml", "age", "kind", "integer", "categorical"), "model"),
    Case("kind-nonsense", _fit_adult("--kind", "age=nonsense"), ("age", "kind", "integer", "categorical"),
         "model"),
    Case("kind-no-equals", _fit_adult("--kind", "agefloat"), ("--kind", "agefloat", "column=kind"), "model"),
    Case("kind-unknown-column", _fit_adult("--kind", "salary=float"), ("salary", "unknown column"), "model"),
    Case("kind-contradicts-data", _fit_adult("--kind", "workclass=integer"),
         ("workclass", "State-gov", "not a number"), "model"),
    Case("constraint-violated", _adult_with_schema(f"columns:\n{AGE_HOURS}{INEQUALITY}"),
         ("age > hours-per-week", "violated", "row"), "model"),
    Case("constraint-violated-partial-schema",
         _adult_with_schema(f"columns:\n  age:\n    kind: integer\n{INEQUALITY}"),
         ("age > hours-per-week", "violated"), "model"),
    Case("unknown-synthesizer", _fit_adult("--synthesizer", "gan9000"), ("gan9000", "trees", "copula"),
         "model"),
    Case("unparseable-dates", _dates_table, ("signup", "2021-02-30", "%Y-%m-%d"), "model"),
]


def _model_version_999(text: str) -> str:
    meta = json.loads(text)
    meta["format_version"] = 999
    return json.dumps(meta)


def _sample_n(n: str) -> Callable[[Ctx], list[str]]:
    return lambda ctx: ["sample", str(ctx.model), "-n", n, "--out", "out.csv"]


def _sample(*extra: str) -> Callable[[Ctx], list[str]]:
    return lambda ctx: ["sample", str(ctx.model), "-n", "50", "--out", "out.csv", *extra]


SAMPLE_CASES = [
    Case("n-zero", _sample_n("0"), ("-n", "0"), "out.csv"),
    Case("n-negative", _sample_n("-5"), ("-n", "-5"), "out.csv"),
    Case("n-not-a-number", _sample_n("abc"), ("-n",), "out.csv"),
    Case("missing-out-option", lambda ctx: ["sample", str(ctx.model), "-n", "5"], ("--out",), None),
    Case("missing-model-dir", lambda ctx: ["sample", "nomodel", "-n", "5", "--out", "out.csv"],
         ("nomodel", "simulacra fit"), "out.csv"),
    Case("dir-without-model-json",
         lambda ctx: ["sample", ctx.mkdir("empty_dir"), "-n", "5", "--out", "out.csv"],
         ("empty_dir", "model.json"), "out.csv"),
    Case("format-version-999",
         lambda ctx: ["sample", ctx.copy_model("future", _model_version_999), "-n", "5", "--out", "out.csv"],
         ("future", "999", "upgrade"), "out.csv"),
    Case("damaged-model-json",
         lambda ctx: ["sample", ctx.copy_model("damaged", lambda t: t[: len(t) // 2]), "-n", "5", "--out",
                      "out.csv"], ("model.json", "damaged", "refit"), "out.csv"),
    Case("model-json-not-an-object",
         lambda ctx: ["sample", ctx.copy_model("listy", lambda _: "[1, 2, 3]"), "-n", "5", "--out",
                      "out.csv"],
         ("model.json",), "out.csv"),
    Case("where-unknown-column", _sample("--where", "salary=10"), ("--where", "salary", "unknown column"),
         "out.csv"),
    Case("where-unknown-value", _sample("--where", "sex=Alien"), ("sex", "Alien", "Male", "Female"),
         "out.csv"),
    Case("where-not-a-number", _sample("--where", "age=abc"), ("age", "abc", "not a number"), "out.csv"),
    Case("where-no-equals", _sample("--where", "sexFemale"), ("--where", "sexFemale", "column=value"),
         "out.csv"),
    Case("where-empty-range", _sample("--where", "age=40..30"), ("age", "40..30", "empty"), "out.csv"),
    Case("rebalance-numeric", _sample("--rebalance", "age"), ("--rebalance", "age", "categorical"),
         "out.csv"),
    Case("rebalance-and-where-same-column", _sample("--rebalance", "income", "--where", "income=>50K"),
         ("income", "rebalanced", "conditioned"), "out.csv"),
    Case("out-unknown-extension",
         lambda ctx: ["sample", str(ctx.model), "-n", "5", "--out", "out.xlsx"],
         ("out.xlsx", ".xlsx", ".csv"), "out.xlsx"),
    Case("seed-negative", _sample("--seed", "-1"), ("--seed", "-1"), "out.csv"),
]

OTHER_CASES = [
    Case("unknown-command", lambda ctx: ["nosuchcommand"], ("nosuchcommand",), None),
    Case("schema-missing-file", lambda ctx: ["schema", "nothere.csv"], ("nothere.csv", "no such file"), None),
    Case("demo-out-is-a-file", lambda ctx: ["demo", "--out", ctx.write("taken", "x"), "--quiet"], ("taken",),
         None),
]


# --------------------------------------------------------------------------------------------------
# every command of this file, started at once


def _demo_job(cli: Runner, folder: Path) -> dict[str, subprocess.CompletedProcess]:
    """The demo as the README runs it, and again with another seed, quietly (each fits and checks
    32,561 rows: about 1.5 CPU-minutes, far longer on a busy machine)."""
    return {"readme": cli("demo", "--out", "demo", cwd=folder, timeout=DEMO_TIMEOUT_S),
            "seed1": cli("demo", "--out", "demo1", "--seed", "1", "--quiet", cwd=folder,
                         timeout=DEMO_TIMEOUT_S)}


def _schema_job(cli: Runner, folder: Path, adult: Path) -> dict[str, subprocess.CompletedProcess]:
    """schema --out → edit one kind → fit with the saved and the edited YAML → rebalance the edited column."""
    runs = {"schema": cli("schema", adult, "--out", "schema.yaml", cwd=folder)}
    if runs["schema"].returncode != 0:
        return runs
    saved = yaml.safe_load((folder / "schema.yaml").read_text())
    saved["columns"]["education-num"]["kind"] = "categorical"
    (folder / "edited.yaml").write_text(yaml.safe_dump(saved, sort_keys=False))
    for name in ("schema", "edited"):
        runs[f"fit-{name}"] = cli("fit", adult, "--schema", f"{name}.yaml", "--out", f"m_{name}", "--quiet",
                                  cwd=folder)
    if runs["fit-edited"].returncode == 0:
        runs["rebalance"] = cli("sample", "m_edited", "-n", "320", "--rebalance", "education-num", "--out",
                                "re.csv", "--quiet", cwd=folder)
    return runs


def _awkward_job(cli: Runner, folder: Path) -> dict[str, subprocess.CompletedProcess]:
    """An all-null, a constant and a mixed-type column: infer, fit, sample to CSV and Parquet."""
    n = 60
    pd.DataFrame({
        "visits": [i % 7 for i in range(n)],
        "country": ["NZ"] * n,
        "fax": [None] * n,
        "ref": [str(i) if i % 2 else f"code{i % 5}" for i in range(n)],
    }).to_csv(folder / "awkward.csv", index=False)
    runs = {"schema": cli("schema", "awkward.csv", cwd=folder),
            "fit": cli("fit", "awkward.csv", "--out", "model", "--quiet", cwd=folder)}
    if runs["fit"].returncode == 0:
        for fmt in ("csv", "parquet"):
            runs[fmt] = cli("sample", "model", "-n", "200", "--out", f"out.{fmt}", "--quiet", cwd=folder)
    return runs


def _refit_job(cli: Runner, folder: Path, adult: Path, model: Path) -> dict:
    """A failing fit over an existing model directory must leave the old model as it was."""
    shutil.copytree(model, folder / "model")
    before = {p.name: p.read_bytes() for p in (folder / "model").iterdir()}
    result = cli("fit", adult, "--out", "model", "--kind", "workclass=integer", cwd=folder)
    after = {p.name: p.read_bytes() for p in (folder / "model").iterdir()}
    return {"result": result, "before": before, "after": after, "listing": sorted(os.listdir(folder))}


SAMPLE_JOBS = {
    "seed7": ["-n", "500", "--out", "seed7.parquet", "--seed", "7", "--quiet"],
    "seed7-again": ["-n", "500", "--out", "seed7-again.parquet", "--seed", "7", "--quiet"],
    "seed8": ["-n", "500", "--out", "seed8.parquet", "--seed", "8", "--quiet"],
    "where": ["-n", "300", "--where", "sex=Female", "--where", "age=30..40", "--out", "where.csv", "--quiet"],
    "rebalance": ["-n", "501", "--rebalance", "income", "--out", "balanced.jsonl", "--quiet"],
    "csv": ["-n", "123", "--out", "rows.csv", "--seed", "1"],
    "jsonl": ["-n", "123", "--out", "rows.jsonl", "--seed", "1", "--quiet"],
}
USAGE_JOBS = {"help": ["--help"], "sample-help": ["sample", "--help"], "no-args": []}


@dataclass(frozen=True)
class Jobs:
    """The started commands: ``jobs.result(name)`` waits for one; ``jobs.folder(name)`` is where it ran."""

    base: Path
    futures: dict[str, Future]

    def result(self, name: str) -> Any:
        return self.futures[name].result()

    def folder(self, name: str) -> Path:
        return self.base / name


@pytest.fixture(scope="module")
def jobs(cli: Runner, tmp_path_factory: pytest.TempPathFactory, adult_csv: Path,
         fitted_model: FittedModel) -> Iterator[Jobs]:
    """Start every command (and chain of commands) of this file at once, longest first."""
    base = tmp_path_factory.mktemp("cli")

    def folder(name: str) -> Path:
        path = base / name
        path.mkdir(parents=True)
        return path

    pool = ThreadPoolExecutor(max_workers=WORKERS)
    futures: dict[str, Future] = {
        "demo": pool.submit(_demo_job, cli, folder("demo")),
        "schema": pool.submit(_schema_job, cli, folder("schema"), adult_csv),
        "awkward": pool.submit(_awkward_job, cli, folder("awkward")),
        "refit": pool.submit(_refit_job, cli, folder("refit"), adult_csv, fitted_model.path),
    }
    for group, cases in (("fit", FIT_CASES), ("sample", SAMPLE_CASES), ("other", OTHER_CASES)):
        for case in cases:
            if case.run:
                where = folder(f"{group}/{case.id}")
                args = case.setup(Ctx(where, adult_csv, fitted_model.path))
                futures[f"{group}/{case.id}"] = pool.submit(cli, *args, cwd=where)
    samples = folder("samples")
    for name, args in SAMPLE_JOBS.items():
        futures[f"samples/{name}"] = pool.submit(cli, "sample", fitted_model.path, *args, cwd=samples)
    futures["schema-missing-folder"] = pool.submit(
        cli, "schema", adult_csv, "--out", "no/such/dir/schema.yaml", cwd=folder("schema-missing-folder"))
    usage = folder("usage")
    for name, args in USAGE_JOBS.items():
        futures[f"usage/{name}"] = pool.submit(cli, *args, cwd=usage)
    yield Jobs(base, futures)
    pool.shutdown(wait=True, cancel_futures=True)


# --------------------------------------------------------------------------------------------------
# failing commands: one line, exit 2, nothing written


@pytest.mark.parametrize("case", [c.param() for c in FIT_CASES])
def test_fit_rejects(case: Case, jobs: Jobs) -> None:
    assert_one_line_error(jobs.result(f"fit/{case.id}"), *case.fragments)
    assert_nothing_written(jobs.folder(f"fit/{case.id}"), case.output)


@pytest.mark.parametrize("case", [c.param() for c in SAMPLE_CASES])
def test_sample_rejects(case: Case, jobs: Jobs) -> None:
    assert_one_line_error(jobs.result(f"sample/{case.id}"), *case.fragments)
    assert_nothing_written(jobs.folder(f"sample/{case.id}"), case.output)


@pytest.mark.parametrize("case", [c.param() for c in OTHER_CASES])
def test_other_commands_reject(case: Case, jobs: Jobs) -> None:
    assert_one_line_error(jobs.result(f"other/{case.id}"), *case.fragments)
    assert_nothing_written(jobs.folder(f"other/{case.id}"), case.output)


def test_failed_fit_leaves_existing_model_untouched(jobs: Jobs) -> None:
    refit = jobs.result("refit")
    assert_one_line_error(refit["result"], "workclass")
    assert refit["after"] == refit["before"]
    assert refit["listing"] == ["model"]  # no temporary model folder left beside it


# --------------------------------------------------------------------------------------------------
# sampling


def test_same_seed_same_rows(jobs: Jobs) -> None:
    for name in ("seed7", "seed7-again"):
        assert jobs.result(f"samples/{name}").returncode == 0, jobs.result(f"samples/{name}").stderr
    folder = jobs.folder("samples")
    a = pd.read_parquet(folder / "seed7.parquet")
    b = pd.read_parquet(folder / "seed7-again.parquet")
    assert len(a) == 500
    pd.testing.assert_frame_equal(a, b)


def test_different_seed_different_rows(jobs: Jobs) -> None:
    for name in ("seed7", "seed8"):
        assert jobs.result(f"samples/{name}").returncode == 0, jobs.result(f"samples/{name}").stderr
    folder = jobs.folder("samples")
    a = pd.read_parquet(folder / "seed7.parquet")
    c = pd.read_parquet(folder / "seed8.parquet")
    assert list(a.columns) == list(c.columns) == ADULT_COLUMNS
    assert len(c) == 500
    assert not a.equals(c)


def test_where_conditions_hold_on_every_row(jobs: Jobs) -> None:
    result = jobs.result("samples/where")
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(jobs.folder("samples") / "where.csv")
    assert len(frame) == 300
    assert (frame["sex"] == "Female").all()
    assert frame["age"].between(30, 40).all()


def test_rebalance_makes_classes_equal(jobs: Jobs) -> None:
    result = jobs.result("samples/rebalance")
    assert result.returncode == 0, result.stderr
    frame = pd.read_json(jobs.folder("samples") / "balanced.jsonl", lines=True)
    counts = frame["income"].value_counts()
    assert len(frame) == 501
    assert set(counts.index) == {"<=50K", ">50K"}
    assert all(abs(c - 501 / 2) <= 1 for c in counts)


@pytest.mark.parametrize(("job", "file", "reader", "rows"), [
    ("csv", "rows.csv", pd.read_csv, 123),
    ("jsonl", "rows.jsonl", lambda p: pd.read_json(p, lines=True), 123),
    ("seed7", "seed7.parquet", pd.read_parquet, 500),
])
def test_output_formats_are_readable(jobs: Jobs, job: str, file: str, reader: Callable, rows: int) -> None:
    result = jobs.result(f"samples/{job}")
    assert result.returncode == 0, result.stderr
    frame = reader(jobs.folder("samples") / file)
    assert len(frame) == rows
    assert list(frame.columns) == ADULT_COLUMNS
    assert frame["age"].between(17, 90).all()


def test_csv_and_jsonl_hold_the_same_rows(jobs: Jobs) -> None:
    for name in ("csv", "jsonl"):
        assert jobs.result(f"samples/{name}").returncode == 0
    folder = jobs.folder("samples")
    a = pd.read_csv(folder / "rows.csv")
    b = pd.read_json(folder / "rows.jsonl", lines=True).fillna(float("nan"))
    pd.testing.assert_frame_equal(a, b, check_dtype=False)


def test_sample_prints_a_summary_without_quiet(jobs: Jobs) -> None:
    result = jobs.result("samples/csv")
    assert result.returncode == 0, result.stderr
    assert "wrote 123 synthetic rows" in result.stdout
    assert "rows.csv" in result.stdout
    assert result.stderr == ""  # no progress bar off a terminal


def run_in_terminal(*args: str | Path, cwd: Path) -> str:
    """Run ``simulacra ARGS`` with stderr on a pseudo-terminal; return what it drew there."""
    import pty
    import sys

    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM", "COLUMNS")}
    env |= {"TERM": "xterm-256color", "COLUMNS": "120"}
    proc = subprocess.Popen([sys.executable, "-m", "simulacra", *map(str, args)], cwd=cwd, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    drawn = bytearray()
    while True:
        try:
            data = os.read(master, 1 << 16)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        drawn += data
    os.close(master)
    assert proc.wait(timeout=300) == 0, drawn.decode(errors="replace")
    return drawn.decode(errors="replace")


def test_progress_bar_is_drawn_on_a_terminal(fitted_model: FittedModel, tmp_path: Path) -> None:
    drawn = run_in_terminal("sample", fitted_model.path, "-n", "5000", "--out", "s.csv", cwd=tmp_path)
    assert "sampling" in drawn
    assert "━" in drawn  # the bar itself
    assert "5000/5000" in drawn  # the count, drawn complete before the bar is cleared
    assert len(pd.read_csv(tmp_path / "s.csv")) == 5000
    rules = run_in_terminal("rules", "shop", "-n", "500", "--out", "o", "--format", "csv", cwd=tmp_path)
    rows = sum(len(pd.read_csv(f)) for f in (tmp_path / "o").glob("*.csv"))
    assert "rules" in rules and "━" in rules and f"{rows}/{rows}" in rules


def test_quiet_prints_nothing(jobs: Jobs, fitted_model: FittedModel) -> None:
    for result in (fitted_model.fit, jobs.result("samples/seed7"), jobs.result("samples/jsonl")):
        assert result.returncode == 0, result.stderr
        assert result.stdout == ""
        assert result.stderr == ""


def test_no_temporary_files_left_after_sampling(jobs: Jobs) -> None:
    for name in SAMPLE_JOBS:
        assert jobs.result(f"samples/{name}").returncode == 0
    names = sorted(p.name for p in jobs.folder("samples").iterdir())
    assert names == sorted(args[args.index("--out") + 1] for args in SAMPLE_JOBS.values())


# --------------------------------------------------------------------------------------------------
# awkward but valid columns: all null, constant, mixed types


def test_awkward_columns_are_inferred(jobs: Jobs) -> None:
    result = jobs.result("awkward")["schema"]
    assert result.returncode == 0, result.stderr
    kinds = _schema_table(result.stdout)
    assert kinds == {"visits": "integer", "country": "categorical", "fax": "categorical",
                     "ref": "categorical"}
    assert "mixed types" in result.stdout


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_constant_and_all_null_columns_are_reproduced(jobs: Jobs, fmt: str) -> None:
    runs = jobs.result("awkward")
    assert runs["fit"].returncode == 0, runs["fit"].stderr
    assert runs[fmt].returncode == 0, runs[fmt].stderr
    folder = jobs.folder("awkward")
    path = folder / f"out.{fmt}"
    frame = pd.read_csv(path, dtype={"ref": str, "country": str}) if fmt == "csv" else pd.read_parquet(path)
    training = pd.read_csv(folder / "awkward.csv", dtype={"ref": str})
    assert len(frame) == 200
    assert list(frame.columns) == ["visits", "country", "fax", "ref"]
    assert (frame["country"] == "NZ").all()
    assert frame["fax"].isna().all()
    assert set(frame["ref"].astype(str)) <= set(training["ref"])
    assert frame["visits"].between(0, 6).all()


# --------------------------------------------------------------------------------------------------
# schema: print, save, edit, fit


def _schema_table(stdout: str) -> dict[str, str]:
    """{column: kind} from the rich table that `simulacra schema` prints (body rows only)."""
    kinds = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) >= 4 and cells[1]:
            kinds[cells[1]] = cells[2]
    return kinds


def test_schema_prints_every_column_and_kind(jobs: Jobs) -> None:
    result = jobs.result("schema")["schema"]
    assert result.returncode == 0, result.stderr
    assert "2,000 rows × 15 columns" in result.stdout
    assert _schema_table(result.stdout) == ADULT_KINDS
    assert "schema.yaml" in result.stdout


def test_schema_yaml_round_trips_and_edits_take_effect(jobs: Jobs) -> None:
    runs = jobs.result("schema")
    folder = jobs.folder("schema")
    assert runs["schema"].returncode == 0, runs["schema"].stderr
    saved = yaml.safe_load((folder / "schema.yaml").read_text())
    assert {name: col["kind"] for name, col in saved["columns"].items()} == ADULT_KINDS
    for name in ("fit-schema", "fit-edited"):
        assert runs[name].returncode == 0, f"{name}: {runs[name].stderr}"
    assert model_json(folder / "m_schema")["out_kinds"] == ADULT_KINDS
    assert model_json(folder / "m_edited")["out_kinds"] == {**ADULT_KINDS, "education-num": "categorical"}
    # only a categorical column can be rebalanced (the unedited model refuses: see rebalance-numeric)
    assert runs["rebalance"].returncode == 0, runs["rebalance"].stderr
    counts = pd.read_csv(folder / "re.csv")["education-num"].value_counts()
    assert counts.sum() == 320
    assert len(counts) >= 10
    assert counts.max() - counts.min() <= 1


def test_schema_out_into_missing_folder(jobs: Jobs) -> None:
    result = jobs.result("schema-missing-folder")
    if result.returncode == 0:  # creating the folder is as good as refusing it
        path = jobs.folder("schema-missing-folder") / "no/such/dir/schema.yaml"
        assert set(yaml.safe_load(path.read_text())["columns"]) == set(ADULT_KINDS)
    else:
        assert_one_line_error(result, "schema.yaml")


# --------------------------------------------------------------------------------------------------
# help and usage


def test_help(jobs: Jobs) -> None:
    result = jobs.result("usage/help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout
    for command in ("fit", "sample", "schema", "demo"):
        assert command in result.stdout
    assert result.stderr == ""


def test_sample_help(jobs: Jobs) -> None:
    result = jobs.result("usage/sample-help")
    assert result.returncode == 0, result.stderr
    for option in ("--rows", "--out", "--where", "--rebalance", "--seed", "--quiet"):
        assert option in result.stdout


def test_no_arguments_shows_usage(jobs: Jobs) -> None:
    result = jobs.result("usage/no-args")
    assert "Traceback" not in result.stderr
    assert result.returncode in (0, 2), result.stderr
    assert "Usage" in result.stdout + result.stderr
    assert "internal error" not in result.stderr


# --------------------------------------------------------------------------------------------------
# demo


def readme_demo_table() -> tuple[str, dict[str, tuple[float, float]]]:
    """The verdict and the scores (synthetic, reference) that README.md shows for `simulacra demo`."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme[readme.index("```\nverdict: ") + 4 :]
    lines = block[: block.index("```")].splitlines()
    verdict = lines[0].removeprefix("verdict: ").strip().lower()

    def number(cell: str) -> float:
        return float(cell[:-1]) / 100 if cell.endswith("%") else float(cell)

    scores = {}
    for line in lines[2:]:
        *label, value, reference, _status = line.split()
        scores[" ".join(label).rstrip(".")] = (number(value), number(reference))
    return verdict, scores


DEMO_TOLERANCE = 0.02
"""How far each score of the demo may sit from the README's: the README was rendered from one run;
the same seed gives the same numbers on one machine, while library versions (scikit-learn's trees,
numpy's BLAS) move the last digits of a score."""


def test_demo(jobs: Jobs) -> None:
    result = jobs.result("demo")["readme"]
    assert result.returncode == 0, result.stderr
    out = jobs.folder("demo") / "demo"
    synthetic = pd.read_csv(out / "synthetic.csv", low_memory=False)
    assert len(synthetic) == 32_561
    assert list(synthetic.columns) == ADULT_COLUMNS
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["inputs"] | {"columns": None} == {"train_rows": 32_561, "holdout_rows": 16_281,
                                                     "synthetic_rows": 32_561, "columns": None,
                                                     "target": "income", "task": "classification"}
    assert model_json(out / "model")["format_version"] == 1
    assert "<svg" in (out / "report.html").read_text()
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "model", "report.html", "synthetic.csv"]
    # the verdict and every score the README shows, printed and in metrics.json
    verdict, shown = readme_demo_table()
    assert len(shown) >= 6
    assert metrics["verdict"]["status"] == verdict
    assert f"verdict: {verdict.upper()}" in result.stdout
    scores = [s for sec in metrics["sections"].values() for s in sec["scores"]]
    for label, (value, reference) in shown.items():
        score = next((s for s in scores if s["label"].startswith(label)), None)
        assert score is not None, f"the README shows '{label}'; the report has no such score"
        assert abs(score["value"] - value) <= DEMO_TOLERANCE, (label, score["value"], value)
        assert abs(score["reference"] - reference) <= DEMO_TOLERANCE, (label, score["reference"], reference)
        assert score["status"] == "pass", (label, score["status"])


def test_demo_seed_changes_the_sample(jobs: Jobs) -> None:
    readme, other = jobs.result("demo")["readme"], jobs.result("demo")["seed1"]
    assert other.returncode == 0, other.stderr
    assert other.stdout == "" and other.stderr == ""  # --quiet
    assert readme.stdout != ""
    folder = jobs.folder("demo")
    assert model_json(folder / "demo1" / "model")["seed"] == 1
    a = (folder / "demo" / "synthetic.csv").read_bytes()
    b = (folder / "demo1" / "synthetic.csv").read_bytes()
    assert a != b
