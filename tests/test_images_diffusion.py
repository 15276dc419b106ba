"""The image diffusion model of the [torch] extra on real data (scikit-learn's digits, 8×8).

Each fit runs a few epochs on a few hundred images: enough for the contract (fit, progress, time cap,
sampling per class, chunk determinism, save/load through safetensors, damaged weights, the DP-SGD
ledger, the CLI and the core without torch), not for the quality targets, which live in
benchmarks/images.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from simulacra.errors import ModelFormatError, UsageError
from simulacra.images import ImageSynthesizer, write_image_folder
from simulacra.progress import Progress

FAST = {"epochs": 4, "batch_size": 64, "channels": 16, "sample_steps": 8}


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    d = load_digits()
    return np.round(d.images[:400] / 16 * 255).astype(np.uint8), d.target[:400].astype(str)


@pytest.fixture(scope="module")
def fitted(digits) -> ImageSynthesizer:
    images, labels = digits
    return ImageSynthesizer("diffusion", seed=0, **FAST).fit(images, labels)


class Notes(Progress):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def note(self, text: str) -> None:
        self.lines.append(text)


def _assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    shown = f"rc={result.returncode}\nstderr={result.stderr!r}"
    assert result.returncode == 2 and "Traceback" not in result.stderr, shown
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), shown
    for f in fragments:
        assert f.lower() in lines[0].lower(), shown


def test_fit_reports_epochs_with_time_left_and_samples_each_class(digits) -> None:
    images, labels = digits
    notes = Notes()
    s = ImageSynthesizer("diffusion", seed=0, **FAST, guidance=2.0).fit(images, labels, progress=notes)
    assert len(notes.lines) == FAST["epochs"] and all("left" in line for line in notes.lines)
    report = s.model_.report_
    assert report["epochs_run"] == FAST["epochs"] and report["history"][-1][1] < report["history"][0][1]
    out = s.sample(30, where={"label": "3"})
    assert out.images.shape == (30, 8, 8, 1) and set(out.labels) == {"3"}
    assert out.images.std() > 10  # not a constant picture


def test_time_cap_stops_training(digits) -> None:
    images, labels = digits
    s = ImageSynthesizer("diffusion", seed=0, **{**FAST, "epochs": 500}, max_minutes=0.02).fit(images, labels)
    assert s.model_.report_["stopped"] == "time" and s.model_.report_["epochs_run"] < 500


def test_same_seed_same_bytes_whatever_the_chunking_and_after_load(fitted, tmp_path: Path) -> None:
    plan = fitted.plan(40, seed=3, chunk_rows=16)  # 16, 16, 8
    chunks = {k: fitted.sample_chunk(plan, k) for k in (2, 0, 1)}
    joined = np.concatenate([chunks[k].images for k in range(3)])
    again = np.concatenate([c.images for c in fitted.iter_chunks(fitted.plan(40, seed=3, chunk_rows=16))])
    assert np.array_equal(joined, again)
    whole = fitted.sample(40, seed=3)
    fitted.save(tmp_path / "m")
    assert (tmp_path / "m" / "weights.safetensors").exists()
    loaded = ImageSynthesizer.load(tmp_path / "m")
    assert np.array_equal(loaded.sample(40, seed=3).images, whole.images)
    assert not np.array_equal(fitted.sample(40, seed=4).images, whole.images)


def test_damaged_weights_are_a_format_error(fitted, tmp_path: Path) -> None:
    fitted.save(tmp_path / "m")
    (tmp_path / "m" / "weights.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(ModelFormatError, match="weights.safetensors: is damaged"):
        ImageSynthesizer.load(tmp_path / "m")


def test_fit_leaves_torchs_global_generator_alone(digits) -> None:
    import torch

    images, labels = digits
    before = torch.random.get_rng_state()
    ImageSynthesizer("diffusion", seed=0, **{**FAST, "epochs": 1}).fit(images[:100], labels[:100])
    assert torch.equal(before, torch.random.get_rng_state())


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"channels": 12}, "channels"),
        ({"max_minutes": 0}, "max_minutes"),
        ({"epsilon": -1}, "epsilon"),
        ({"guidance": -1}, "guidance"),
        ({"wings": 2}, "wings"),
    ],
)
def test_bad_options_are_usage_errors(digits, params: dict, fragment: str) -> None:
    images, labels = digits
    with pytest.raises(UsageError, match=fragment):
        ImageSynthesizer("diffusion", **params).fit(images, labels)


def test_private_fit_keeps_a_ledger(digits, tmp_path: Path) -> None:
    images, labels = digits
    s = ImageSynthesizer("diffusion", seed=0, **FAST, epsilon=3.0, dp_epochs=2, dp_batch_size=64)
    s.fit(images, labels)
    ledger = s.model_.privacy_
    assert 0 < ledger["epsilon_spent"] <= 3.0 + 1e-6 and ledger["dp_sgd"]["noise_multiplier"] > 0
    assert "DP-SGD" in ledger["dp_sgd"]["mechanism"] and ledger["outside_budget"]
    assert s.model_.report_["epochs_run"] == 2 and "history" not in s.model_.report_  # data-blind
    s.save(tmp_path / "dp")
    saved = json.loads((tmp_path / "dp" / "model.json").read_text())
    assert saved["state"]["privacy"]["epsilon_spent"] == ledger["epsilon_spent"]
    assert s.sample(10).images.shape == (10, 8, 8, 1)


def test_cli_fits_a_time_capped_private_diffusion_and_samples(cli, digits, tmp_path: Path) -> None:
    images, labels = digits
    write_image_folder(tmp_path / "images", images[:200], labels[:200])
    r = cli("fit", "images", "--out", "m", "--max-minutes", "0.05", "--epsilon", "5", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["model"] == "diffusion" and meta["state"]["privacy"]["epsilon_target"] == 5
    assert meta["state"]["params"]["max_minutes"] == 0.05
    r = cli("sample", "m", "-n", "12", "--rebalance", "label", "--out", "s", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert len(list((tmp_path / "s").rglob("*.png"))) == 12
    _assert_one_line_error(
        cli("fit", "images", "--out", "m2", "--model", "pca", "--max-minutes", "1", cwd=tmp_path),
        "--max-minutes",
        "diffusion",
    )
    _assert_one_line_error(cli("fit", "images", "--out", "m2", "--delta", "1e-5", cwd=tmp_path), "--delta")


def test_core_without_torch_fits_the_baseline_and_says_what_to_install(digits, tmp_path: Path) -> None:
    images, labels = digits
    write_image_folder(tmp_path / "images", images[:200], labels[:200])
    prelude = (
        "import sys, importlib.abc\n"
        "class NoTorch(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'safetensors', 'opacus'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, NoTorch())\n"
        "from simulacra.cli.main import main\n"
    )

    def run(args: list[str]) -> subprocess.CompletedProcess:
        code = prelude + f"main({args!r})\n"
        return subprocess.run(
            [sys.executable, "-c", code],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert run(["fit", "images", "--out", "m", "--model", "pca", "--quiet"]).returncode == 0
    _assert_one_line_error(run(["fit", "images", "--out", "m2"]), "simulacra[torch]", "--model pca")
    assert run(["sample", "m", "-n", "5", "--out", "s", "--quiet"]).returncode == 0
