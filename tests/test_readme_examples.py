"""Every command of the README's examples runs right after the install line shown above it.

README.md is read as a user reads it: its shell code blocks in order. Each ``pip install`` line starts a
group; the commands after it, up to the next install line, run in a fresh virtual environment made by
that line, with ``simulacra`` (or ``.``) replaced by a copy of this checkout. The working folder is that
copy (a user following the README in a checkout), shared by all groups in README order, so a command may
read what an earlier example wrote (``model/``). Install lines that install the same thing share one
environment. Each command must exit 0 and write the output file it names (``--out``, ``--json``).

What the test changes in a command, and why (everything else runs as written):

- ``simulacra text SPEC ...`` (generation) runs with ``--dry-run`` added: the model is not called. It then
  runs once more against a local OpenAI-compatible server (``tests/support/localserver.py``) standing in for
  the model or the server the line names, so that the file it names is written and the commands that read
  it (``--resume``, ``export``, ``evaluate``) run as written;
- ``-n`` of ``rules`` and ``sample`` is capped at ``ROWS_CAP``, and a deep model's training (or any ``fit`` or
  ``finetune`` that names ``--max-minutes``) at ``--max-minutes 0.5``: those sizes illustrate scale, they
  are not what this test checks;
- ``/shared/`` (a cluster's shared file system) is a folder of the working copy; ``--engine ray`` starts a
  local Ray, as simulacra does when no cluster is found (``RAY_ADDRESS=local``: never one that another test
  started beside this one);
- ``pip install torch --index-url ...`` installs ``torch==2.13.0`` (the CPU build CI installs), and that build
  is installed first wherever an extra needs torch, so that no CUDA build is pulled; pip runs with
  ``--no-compile`` (the same files, not byte-compiled ahead).

Not run: the test-suite command of the Quickstart (it is this suite), Python and YAML blocks and output
listings. The pip cache is used: llama-cpp-python is built from source once and its wheel is reused.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from support.localserver import LocalServer

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
SHELL_LANGS = {"bash", "sh", "shell", "console"}
TORCH_PIN = "torch==2.13.0"
TORCH_EXTRAS = {"torch", "embeddings", "finetune", "dev", "all"}  # extras whose requirements pull torch
DEEP_MODELS = {"autoregressive", "diffusion", "gan"}
ROWS_CAP = 20_000
DEEP_MINUTES = "0.5"
INSTALL_TIMEOUT_S = 1_200
COMMAND_TIMEOUT_S = 600
COPY_IGNORE = (".git", ".venv", ".ci-venv", "build", "__pycache__", ".pytest_cache", ".ruff_cache",
               "*.egg-info")


@dataclass
class Command:
    """One command of a README code block: its line number, the text as written and its words."""

    line: int
    text: str  # the words, quoted again as a shell would take them
    argv: list[str]


@dataclass
class Group:
    """The install lines of one README group and the commands that follow them."""

    installs: list[Command] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)


@dataclass
class Parsed:
    groups: list[Group]
    skipped: list[tuple[int, str]]  # (line, why) of shell blocks that are not examples


# ---- reading the README ---------------------------------------------------------------------------


def code_blocks(text: str) -> list[tuple[str, int, list[str]]]:
    """Fenced code blocks as (language, line number of their first line, lines)."""
    blocks, lang, start, body = [], None, 0, []
    for number, line in enumerate(text.splitlines(), 1):
        fence = re.match(r"^```\s*([\w-]*)\s*$", line)
        if fence and lang is None:
            lang, start, body = fence.group(1).lower(), number + 1, []
        elif line.startswith("```") and lang is not None:
            blocks.append((lang, start, body))
            lang = None
        elif lang is not None:
            body.append(line)
    assert lang is None, "README.md: a code block is not closed"
    return blocks


def shell_commands(first: int, lines: list[str]) -> list[Command]:
    """The commands of a shell block: continuation lines joined, comments dropped, ``&&`` chains split."""
    commands, pending, pending_line = [], "", first
    for number, line in enumerate(lines, first):
        if not pending:
            pending_line = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical, pending = pending + line, ""
        lexer = shlex.shlex(logical, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = list(lexer)
        argv: list[str] = []
        for word in [*words, "&&"]:
            if word == "&&":
                if argv:
                    commands.append(Command(pending_line, shlex.join(argv), argv))
                argv = []
            elif set(word) <= set("|&;<>()"):
                raise AssertionError(
                    f"README.md:{pending_line}: shell syntax {word!r} in {logical!r}; give one command a "
                    "line (or a chain with &&), with placeholders spelled out"
                )
            else:
                argv.append(word)
    return commands


def is_install(argv: list[str]) -> bool:
    return argv[:2] in (["pip", "install"], ["pip3", "install"]) or argv[1:4] == ["-m", "pip", "install"]


def is_venv_setup(argv: list[str]) -> bool:
    """``python3 -m venv DIR`` and ``. DIR/bin/activate``: the test makes the environment itself."""
    return argv[1:3] == ["-m", "venv"] or (argv[0] in (".", "source") and argv[-1].endswith("bin/activate"))


def parse_readme(text: str) -> Parsed:
    """Group the README's shell commands under the install line above them."""
    groups: list[Group] = []
    skipped: list[tuple[int, str]] = []
    for lang, first, lines in code_blocks(text):
        if lang not in SHELL_LANGS:
            continue
        commands = shell_commands(first, lines)
        if any(c.argv[0] == "pytest" for c in commands):
            skipped.append((first, "the test-suite command: it is this suite"))
            continue
        for command in commands:
            if is_venv_setup(command.argv):
                continue
            if is_install(command.argv):
                if not groups or groups[-1].commands:
                    groups.append(Group())
                groups[-1].installs.append(command)
            else:
                assert groups, f"README.md:{command.line}: {command.text!r} comes before any install line"
                groups[-1].commands.append(command)
    return Parsed(groups, skipped)


# ---- installing -------------------------------------------------------------------------------------


def install_args(argv: list[str], checkout: Path) -> list[str]:
    """The arguments after ``pip install``, with ``simulacra`` / ``.`` as the checkout and torch pinned."""
    words = argv[argv.index("install") + 1 :]
    out: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        if word in ("--index-url", "--extra-index-url"):  # the registry is local here
            skip = True
            continue
        if word == "torch":
            out.append(TORCH_PIN)
        elif word == "." or word.startswith(".["):
            out.append(str(checkout) + word[1:])
        elif re.fullmatch(r"simulacra(\[[\w,-]+\])?", word):
            out.append(str(checkout) + word[len("simulacra") :])
        else:
            out.append(word)
    return out


def install_plan(group: Group, checkout: Path) -> list[list[str]]:
    """The pip argument lists for a group: torch first where an extra needs it, then the README's lines."""
    plans = [install_args(c.argv, checkout) for c in group.installs]
    extras = {e for plan in plans for w in plan for e in re.findall(r"[\w-]+", w.partition("[")[2])}
    has_torch = any(TORCH_PIN in plan for plan in plans)
    if extras & TORCH_EXTRAS and not has_torch:
        plans.insert(0, [TORCH_PIN])
    return plans


def make_venv(folder: Path, plans: list[list[str]]) -> Path:
    """A fresh virtual environment in ``folder`` with each pip line of ``plans`` installed; its bin folder."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, capture_output=True, timeout=300)
    pip = folder / "bin" / "pip"
    for plan in plans:
        done = subprocess.run([str(pip), "install", "--quiet", "--no-compile", *plan], capture_output=True,
                              text=True, timeout=INSTALL_TIMEOUT_S, env=_env(None), check=False)
        if done.returncode != 0:
            tail = (done.stdout + done.stderr)[-3000:]
            raise AssertionError(f"pip install {shlex.join(plan)} failed (exit {done.returncode}):\n{tail}")
    return folder / "bin"


def copy_checkout(dest: Path) -> Path:
    """Copy this checkout's files (tracked and untracked, not ignored) to ``dest``."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=False)
    if listed.returncode == 0 and listed.stdout:
        for name in sorted(set(listed.stdout.decode().split("\0")) - {""}):
            source = REPO / name
            if source.is_file():
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, dest / name)
    else:  # no git (a source archive): everything but the build and cache folders
        shutil.copytree(REPO, dest, ignore=shutil.ignore_patterns(*COPY_IGNORE), dirs_exist_ok=True)
    return dest


# ---- running ----------------------------------------------------------------------------------------


def _env(bin_dir: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "RAY_ADDRESS", "COLUMNS", "LINES")}
    if bin_dir is not None:
        env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(bin_dir.parent)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")
    env["PYTHONIOENCODING"] = "utf-8"
    # a Ray that another test started beside this one (pytest -n) must not be joined and then lost
    env["RAY_ADDRESS"] = "local"
    return env


def _option(argv: list[str], *names: str) -> str | None:
    for i, word in enumerate(argv[:-1]):
        if word in names:
            return argv[i + 1]
    return None


def _set_option(argv: list[str], names: tuple[str, ...], value: str) -> list[str]:
    out = list(argv)
    for i, word in enumerate(out[:-1]):
        if word in names:
            out[i + 1] = value
            return out
    return [*out, names[0], value]


@dataclass
class Run:
    """One way the test runs a README command: the words, and what must hold afterwards."""

    argv: list[str]
    outputs: list[str]
    says: str | None = None  # text the output must contain


def is_text_generation(argv: list[str]) -> bool:
    return argv[:2] == ["simulacra", "text"] and len(argv) > 2 and argv[2] != "export"


def adapt(argv: list[str], server_url: str) -> list[Run]:
    """How the test runs a README command (see the module docstring for each change)."""
    argv = ["shared/" + w[len("/shared/") :] if w.startswith("/shared/") else w for w in argv]
    if argv[:1] == ["simulacra"] and len(argv) > 1 and argv[1] in ("rules", "sample"):
        n = _option(argv, "-n", "--rows")
        if n is not None and n.isdigit() and int(n) > ROWS_CAP:
            argv = _set_option(argv, ("-n", "--rows"), str(ROWS_CAP))
    trains = argv[:2] in (["simulacra", "fit"], ["simulacra", "finetune"])
    deep = _option(argv, "--model", "--synthesizer", "-s") in DEEP_MODELS
    if trains and (deep or _option(argv, "--max-minutes") is not None):
        argv = _set_option(argv, ("--max-minutes",), DEEP_MINUTES)
    outputs = [v for v in (_option(argv, "--out", "-o"), _option(argv, "--json")) if v]
    if argv[:2] == ["simulacra", "demo"] and not outputs:
        outputs = ["simulacra-demo/report.html"]
    if not is_text_generation(argv):
        return [Run(argv, outputs)]
    if "--dry-run" in argv:  # the block's own dry-run form
        return [Run(argv, [], "nothing was sent")]
    served = _set_option(_set_option(argv, ("--backend", "-b"), "openai"), ("--base-url",), server_url)
    if _option(argv, "--model", "-m") is None:
        served = _set_option(served, ("--model", "-m"), "local-stub")
    return [Run([*argv, "--dry-run"], [], "nothing was sent"), Run(served, outputs)]


def run_command(run: Run, bin_dir: Path, cwd: Path) -> str | None:
    """Run one command; None when it did what it must, else what went wrong."""
    env = _env(bin_dir)
    exe = shutil.which(run.argv[0], path=env["PATH"])
    if exe is None:
        return f"{run.argv[0]}: not found in the environment"
    try:
        done = subprocess.run([exe, *run.argv[1:]], cwd=cwd, env=env, capture_output=True, text=True,
                              encoding="utf-8", errors="replace", timeout=COMMAND_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return f"did not finish in {COMMAND_TIMEOUT_S} s"
    said = done.stdout + done.stderr
    if done.returncode != 0:
        return f"exit {done.returncode}:\n{said[-2000:]}"
    missing = [o for o in run.outputs if not (cwd / o).exists()]
    if missing:
        return f"exit 0 but {', '.join(missing)} was not written:\n{said[-1000:]}"
    if run.says and run.says not in " ".join(said.split()):
        return f"exit 0 but the output does not say {run.says!r}:\n{said[-1000:]}"
    return None


# ---- tests ------------------------------------------------------------------------------------------


def test_readme_commands_are_grouped_under_their_install_lines() -> None:
    parsed = parse_readme(README.read_text(encoding="utf-8"))
    checkout = Path("/checkout")
    installs = [" ".join(a) for g in parsed.groups for a in install_plan(g, checkout)]
    assert installs[0] == "-e /checkout", installs  # the Quickstart's line comes first
    for needed in ("/checkout[local-llm]", "/checkout[torch]", "/checkout[ray]", TORCH_PIN):
        assert needed in installs, (needed, installs)
    # torch comes before the extra that needs it, in the same environment
    torch_group = next(g for g in parsed.groups if any("[torch]" in c.text for c in g.installs))
    assert install_plan(torch_group, checkout)[0] == [TORCH_PIN]
    # only the test-suite command is left out, and every example is in a group
    assert [why for _, why in parsed.skipped] == ["the test-suite command: it is this suite"]
    commands = [c.text for g in parsed.groups for c in g.commands]
    assert "simulacra demo" in commands
    text_group = next(g for g in parsed.groups if any("[local-llm]" in c.text for c in g.installs))
    assert any(c.argv[2:3] == ["examples/reviews.yaml"] for c in text_group.commands)


def test_adapting_a_command_keeps_it_and_adds_only_what_the_docstring_says() -> None:
    url = "http://127.0.0.1:1/v1"
    dry, served = adapt(["simulacra", "text", "examples/reviews.yaml", "-n", "200", "--out", "r.jsonl"], url)
    assert dry.argv[-1] == "--dry-run" and dry.outputs == [] and dry.says == "nothing was sent"
    assert served.argv[:7] == ["simulacra", "text", "examples/reviews.yaml", "-n", "200", "--out", "r.jsonl"]
    assert _option(served.argv, "--base-url") == url and served.outputs == ["r.jsonl"]
    (big,) = adapt(["simulacra", "rules", "payments", "-n", "1000000000", "--out", "/shared/pay/"], url)
    assert big.argv == ["simulacra", "rules", "payments", "-n", str(ROWS_CAP), "--out", "shared/pay/"]
    (deep,) = adapt(["simulacra", "fit", "a.csv", "--model", "gan", "--max-minutes", "5", "--out", "m/"], url)
    assert _option(deep.argv, "--max-minutes") == DEEP_MINUTES
    (student,) = adapt(["simulacra", "finetune", "s.jsonl", "--max-minutes", "15", "--out", "st/"], url)
    assert _option(student.argv, "--max-minutes") == DEEP_MINUTES and student.outputs == ["st/"]
    (trees,) = adapt(["simulacra", "fit", "a.csv", "--out", "m/"], url)
    assert trees.argv == ["simulacra", "fit", "a.csv", "--out", "m/"]  # nothing added where nothing is capped
    with pytest.raises(AssertionError, match="shell syntax"):
        shell_commands(1, ["simulacra rules s.yaml --format parquet|csv"])


@pytest.mark.readme
def test_every_readme_example_runs_after_its_install_line(tmp_path: Path) -> None:
    parsed = parse_readme(README.read_text(encoding="utf-8"))
    work = copy_checkout(tmp_path / "checkout")
    venvs = Path(tempfile.mkdtemp(prefix="venvs-", dir=tmp_path))
    # Environments are built one at a time, ahead of the commands: group k+1 installs while group k runs.
    keys = [tuple(shlex.join(p) for p in install_plan(g, work)) for g in parsed.groups]
    builds: dict[tuple[str, ...], Future] = {}
    failures: list[str] = []
    try:
        with ThreadPoolExecutor(max_workers=1) as pool, LocalServer(seed=0) as server:
            for key, group in zip(keys, parsed.groups, strict=True):
                if key not in builds:
                    folder = venvs / f"env{len(builds)}"
                    builds[key] = pool.submit(make_venv, folder, install_plan(group, work))
            for key, group in zip(keys, parsed.groups, strict=True):
                try:
                    bin_dir = builds[key].result()
                except AssertionError as exc:
                    failures.append(f"README.md:{group.installs[0].line}: {exc}")
                    continue
                for command in group.commands:
                    for run in adapt(command.argv, server.url):
                        problem = run_command(run, bin_dir, work)
                        if problem:
                            failures.append(f"README.md:{command.line}: {shlex.join(run.argv)}\n  {problem}")
    finally:
        shutil.rmtree(venvs, ignore_errors=True)  # gigabytes (torch, Ray); the working copy stays on failure
    assert not failures, "\n\n".join(failures)
    shutil.rmtree(work, ignore_errors=True)
