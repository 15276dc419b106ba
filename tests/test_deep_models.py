"""The deep models of the [torch] extra (autoregressive, diffusion, GAN) on real data (UCI Adult).

Each model is trained for a few epochs on a few thousand rows: enough to test the contract (fit,
sample, conditions, constraints, imputation, save/load, determinism, privacy ledger, CLI errors),
not the quality targets, which live in benchmarks/deep.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulacra import TabularSynthesizer
from simulacra.datasets import load_adult
from simulacra.errors import ConditionError, ModelFormatError, UsageError
from simulacra.evaluation.tabular.fidelity import accuracy
from simulacra.evaluation.tabular.privacy import identical_match_share
from simulacra.progress import Progress
from simulacra.schema import infer_schema
from simulacra.schema.model import Schema

ROWS = 3000
FAST = {
    "autoregressive": {"epochs": 8, "batch_size": 128, "hidden": 64},
    "diffusion": {"epochs": 30, "batch_size": 128, "hidden": 128, "layers": 2},
    "gan": {"epochs": 8, "batch_size": 100, "eval_every": 4},
}
MODELS = list(FAST)


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return load_adult("train").head(ROWS).reset_index(drop=True)


@pytest.fixture(scope="module")
def fitted(adult: pd.DataFrame) -> dict[str, TabularSynthesizer]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "the GAN model is experimental", UserWarning)
        return {m: TabularSynthesizer(m, seed=1, **FAST[m]).fit(adult) for m in MODELS}


def _independent(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """``df`` with every column shuffled on its own: the same marginals, no dependence at all."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: df[c].to_numpy()[rng.permutation(len(df))] for c in df.columns})


def _assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    shown = f"rc={result.returncode}\nstderr={result.stderr!r}"
    assert result.returncode == 2, shown
    assert "Traceback" not in result.stderr, shown
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), shown
    for f in fragments:
        assert f.lower() in lines[0].lower(), shown


# -- the contract ---------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_sample_has_the_tables_shape(model: str, fitted: dict, adult: pd.DataFrame) -> None:
    syn = fitted[model].sample(2000, seed=3)
    assert list(syn.columns) == list(adult.columns)
    assert len(syn) == 2000
    assert syn["age"].dtype.kind == "i" and syn["income"].isin(adult["income"].unique()).all()
    # the marginals (an untrained GAN scores about 0.5 here)
    assert accuracy(adult, syn)["univariate"] > (0.9 if model == "gan" else 0.95)


@pytest.mark.parametrize("model", ["autoregressive", "diffusion"])
def test_sample_learns_the_dependence_between_columns(model: str, fitted: dict, adult: pd.DataFrame) -> None:
    """A margin over independent columns, not a floor: the pairs of the synthetic rows beat those of
    the training rows with every column shuffled on its own, and shuffling the synthetic rows' columns
    loses at least half of what shuffling fresh real rows loses (measured at 8 and 30 epochs:
    autoregressive +0.034 and 0.046 of 0.052, diffusion +0.026 and 0.035 to 0.039)."""
    syn = fitted[model].sample(2000, seed=3)
    fresh = load_adult("train").iloc[ROWS : ROWS + 2000].reset_index(drop=True)

    def pairs(df: pd.DataFrame) -> float:
        return accuracy(adult, df)["bivariate"]

    assert pairs(syn) > pairs(_independent(adult).head(2000)) + 0.015
    assert pairs(syn) - pairs(_independent(syn)) > 0.5 * (pairs(fresh) - pairs(_independent(fresh)))


def test_gan_warns_that_it_is_experimental(adult: pd.DataFrame) -> None:
    """The GAN learns the marginals but hardly any dependence (TSTR AUC 0.51 on Adult): it says so."""
    with pytest.warns(UserWarning, match="GAN model is experimental and has poor utility"):
        TabularSynthesizer("gan", seed=0, epochs=1, batch_size=100).fit(adult.head(300))


@pytest.mark.parametrize("model", MODELS)
def test_same_seed_same_rows_after_save_and_load(model: str, fitted: dict, tmp_path: Path) -> None:
    synth = fitted[model]
    a = synth.sample(700, seed=5)
    synth.save(tmp_path / "m")
    files = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert files == ["arrays.npz", "model.json", "weights.safetensors"]
    assert json.loads((tmp_path / "m" / "model.json").read_text())["format_version"] == 2
    back = TabularSynthesizer.load(tmp_path / "m")
    pd.testing.assert_frame_equal(a, back.sample(700, seed=5))
    assert not a.equals(back.sample(700, seed=6))


@pytest.mark.parametrize("model", MODELS)
def test_conditions_hold_on_every_row(model: str, fitted: dict) -> None:
    syn = fitted[model].sample(400, conditions={"sex": "Female", "age": (30, 40)}, seed=2)
    assert (syn["sex"] == "Female").all()
    assert syn["age"].between(30, 40).all()
    with pytest.raises(ConditionError):
        fitted[model].sample(10, conditions={"sex": "Robot"})


def test_autoregressive_condition_moves_the_other_columns(fitted: dict, adult: pd.DataFrame) -> None:
    """Likelihood weighting conditions the columns before the conditioned one too."""
    synth = fitted["autoregressive"]
    rich = synth.sample(1500, conditions={"income": ">50K"}, seed=4)
    poor = synth.sample(1500, conditions={"income": "<=50K"}, seed=4)
    real_gap = (
        adult.loc[adult["income"] == ">50K", "age"].mean()
        - adult.loc[adult["income"] == "<=50K", "age"].mean()
    )
    assert real_gap > 5
    assert rich["age"].mean() - poor["age"].mean() > real_gap / 3


@pytest.mark.parametrize("model", ["autoregressive", "diffusion"])
def test_constraints_hold(model: str, adult: pd.DataFrame) -> None:
    df = adult[adult["age"].between(18, 80)]
    schema = Schema.from_dict(
        {
            **infer_schema(df).to_dict(),
            "constraints": [
                {"fixed": ["education", "education-num"]},
                {"range": "age", "min": 18, "max": 80},
            ],
        }
    )
    syn = TabularSynthesizer(model, seed=0, **FAST[model]).fit(df, schema=schema).sample(1500)
    pairs = set(map(tuple, df[["education", "education-num"]].to_numpy().tolist()))
    assert set(map(tuple, syn[["education", "education-num"]].to_numpy().tolist())) <= pairs
    assert syn["age"].between(18, 80).all()


@pytest.mark.parametrize("model", ["autoregressive", "diffusion"])
def test_imputation_keeps_known_cells_and_follows_them(model: str, fitted: dict) -> None:
    synth = fitted[model]
    rng = np.random.default_rng(0)
    codes = synth.model_.sample_codes(600, rng)
    names = [mc.name for mc in synth.model_columns_]
    known = np.ones_like(codes, dtype=bool)
    known[:, names.index("relationship")] = False
    filled = synth.model_.impute_codes(np.where(known, codes, 0), known, np.random.default_rng(1))
    assert (filled[known] == codes[known]).all()
    rel = synth.model_columns_[names.index("relationship")].codec
    sex = synth.model_columns_[names.index("sex")].codec
    husband, female = rel.code_of("Husband"), sex.code_of("Female")
    women = codes[:, names.index("sex")] == female
    assert women.sum() > 50
    # the imputed relationship follows the known sex: husbands are (nearly) all men
    imputed_husband = filled[:, names.index("relationship")] == husband
    assert imputed_husband[~women].mean() > 0.3
    assert imputed_husband[women].mean() < 0.25 * imputed_husband[~women].mean()


def test_time_cap_stops_training(adult: pd.DataFrame) -> None:
    synth = TabularSynthesizer("autoregressive", seed=0, epochs=50, max_minutes=1e-4).fit(adult)
    report = synth.model_.report_
    assert report["stopped"] == "time" and report["epochs_run"] == 1

    class Notes(Progress):  # keeps the epoch lines a CLI would print
        def __init__(self) -> None:
            super().__init__()
            self.lines: list[str] = []

        def note(self, text: str) -> None:
            self.lines.append(text)

    notes = Notes()
    TabularSynthesizer("diffusion", seed=0, **FAST["diffusion"]).fit(adult, progress=notes)
    assert notes.lines[0].startswith("epoch 1/30 · loss") and "s left" in notes.lines[0]
    assert notes.total == 30 and 1 <= notes.done == len(notes.lines) <= 30


def test_early_stopping_on_validation(adult: pd.DataFrame) -> None:
    synth = TabularSynthesizer("autoregressive", seed=0, epochs=60, hidden=256, lr=1e-2, patience=2).fit(
        adult
    )
    report = synth.model_.report_
    assert report["stopped"] == "early" and report["epochs_run"] < 60
    assert report["best_epoch"] == report["epochs_run"] - 2


def test_no_copies_of_training_rows(adult: pd.DataFrame) -> None:
    """Identical matches with the training rows stay at the level a fresh real sample shows."""
    train, holdout = adult.head(2000), load_adult("test").head(2000)
    synth = TabularSynthesizer("autoregressive", seed=0, epochs=30, patience=30).fit(train)  # overtrained
    syn = synth.sample(2000)
    assert identical_match_share(train, syn) <= identical_match_share(train, holdout) + 0.005


# -- differential privacy ------------------------------------------------------------------------


def test_private_model_keeps_a_ledger_and_no_rare_value(adult: pd.DataFrame, tmp_path: Path) -> None:
    synth = TabularSynthesizer("autoregressive", seed=0, epsilon=2.0, delta=1e-5, dp_epochs=2, dp_hidden=32)
    synth.fit(adult)
    ledger = synth.model_.privacy_
    assert 0 < ledger["epsilon_spent"] <= 2.0 + 1e-6
    assert ledger["delta"] == 1e-5 and "DP-SGD" in ledger["dp_sgd"]["mechanism"]
    assert ledger["dp_sgd"]["noise_multiplier"] > 0
    assert any(c["bounds"] == "DP histogram" for c in ledger["codecs"]["columns"] if "bounds" in c)
    syn = synth.sample(3000)
    counts = adult["native-country"].value_counts()
    rare = set(counts[counts < 20].index)
    assert rare and not (set(syn["native-country"].dropna()) & rare)
    synth.save(tmp_path / "dp")
    saved = json.loads((tmp_path / "dp" / "model.json").read_text())
    assert saved["model"]["privacy"]["epsilon_spent"] == ledger["epsilon_spent"]


def test_private_bounds_come_from_the_schema_range(adult: pd.DataFrame) -> None:
    df = adult[adult["age"].between(17, 90)]
    schema = Schema.from_dict(
        {**infer_schema(df).to_dict(), "constraints": [{"range": "age", "min": 17, "max": 90}]}
    )
    synth = TabularSynthesizer("autoregressive", seed=0, epsilon=4.0, dp_epochs=1, dp_hidden=32).fit(
        df, schema=schema
    )
    cols = {c["column"]: c for c in synth.model_.privacy_["codecs"]["columns"]}
    assert cols["age"]["bounds"] == "schema range"
    assert cols["fnlwgt"]["bounds"] == "DP histogram"


@pytest.mark.parametrize(
    ("model", "params", "fragment"),
    [
        ("autoregressive", {"epsilon": 0}, "epsilon"),
        ("autoregressive", {"epsilon": 1, "delta": 2}, "delta"),
        ("diffusion", {"max_minutes": -1}, "max_minutes"),
        ("gan", {"epochs": 0}, "epochs"),
    ],
)
def test_bad_options_are_usage_errors(model: str, params: dict, fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment):
        TabularSynthesizer(model, **params).fit(load_adult("train").head(50))


def test_damaged_weights_are_a_format_error(fitted: dict, tmp_path: Path) -> None:
    fitted["autoregressive"].save(tmp_path / "m")
    (tmp_path / "m" / "weights.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelFormatError, match="weights.safetensors"):
        TabularSynthesizer.load(tmp_path / "m")


def test_fits_leave_torchs_global_generator_alone(adult: pd.DataFrame) -> None:
    import torch

    before = torch.random.get_rng_state()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "the GAN model is experimental", UserWarning)
        for model in MODELS:
            TabularSynthesizer(model, seed=0, epochs=1, batch_size=100).fit(adult.head(300))
        TabularSynthesizer("autoregressive", epsilon=2.0, dp_epochs=1).fit(adult.head(300))
    assert torch.equal(before, torch.random.get_rng_state())


def test_deep_models_make_randomness_only_through_seeding() -> None:
    """No global seed and no generator made on the side: everything goes through simulacra.seeding."""
    import simulacra.tabular.models.deep as deep

    files = sorted(Path(deep.__file__).parent.glob("*.py"))
    assert len(files) >= 5
    for path in files:
        text = path.read_text()
        for needle in ("default_rng(", "manual_seed(", "np.random.seed(", "torch.seed(", "RandomState("):
            assert needle not in text, f"{path.name} calls {needle}"


# -- command line and the optional torch ----------------------------------------------------------


def test_cli_fits_a_private_time_capped_model_and_samples(cli, adult_csv: Path, tmp_path: Path) -> None:
    r = cli(
        "fit",
        adult_csv,
        "--model",
        "autoregressive",
        "--max-minutes",
        "0.05",
        "--epsilon",
        "4",
        "--out",
        "m",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert "epoch 1/" in r.stderr and "s left" in r.stderr
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["synthesizer"] == "autoregressive" and meta["model"]["privacy"]["epsilon_target"] == 4
    r = cli("sample", "m", "-n", "300", "--out", "s.csv", "--where", "sex=Male", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (pd.read_csv(tmp_path / "s.csv")["sex"] == "Male").all()


def test_cli_gan_fit_warns_in_one_line(cli, adult_csv: Path, tmp_path: Path) -> None:
    r = cli("fit", adult_csv, "--model", "gan", "--max-minutes", "0.01", "--out", "m", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    warned = [line for line in r.stderr.splitlines() if "experimental" in line]
    assert len(warned) == 1 and warned[0].startswith("warning: the GAN model is experimental"), r.stderr
    assert "UserWarning" not in r.stderr and "warnings.warn" not in r.stderr


def _damage(folder: Path, how: str) -> None:
    meta_file = folder / "model.json"
    meta = json.loads(meta_file.read_text())
    if how == "truncated weights":
        data = (folder / "weights.safetensors").read_bytes()
        (folder / "weights.safetensors").write_bytes(data[: len(data) // 2])
        return
    if how == "edited width":
        meta["model"]["params"]["hidden"] = 32
    elif how == "edited order":
        order = meta["model"]["order"]
        order[0], order[-1] = order[-1], order[0]
    meta_file.write_text(json.dumps(meta))


@pytest.mark.parametrize(
    ("how", "fragments"),
    [
        ("truncated weights", ["weights.safetensors", "damaged", "refit"]),
        ("edited width", ["weights.safetensors", "model.json", "refit"]),
        ("edited order", ["model.json", "column order", "refit"]),
    ],
)
def test_cli_names_the_damaged_file_of_a_deep_model(
    cli, fitted: dict, tmp_path: Path, how: str, fragments: list
) -> None:
    fitted["autoregressive"].save(tmp_path / "m")
    _damage(tmp_path / "m", how)
    r = cli("sample", "m", "-n", "10", "--out", "x.csv", cwd=tmp_path)
    _assert_one_line_error(r, *fragments)
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--model", "trees", "--epsilon", "2"], ["--epsilon", "autoregressive"]),
        (["-s", "copula", "--max-minutes", "1"], ["--max-minutes", "deep models"]),
        (["--model", "gan", "--max-minutes", "0"], ["max_minutes"]),
        (["--model", "autoregressive", "--delta", "1e-5"], ["--delta needs --epsilon"]),
        (["--model", "autoregressiv"], ["unknown synthesizer", "autoregressive", "diffusion", "gan"]),
    ],
)
def test_cli_bad_fit_options_are_one_line(
    cli, adult_csv: Path, tmp_path: Path, args: list, fragments: list
) -> None:
    _assert_one_line_error(cli("fit", adult_csv, *args, "--out", "m", cwd=tmp_path), *fragments)
    assert not (tmp_path / "m").exists()


def _without_torch(code: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run Python code in a fresh interpreter where ``import torch`` fails, as on a core install."""
    prelude = (
        "import sys, importlib.abc\n"
        "class NoTorch(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'safetensors', 'opacus'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, NoTorch())\n"
    )
    return subprocess.run(
        [sys.executable, "-c", prelude + code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_core_runs_without_torch_and_says_what_to_install(adult_csv: Path, tmp_path: Path) -> None:
    r = _without_torch(
        "import simulacra, sys\n"
        "from simulacra import TabularSynthesizer\n"
        "import pandas as pd\n"
        f"s = TabularSynthesizer('trees').fit(pd.read_csv({str(adult_csv)!r}).head(300))\n"
        "assert len(s.sample(50)) == 50\n"
        "from simulacra.cli.main import main\n"
        f"main(['fit', {str(adult_csv)!r}, '--model', 'diffusion', '--out', 'm'])\n",
        tmp_path,
    )
    _assert_one_line_error(r, "model 'diffusion' needs the [torch] extra", "pip install 'simulacra[torch]'")
    assert not (tmp_path / "m").exists()


def test_import_simulacra_does_not_import_torch(tmp_path: Path) -> None:
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, simulacra, simulacra.tabular, simulacra.cli.main;"
            "from simulacra.tabular.models import get_model_class; get_model_class('trees');"
            "print('torch' in sys.modules)",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"
