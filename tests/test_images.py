"""Images without torch: folder reading and its policy, the PCA + Gaussian mixture baseline, sampling
(conditions, rebalancing, chunk determinism), model directories, the image report and the CLI.

Real data: scikit-learn's bundled digits (8×8, 1,797 images, 10 classes), written as PNGs into an
ImageFolder (the first 1,400 images train, the rest are the holdout).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.svm import SVC

from simulacra.errors import ConditionError, DataError, ModelFormatError, UsageError
from simulacra.images import ImageSet, ImageSynthesizer, read_image_folder, write_image_folder
from simulacra.images.synthesizer import IMAGE_CHUNK

N_TRAIN = 1400


def _assert_one_line_error(result, *fragments: str) -> None:  # noqa: ANN001
    shown = f"rc={result.returncode}\nstderr={result.stderr!r}"
    assert result.returncode == 2, shown
    assert "Traceback" not in result.stderr, shown
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), shown
    for f in fragments:
        assert f.lower() in lines[0].lower(), shown


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    d = load_digits()
    return np.round(d.images / 16 * 255).astype(np.uint8), d.target.astype(str)


@pytest.fixture(scope="module")
def folders(digits, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    images, labels = digits
    root = tmp_path_factory.mktemp("digits")
    write_image_folder(root / "train", images[:N_TRAIN], labels[:N_TRAIN])
    write_image_folder(root / "test", images[N_TRAIN:], labels[N_TRAIN:])
    return {"root": root, "train": root / "train", "test": root / "test"}


@pytest.fixture(scope="module")
def pca(folders) -> ImageSynthesizer:
    return ImageSynthesizer("pca", seed=0).fit(folders["train"])


def _pixels(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1) / 255.0


# -- folders ---------------------------------------------------------------------------------------


def test_image_folder_round_trip_keeps_pixels_and_labels(digits, folders) -> None:
    images, labels = digits
    s = read_image_folder(folders["train"])
    assert s.images.shape == (N_TRAIN, 8, 8, 1) and s.images.dtype == np.uint8
    assert s.classes == [str(i) for i in range(10)]
    order = np.argsort([int(Path(f).stem) for f in s.files])  # files are read per label folder
    assert np.array_equal(s.images[order][..., 0], images[:N_TRAIN])
    assert np.array_equal(s.labels[order], labels[:N_TRAIN])


def test_mixed_sizes_and_modes_follow_the_stated_policy(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    Image.new("L", (8, 8), 200).save(tmp_path / "a" / "1.png")
    Image.new("L", (8, 8), 100).save(tmp_path / "a" / "2.png")
    Image.new("RGB", (16, 8), (255, 0, 0)).save(tmp_path / "a" / "3.png")
    s = read_image_folder(tmp_path)
    assert s.images.shape == (3, 8, 8, 3)  # one colour image makes the folder RGB; most common size
    assert any("mixed sizes" in n for n in s.notes) and any("mixed modes" in n for n in s.notes)
    assert s.images[0].min() == s.images[0].max() == 200  # grayscale repeated into the three channels
    sized = read_image_folder(tmp_path, image_size=4)
    assert sized.images.shape == (3, 4, 4, 3)
    assert tuple(sized.images[2, 2, 2]) == (255, 0, 0)  # the centre crop of the red image stays red


@pytest.mark.parametrize(
    "make, fragment",
    [
        (lambda p: None, "holds no images"),
        (lambda p: (p / "7").mkdir(), "holds no images"),
        (
            lambda p: ((p / "7").mkdir(), (p / "7" / "a.png").write_bytes(b"not a png")),
            "a.png: cannot be read",
        ),
        (
            lambda p: (
                (p / "7").mkdir(),
                Image.new("L", (8, 8)).save(p / "7" / "a.png"),
                (p / "7" / "notes.txt").write_text("x"),
            ),
            "notes.txt: is not an image",
        ),
        (
            lambda p: (
                (p / "7").mkdir(),
                Image.new("L", (8, 8)).save(p / "7" / "a.png"),
                Image.new("L", (8, 8)).save(p / "b.png"),
            ),
            "both images",
        ),
    ],
)
def test_bad_folders_are_one_line_data_errors(tmp_path: Path, make, fragment: str) -> None:
    make(tmp_path)
    with pytest.raises(DataError, match=fragment) as info:
        read_image_folder(tmp_path)
    assert "\n" not in str(info.value)


def test_a_label_folder_with_one_image_is_refused_at_fit(tmp_path: Path, digits) -> None:
    images, labels = digits
    write_image_folder(tmp_path / "f", images[:200], np.where(np.arange(200) == 0, "rare", labels[:200]))
    with pytest.raises(DataError, match=r"rare: holds 1 image; a class needs at least 5"):
        ImageSynthesizer("pca").fit(tmp_path / "f")


# -- the baseline learns ---------------------------------------------------------------------------


def test_pca_baseline_learns_the_classes(pca, digits) -> None:
    images, labels = digits
    x_test, y_test = _pixels(images[N_TRAIN:]), labels[N_TRAIN:]
    real = SVC().fit(_pixels(images[:N_TRAIN]), labels[:N_TRAIN])
    trtr = (real.predict(x_test) == y_test).mean()
    syn = pca.sample(2000, rebalance="label", seed=1)
    tstr = (SVC().fit(_pixels(syn.images), syn.labels).predict(x_test) == y_test).mean()
    assert tstr >= 0.9 * trtr and tstr > 0.8  # chance is 0.1
    fidelity = (real.predict(_pixels(syn.images)) == syn.labels).mean()
    assert fidelity >= 0.95


def test_same_seed_same_bytes_whatever_the_chunking(pca, tmp_path: Path) -> None:
    n = 2 * IMAGE_CHUNK + 17
    whole = pca.sample(n, seed=4)
    pca.save(tmp_path / "m")
    other = ImageSynthesizer.load(tmp_path / "m")
    plan = other.plan(n, seed=4)
    chunks = {k: other.sample_chunk(plan, k) for k in reversed(range(len(plan.sizes)))}  # any order
    joined = np.concatenate([chunks[k].images for k in range(len(plan.sizes))])
    assert len(plan.sizes) == 3 and np.array_equal(whole.images, joined)
    assert np.array_equal(whole.labels, np.concatenate([chunks[k].labels for k in range(3)]))
    assert not np.array_equal(whole.images, pca.sample(n, seed=5).images)


def test_where_and_rebalance(pca) -> None:
    assert set(pca.sample(300, where={"label": "7"}).labels) == {"7"}
    assert set(pca.sample(300, where={"label": ["3", "7"]}).labels) == {"3", "7"}
    _, counts = np.unique(pca.sample(1000, rebalance="label").labels, return_counts=True)
    assert counts.max() - counts.min() <= 1 and len(counts) == 10
    with pytest.raises(ConditionError, match="label=11: unknown label"):
        pca.sample(10, where={"label": "11"})
    with pytest.raises(ConditionError, match="one column"):
        pca.sample(10, where={"colour": "red"})


def test_arrays_in_and_out(digits) -> None:
    images, labels = digits
    s = ImageSynthesizer("pca", image_size=16).fit(images[:300] / 255.0 * (255 / 255), labels[:300])
    out = s.sample(20)
    assert isinstance(out, ImageSet) and out.images.shape == (20, 16, 16, 1) and out.images.dtype == np.uint8
    with pytest.raises(DataError, match="float pixels"):
        ImageSynthesizer("pca").fit(images[:300] * 1.0, labels[:300])
    with pytest.raises(UsageError, match="image_size"):
        ImageSynthesizer("pca", image_size=2).fit(images[:300], labels[:300])


def test_save_load_round_trip_and_damaged_model(pca, tmp_path: Path) -> None:
    pca.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["synthesizer"] == "images" and meta["model"] == "pca"
    again = ImageSynthesizer.load(tmp_path / "m")
    assert np.array_equal(again.sample(50, seed=2).images, pca.sample(50, seed=2).images)
    (tmp_path / "m" / "arrays.npz").write_bytes(b"garbage")
    with pytest.raises(ModelFormatError, match="arrays.npz: is damaged"):
        ImageSynthesizer.load(tmp_path / "m")


# -- the report ------------------------------------------------------------------------------------


def test_report_scores_the_baseline_and_catches_copies(pca, folders, tmp_path: Path) -> None:
    from simulacra import evaluate

    train, test = read_image_folder(folders["train"]), read_image_folder(folders["test"])
    syn = pca.sample(1000, rebalance="label", seed=0)
    report = evaluate(synthetic=syn, train=train, holdout=test)
    scores = {s["key"]: s for sec in report.data["sections"].values() for s in sec["scores"]}
    assert scores["label_fidelity"]["value"] >= 0.95
    assert scores["tstr_ratio"]["value"] >= 0.9
    assert {"precision", "recall", "density", "coverage", "frechet", "kid", "dcr_share"} <= set(scores)
    assert any("not Inception FID" in n for n in report.data["notes"])
    assert report.data["inputs"]["feature_network"]["holdout_accuracy"] > 0.85
    copies = evaluate(synthetic=ImageSet(train.images[:800], train.labels[:800]), train=train, holdout=test)
    privacy = {s["key"]: s for s in copies.data["sections"]["privacy"]["scores"]}
    assert privacy["copies"]["status"] == "fail" and privacy["dcr_share"]["status"] == "fail"
    assert copies.verdict == "fail"
    page = report.save_html(tmp_path / "r.html").read_text()
    assert (
        page.count("data:image/png;base64,") >= 2 * 10 * 8
        and "http://" not in page
        and "https://" not in page
    )


# -- command line ----------------------------------------------------------------------------------


def test_cli_fit_sample_evaluate(cli, folders, tmp_path: Path) -> None:
    r = cli("fit", folders["train"], "--out", "model", "--model", "pca", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = cli(
        "sample", "model", "-n", "30", "--where", "label=7", "--out", "synthetic", "--quiet", cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr
    index = (tmp_path / "synthetic" / "index.csv").read_text().splitlines()
    assert index[0] == "file,label" and len(index) == 31 and all(line.endswith(",7") for line in index[1:])
    assert len(list((tmp_path / "synthetic" / "7").glob("*.png"))) == 30
    r = cli(
        "sample", "model", "-n", "200", "--rebalance", "label", "--out", "balanced", "--quiet", cwd=tmp_path
    )
    assert r.returncode == 0 and len(list((tmp_path / "balanced").iterdir())) == 11
    r = cli(
        "evaluate",
        "--synthetic",
        "balanced",
        "--train",
        folders["train"],
        "--holdout",
        folders["test"],
        "--out",
        "report.html",
        "--json",
        "r.json",
        "--quiet",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "r.json").read_text())["kind"] == "images"


def test_cli_image_size_resizes_and_is_refused_for_tables(
    cli, folders, adult_csv: Path, tmp_path: Path
) -> None:
    r = cli(
        "fit",
        folders["train"],
        "--out",
        "m16",
        "--model",
        "pca",
        "--image-size",
        "16",
        "--quiet",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "m16" / "model.json").read_text())["shape"] == [16, 16, 1]
    _assert_one_line_error(
        cli("fit", adult_csv, "--out", "m", "--image-size", "16", cwd=tmp_path), "--image-size"
    )
    _assert_one_line_error(
        cli("fit", folders["train"], "--out", "m", "--model", "pca", "--image-size", "3", cwd=tmp_path),
        "--image-size",
    )


def test_cli_bad_inputs_are_one_line_and_write_nothing(cli, folders, tmp_path: Path, pca) -> None:
    pca.save(tmp_path / "model")
    bad = tmp_path / "bad"
    (bad / "3").mkdir(parents=True)
    Image.new("L", (8, 8)).save(bad / "3" / "ok.png")
    (bad / "3" / "broken.png").write_bytes(b"\x89PNG truncated")
    _assert_one_line_error(cli("fit", bad, "--out", "m", "--model", "pca", cwd=tmp_path), "broken.png")
    one = tmp_path / "one"
    write_image_folder(one, np.zeros((7, 8, 8), np.uint8), ["a"] * 6 + ["b"])
    _assert_one_line_error(cli("fit", one, "--out", "m", "--model", "pca", cwd=tmp_path), "b: holds 1 image")
    (tmp_path / "empty").mkdir()
    _assert_one_line_error(cli("fit", "empty", "--out", "m", "--image-size", "8", cwd=tmp_path), "no images")
    assert not (tmp_path / "m").exists()
    _assert_one_line_error(
        cli("sample", "model", "-n", "5", "--where", "label=12", "--out", "s", cwd=tmp_path),
        "label=12",
        "unknown label",
    )
    _assert_one_line_error(
        cli("sample", "model", "-n", "5", "--rebalance", "colour", "--out", "s", cwd=tmp_path),
        "--rebalance colour",
    )
    _assert_one_line_error(
        cli("sample", "model", "-n", "5", "--engine", "ray", "--out", "s", cwd=tmp_path), "--engine"
    )
    assert not (tmp_path / "s").exists()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("keep me")
    _assert_one_line_error(cli("sample", "model", "-n", "5", "--out", "full", cwd=tmp_path), "not empty")
    _assert_one_line_error(
        cli("fit", folders["train"], "--out", "m", "--model", "pca", "--kind", "a=integer", cwd=tmp_path),
        "--kind",
    )
    _assert_one_line_error(
        cli(
            "evaluate",
            "--synthetic",
            folders["test"],
            "--train",
            folders["train"],
            "--holdout",
            folders["test"],
            "--target",
            "label",
            cwd=tmp_path,
        ),
        "--target",
    )
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert not leftovers


def test_cli_names_the_damaged_file_of_an_image_model(cli, pca, tmp_path: Path) -> None:
    pca.save(tmp_path / "model")
    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    del meta["state"]
    (tmp_path / "model" / "model.json").write_text(json.dumps(meta))
    _assert_one_line_error(
        cli("sample", "model", "-n", "5", "--out", "s", cwd=tmp_path), "model.json", "refit"
    )
    (tmp_path / "model" / "model.json").write_text("{broken")
    _assert_one_line_error(cli("sample", "model", "-n", "5", "--out", "s", cwd=tmp_path), "model.json")
