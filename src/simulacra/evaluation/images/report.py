"""The image report: every score beside the real holdout's, a verdict, and an HTML page with grids of
real and synthetic images per class and the synthetic images closest to a training image.

Sections: *fidelity* (Fréchet distance and KID in the feature space of a classifier trained on the
real train split, precision / recall / density / coverage, label fidelity), *utility* (train on
synthetic, test on real, against train on real) and *privacy* (the DCR share for images, nearest
distances to the train split, exact copies). Randomness is keyed ``(seed, "evaluate", "images", ...)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import DataError, UsageError
from ...images.folder import ImageSet, conform
from ...progress import ProgressLike, as_progress
from ...seeding import derive_rng
from ..report import Report
from ..scores import below_status, dcr_status, jsonable, score, utility_status, verdict, worst
from . import metrics as m

SECTIONS = ("fidelity", "utility", "privacy")
MIN_IMAGES = 20
# Fréchet distance and KID: warn above WARN times the holdout's, fail above FAIL times
DISTANCE_WARN, DISTANCE_FAIL = 2.0, 4.0
# precision / recall / density / coverage: warn and fail this far under the holdout's
PRDC_WARN, PRDC_FAIL = 0.10, 0.25
# label fidelity: warn and fail this far under the real classifier's holdout accuracy
LABEL_WARN, LABEL_FAIL = 0.05, 0.15
NOT_INCEPTION = (
    "Fréchet distance and KID are measured in the features of a small classifier trained on the real "
    "train split (scikit-learn MLP on the pixels), not Inception FID: Inception's weights cannot be "
    "fetched at run time and ImageNet features say little about small or medical images. Compare them "
    "with the holdout's value in this report, not with published FIDs."
)


class ImageReport(Report):
    """The image report: the numbers (``to_dict``, ``save_json``) and a self-contained HTML page."""

    def __init__(self, data: dict, pictures: dict) -> None:
        super().__init__(data)
        self.pictures = pictures

    def save_html(self, path: Any) -> Any:
        """Write one self-contained HTML page (pictures as PNG data URIs; opens offline)."""
        from pathlib import Path

        from ...io import atomic_path
        from .html import render_page

        p = Path(path)
        with atomic_path(p) as tmp:
            tmp.write_text(render_page(self.data, self.pictures), encoding="utf-8")
        return p

    def _repr_html_(self) -> str:
        from .html import render_page

        return render_page(self.data, self.pictures)


def _status_distance(value: float | None, ref: float | None, noise: float = 0.0) -> str:
    """Warn / fail above :data:`DISTANCE_WARN` / :data:`DISTANCE_FAIL` times the holdout's value, plus
    ``noise`` (three standard errors of the reference, for the unbiased KID that can fall below 0)."""
    if value is None or ref is None:
        return "n/a"
    ref = max(ref, 0.0)
    fail, warn = DISTANCE_FAIL * ref + noise, DISTANCE_WARN * ref + noise
    return "fail" if value > fail else "warn" if value > warn else "pass"


def _check(name: str, s: ImageSet) -> None:
    if len(s) < MIN_IMAGES:
        raise DataError(f"the {name} images number {len(s)}; the report needs at least {MIN_IMAGES}")


def evaluate_images(
    *,
    synthetic: ImageSet,
    train: ImageSet,
    holdout: ImageSet,
    sections: tuple[str, ...] | list[str] = SECTIONS,
    seed: int = 0,
    max_images: int = 5000,
    sources: dict[str, str] | None = None,
    progress: ProgressLike = None,
) -> ImageReport:
    """Compare ``synthetic`` images with the ``train`` images they were learned from, on ``holdout``.

    Every set is brought to the train images' size and mode (the folder policy). ``max_images`` caps
    each set (a seeded subsample) for the classifiers and distances."""
    bad = [s for s in sections if s not in SECTIONS]
    if bad or not sections:
        raise UsageError(
            f"unknown image report section '{bad[0] if bad else ''}'; choose from {', '.join(SECTIONS)}"
        )
    for name, s in (("synthetic", synthetic), ("train", train), ("holdout", holdout)):
        _check(name, s)
    bar = as_progress(progress)
    shape = train.images.shape[1:]
    notes = [NOT_INCEPTION]
    rng = derive_rng(seed, "evaluate", "images", "subsample")
    sets = {}
    for name, s in (("train", train), ("holdout", holdout), ("synthetic", synthetic)):
        idx = m.subsample(s.images, max_images, rng)
        if s.images.shape[1:] != shape:
            notes.append(
                f"{name} images ({'×'.join(map(str, s.images.shape[1:]))}) brought to the train size "
                f"{'×'.join(map(str, shape))}"
            )
        images = conform(s.images[idx], shape)
        sets[name] = (images, None if s.labels is None else np.asarray(s.labels, dtype=str)[idx])
    labelled = all(sets[k][1] is not None for k in sets)
    if not labelled:
        notes.append(
            "some images have no labels: label fidelity and train-on-synthetic are not computable, "
            "and the features are PCA scores of the train pixels"
        )
    x = {k: m.flat(v[0]) for k, v in sets.items()}
    y = {k: v[1] for k, v in sets.items()} if labelled else dict.fromkeys(sets)
    bar.start(len(sections) + 1, "image checks")
    net = m.feature_net(x["train"], y["train"], x["holdout"], y["holdout"], seed)
    feats = {k: net(v) for k, v in x.items()}
    if net.accuracy is not None:
        notes.append(f"feature network accuracy on the real holdout: {net.accuracy:.3f}")
    bar(1)
    real_clf = m.svc(x["train"], y["train"]) if labelled else None
    out: dict[str, dict] = {}
    if "fidelity" in sections:
        out["fidelity"] = _fidelity(feats, x, y, real_clf, seed)
        bar(1)
    if "utility" in sections:
        out["utility"] = _utility(x, y, real_clf)
        bar(1)
    closest = []
    if "privacy" in sections:
        out["privacy"], closest = _privacy(x, seed)
        bar(1)
    for sec in out.values():
        sec["status"] = worst(s["status"] for s in sec["scores"])
    reasons = {
        (
            "fidelity",
            "fail",
        ): "The synthetic images are far from the real ones in the feature space or in label.",
        ("fidelity", "warn"): "The synthetic images are further from the real ones than a fresh real sample.",
        (
            "utility",
            "fail",
        ): "A classifier trained on the synthetic images does much worse than one trained on "
        "the real images.",
        (
            "utility",
            "warn",
        ): "A classifier trained on the synthetic images does somewhat worse than on real ones.",
        ("privacy", "fail"): "The synthetic images lie closer to the training images than fresh images do: "
        "the model may have memorised some.",
        (
            "privacy",
            "warn",
        ): "The synthetic images lie somewhat closer to the training images than fresh images.",
    }
    keys = ("frechet", "kid", "label_fidelity", "tstr_ratio", "dcr_share", "copies")
    data = {
        "kind": "images",
        "verdict": verdict(
            out,
            reasons=reasons,
            reason_keys=keys,
            pass_text="The synthetic images are as close to the real ones as a real holdout.",
        ),
        "notes": notes,
        "inputs": {
            "sources": sources or {},
            "images": {k: len(v[0]) for k, v in sets.items()},
            "shape": list(shape),
            "classes": sorted({str(c) for c in (train.labels if train.labels is not None else [])}),
            "feature_network": {"kind": net.kind, "holdout_accuracy": net.accuracy},
            "seed": seed,
        },
        "sections": out,
    }
    pictures = _pictures(sets, closest, seed)
    return ImageReport(jsonable(data), pictures)


def _fidelity(feats: dict, x: dict, y: dict, real_clf: Any, seed: int) -> dict:
    rng = derive_rng(seed, "evaluate", "images", "fidelity")
    n_h = len(feats["holdout"])
    syn = feats["synthetic"][m.subsample(feats["synthetic"], n_h, rng)]  # the holdout's size: fair
    # the Fréchet distance on every synthetic image: on a few hundred its noise (the class mix of the
    # subsample) outweighs the differences between models
    fd, fd_ref = m.frechet(feats["train"], feats["synthetic"]), m.frechet(feats["train"], feats["holdout"])
    (kd, _), (kd_ref, kd_se) = m.kid(feats["train"], syn, seed), m.kid(feats["train"], feats["holdout"], seed)
    pr = m.prdc_scores(feats["train"], syn)
    pr_ref = m.prdc_scores(feats["train"], feats["holdout"])
    scores = [
        score(
            "frechet",
            "Fréchet distance (classifier features)",
            fd,
            fd_ref,
            ideal="lower",
            status=_status_distance(fd, fd_ref),
            fmt="0.00",
            explain="Distance between Gaussians fitted to the features of the synthetic and the train "
            "images; the holdout's is what fresh real images score. Not Inception FID. Every synthetic "
            "image counts (up to 5,000): the estimate falls as sets grow, so with more synthetic than "
            "holdout images the holdout's value is a lenient reference.",
        ),
        score(
            "kid",
            "KID (classifier features)",
            kd,
            kd_ref,
            ideal="lower",
            status=_status_distance(kd, kd_ref, 3 * kd_se),
            fmt="0.0000",
            explain="Kernel distance (cubic polynomial MMD², unbiased): like the Fréchet "
            "distance without the Gaussian assumption.",
        ),
    ]
    names = {
        "precision": "how many synthetic images fall inside the real images' manifold",
        "recall": "how much of the real manifold the synthetic images cover",
        "density": "how many real neighbourhoods hold each synthetic image (1 is real-like)",
        "coverage": "the share of real images with a synthetic image among their neighbours",
    }
    for key, what in names.items():
        scores.append(
            score(
                key,
                key.capitalize(),
                pr[key],
                pr_ref[key],
                ideal="higher",
                status=below_status(pr[key], pr_ref[key], PRDC_WARN, PRDC_FAIL),
                explain=f"prdc package, k = 5, in the classifier features: {what}.",
            )
        )
    if real_clf is not None:
        agree = float((real_clf.predict(x["synthetic"]) == y["synthetic"]).mean())
        acc = float((real_clf.predict(x["holdout"]) == y["holdout"]).mean())
        scores.append(
            score(
                "label_fidelity",
                "Label fidelity",
                agree,
                acc,
                ideal="higher",
                status=below_status(agree, acc, LABEL_WARN, LABEL_FAIL),
                explain="Share of synthetic images a classifier trained on the real train images "
                "(SVC) gives the label they were sampled for; the reference is its holdout "
                "accuracy.",
            )
        )
    else:
        scores.append(
            score(
                "label_fidelity",
                "Label fidelity",
                None,
                None,
                ideal="higher",
                status="n/a",
                explain="Needs labelled images.",
                not_computable="the images have no labels",
            )
        )
    return {"scores": scores}


def _utility(x: dict, y: dict, real_clf: Any) -> dict:
    if real_clf is None:
        return {
            "scores": [
                score(
                    "tstr_ratio",
                    "Train synthetic / test real",
                    None,
                    None,
                    ideal="higher",
                    status="n/a",
                    explain="Needs labelled images.",
                    not_computable="the images have no labels",
                )
            ]
        }
    trtr = float((real_clf.predict(x["holdout"]) == y["holdout"]).mean())
    if len(set(y["synthetic"])) < 2:
        tstr, why = None, "the synthetic images hold one class only"
    else:
        tstr, why = (
            float((m.svc(x["synthetic"], y["synthetic"]).predict(x["holdout"]) == y["holdout"]).mean()),
            None,
        )
    ratio = None if tstr is None or trtr <= 0 else tstr / trtr
    return {
        "scores": [
            score(
                "tstr",
                "Accuracy, trained on synthetic (on the real holdout)",
                tstr,
                trtr,
                ideal="higher",
                status="pass" if tstr is not None else "n/a",
                not_computable=why,
                explain="An SVC trained on the synthetic images, tested on the real holdout; the reference "
                "is the same SVC trained on the real train images.",
            ),
            score(
                "tstr_ratio",
                "Train synthetic / train real",
                ratio,
                1.0,
                ideal="higher",
                status=utility_status(ratio),
                not_computable=why,
                explain="The accuracy above over the real-trained one (1 = as useful as the real images).",
            ),
        ],
    }


def _privacy(x: dict, seed: int) -> tuple[dict, list]:
    d = m.dcr_share(x["train"], x["holdout"], x["synthetic"], seed)
    share = d["share_closer_to_train"]
    copies_status = "fail" if d["copies_synthetic"] > d["copies_holdout"] + 0.01 else "pass"
    med, med_ref = d["median_synthetic_train"], d["median_holdout_train"]
    scores = [
        score(
            "dcr_share",
            "DCR share (closer to train than to holdout)",
            share,
            0.5,
            ideal="0.5",
            status=dcr_status(share, d["p_value"]),
            explain=f"Share of {d['n_synthetic']:,} synthetic images whose nearest real image (pixels) is a "
            f"train image, train and holdout cut to {d['n_reference']:,} each; 0.5 when nothing is memorised "
            f"(binomial p = {d['p_value']:.3g}).",
        ),
        score(
            "dcr_median",
            "Median distance to the nearest train image",
            med,
            med_ref,
            ideal="higher",
            status="warn" if med < 0.5 * med_ref else "pass",
            fmt="0.00",
            explain="Pixel distance (values in [0, 1]) from each synthetic image to its nearest train image; "
            "the reference is the holdout's.",
        ),
        score(
            "copies",
            "Exact copies of train images",
            d["copies_synthetic"],
            d["copies_holdout"],
            ideal="lower",
            status=copies_status,
            fmt="0.0%",
            explain="Share of synthetic images identical to a train image, beside the holdout's share.",
        ),
    ]
    return {"scores": scores}, d["closest"]


def _pictures(sets: dict, closest: list, seed: int, per_class: int = 10) -> dict:
    """PNG data for the page: per class, a row of real (train) and of synthetic images; the closest pairs."""
    from ...images.folder import png_bytes

    rng = derive_rng(seed, "evaluate", "images", "pictures")
    train, y_train = sets["train"]
    syn, y_syn = sets["synthetic"]
    grids = []
    classes = sorted(set(y_train.tolist())) if y_train is not None else [None]
    for c in classes[:50]:
        rows = {}
        for side, (imgs, labels) in (("real", (train, y_train)), ("synthetic", (syn, y_syn))):
            pick = np.arange(len(imgs)) if c is None else np.flatnonzero(labels == c)
            if len(pick) > per_class:
                pick = np.sort(rng.choice(pick, per_class, replace=False))
            rows[side] = [png_bytes(imgs[i]) for i in pick]
        grids.append({"label": "all images" if c is None else str(c), **rows})
    pairs = [
        {"synthetic": png_bytes(syn[s]), "train": png_bytes(train[t]), "distance": dist}
        for s, t, dist in closest
    ]
    return {"grids": grids, "pairs": pairs}
