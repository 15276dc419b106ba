"""The HTML validation report: a self-contained page built from a report dict whose numbers come from the
bundled UCI Adult data (real train vs real test split vs a column-wise resample of train as "synthetic")."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape

from simulacra.evaluation import figures as plots
from simulacra.evaluation.html import format_value, render_fragment, render_html
from simulacra.evaluation.tabular import plots as table_plots

BINS = 10
PAIR_COLUMNS = ["age", "education", "marital-status", "occupation", "hours-per-week", "sex", "income"]
HOSTILE = "<script>alert(1)</script>"


# --------------------------------------------------------------------------------------------------
# a realistic report dict, computed from UCI Adult
# --------------------------------------------------------------------------------------------------


def _codes(train: pd.Series, *others: pd.Series) -> tuple[list[str], list[np.ndarray]]:
    """Bins learnt on ``train`` (quantile bins for numbers, top categories + other for text, plus n/a)."""
    frames = [train, *others]
    if pd.api.types.is_numeric_dtype(train):
        edges = np.unique(np.nanquantile(train.to_numpy(dtype=float), np.linspace(0, 1, BINS + 1)))
        if len(edges) < 2:
            edges = np.array([edges[0], edges[0] + 1])
        labels = [f"{lo:g}–{hi:g}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)] + ["(n/a)"]
        out = []
        for s in frames:
            v = s.to_numpy(dtype=float)
            c = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, len(edges) - 2)
            c[np.isnan(v)] = len(labels) - 1
            out.append(c)
        return labels, out
    top = [str(x) for x in train.value_counts().head(BINS).index]
    labels = [*top, "(other)", "(n/a)"]
    out = []
    for s in frames:
        c = pd.Categorical(s.astype("string"), categories=top).codes.astype(np.int64)
        c[c < 0] = len(top)
        c[s.isna().to_numpy()] = len(top) + 1
        out.append(c)
    return labels, out


def _shares(codes: np.ndarray, k: int) -> np.ndarray:
    return np.bincount(codes, minlength=k) / len(codes)


def _acc(a: np.ndarray, b: np.ndarray) -> float:
    return float(1 - 0.5 * np.abs(a - b).sum())


def _nearest(reference: np.ndarray, query: np.ndarray) -> np.ndarray:
    d2 = (query**2).sum(1)[:, None] + (reference**2).sum(1)[None, :] - 2 * query @ reference.T
    return np.sqrt(np.maximum(d2.min(axis=1), 0))


def build_report() -> dict[str, Any]:
    """A full report dict in the shape the evaluation step produces, with real Adult numbers."""
    from simulacra.datasets import load_adult

    train, holdout = load_adult("train"), load_adult("test")
    rng = np.random.default_rng(0)
    # "synthetic": every column resampled independently from train — faithful marginals, broken pairs
    synthetic = pd.DataFrame({c: train[c].to_numpy()[rng.integers(0, len(train), len(train))]
                              for c in train.columns})
    codes, marginals, columns = {}, [], []
    for col in train.columns:
        labels, (ct, ch, cs) = _codes(train[col], holdout[col], synthetic[col])
        k = len(labels)
        st, sh, ss = _shares(ct, k), _shares(ch, k), _shares(cs, k)
        kind = "numeric" if pd.api.types.is_numeric_dtype(train[col]) else "categorical"
        codes[col] = (ct, ch, cs, k)
        marginals.append({"column": col, "kind": kind, "labels": labels, "train": st.tolist(),
                          "synthetic": ss.tolist(), "holdout": sh.tolist(), "accuracy": _acc(st, ss)})
        columns.append({"column": col, "kind": kind, "accuracy": _acc(st, ss), "reference": _acc(st, sh),
                        "missing_train": float(train[col].isna().mean()),
                        "missing_synthetic": float(synthetic[col].isna().mean()),
                        "missing_holdout": float(holdout[col].isna().mean()), "validity": 1.0})
    n = len(PAIR_COLUMNS)
    syn_m, ref_m = np.ones((n, n)), np.ones((n, n))
    for i, a in enumerate(PAIR_COLUMNS):
        for j, b in enumerate(PAIR_COLUMNS[:i]):
            (ta, ha, sa, ka), (tb, hb, sb, kb) = codes[a], codes[b]
            joint = [_shares(x * kb + y, ka * kb) for x, y in ((ta, tb), (ha, hb), (sa, sb))]
            syn_m[i, j] = syn_m[j, i] = _acc(joint[0], joint[2])
            ref_m[i, j] = ref_m[j, i] = _acc(joint[0], joint[1])
    uni = float(np.mean([c["accuracy"] for c in columns]))
    uni_ref = float(np.mean([c["reference"] for c in columns]))
    lower = np.tril_indices(n, -1)
    biv, biv_ref = float(syn_m[lower].mean()), float(ref_m[lower].mean())

    numeric = [c for c in train.columns if pd.api.types.is_numeric_dtype(train[c])]
    mu, sd = train[numeric].mean(), train[numeric].std()
    enc = [((f[numeric] - mu) / sd).fillna(0).to_numpy()[:800] for f in (train, holdout, synthetic)]
    d_syn, d_hol = _nearest(enc[0], enc[2]), _nearest(enc[0], enc[1])
    edges = np.linspace(0, float(np.quantile(np.concatenate([d_syn, d_hol]), 0.98)), 21)
    closer = float((_nearest(enc[0], enc[2]) < _nearest(enc[1], enc[2])).mean())

    target = (train["income"] == ">50K").astype(float)
    target_syn = (synthetic["income"] == ">50K").astype(float)
    feats = [c for c in train.columns if c != "income"]

    def importance(df: pd.DataFrame, y: pd.Series) -> list[float]:
        return [abs(float(pd.Series(pd.factorize(df[c])[0] if df[c].dtype == object else df[c])
                          .corr(y))) for c in feats]

    def score(key: str, label: str, value: float | None, reference: float | None, *, fmt: str = "0.000",
              ideal: str = "higher", status: str = "pass", ci: list[float] | None = None,
              not_computable: str | None = None) -> dict[str, Any]:
        return {"key": key, "label": label, "value": value, "reference": reference, "ci": ci, "ideal": ideal,
                "format": fmt, "status": status, "explain": f"What {label.lower()} shows and does not prove.",
                "not_computable": not_computable}

    return {
        "title": "Synthetic data report",
        "simulacra_version": "0.1.0",
        "seed": 0,
        "created_from": {"synthetic": "syn.parquet", "train": "train.csv", "holdout": "test.csv"},
        "inputs": {"train_rows": len(train), "holdout_rows": len(holdout), "synthetic_rows": len(synthetic),
                   "columns": list(train.columns), "target": "income", "task": "classification"},
        "verdict": {"status": "warn", "reasons": [
            "Single columns look like the real data (accuracy close to the real holdout's).",
            "Relationships between columns are weaker than in real data: pair accuracy is below reference.",
        ]},
        "sections": {
            "fidelity": {
                "status": "warn",
                "summary": "Columns match; pairs of columns are less faithful than a fresh real sample.",
                "scores": [
                    score("accuracy_overall", "Accuracy (1 − TVD), columns and pairs", (uni + biv) / 2,
                          (uni_ref + biv_ref) / 2, status="warn", ci=[(uni + biv) / 2 - 0.002,
                                                                       (uni + biv) / 2 + 0.002]),
                    score("accuracy_univariate", "Column accuracy", uni, uni_ref),
                    score("accuracy_bivariate", "Pair accuracy", biv, biv_ref, status="warn"),
                ],
                "columns": columns,
                "figures": {"marginals": marginals,
                            "pairs": {"columns": PAIR_COLUMNS, "synthetic": syn_m.tolist(),
                                      "reference": ref_m.tolist()}},
            },
            "utility": {
                "status": "n/a",
                "summary": "No model was trained for this report.",
                "scores": [score("tstr_auc", "AUC of a model trained on synthetic, tested on real",
                                 None, None, status="n/a",
                                 not_computable="scikit-learn model training was skipped")],
                "figures": {"importance": {"features": feats, "real": importance(train, target),
                                           "synthetic": importance(synthetic, target_syn)}},
            },
            "privacy": {
                "status": "pass",
                "summary": "Synthetic rows are no closer to training rows than real holdout rows are.",
                "scores": [
                    score("dcr_share", "Share of synthetic rows closer to train than to holdout", closer, 0.5,
                          fmt="%", ideal="0.5"),
                    score("dcr_q05", "Distance to closest training record, 5th percentile",
                          float(np.quantile(d_syn, 0.05)), float(np.quantile(d_hol, 0.05)),
                          ideal="reference"),
                ],
                "figures": {"dcr": {"edges": edges.tolist(),
                                    "synthetic": np.histogram(d_syn, edges)[0].tolist(),
                                    "holdout": np.histogram(d_hol, edges)[0].tolist()}},
            },
        },
    }


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return build_report()


@pytest.fixture(scope="module")
def page(report: dict[str, Any]) -> str:
    return render_html(report)


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------

_EXTERNAL = [
    re.compile(r"""\b(?:src|href|xlink:href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//""", re.I),
    re.compile(r"@import", re.I),
    re.compile(r"""url\(\s*["']?\s*(?:https?:)?//""", re.I),
    re.compile(r"""url\(\s*["']?\s*(?!#)""", re.I),  # url() may only point inside the page (#id)
]


def external_references(html: str) -> list[str]:
    return [m.group(0) for pattern in _EXTERNAL for m in pattern.finditer(html)]


def score_rows(html: str) -> list[str]:
    table = html[html.index('<section class="sim-scorecard">'):]
    table = table[table.index("</thead>"): table.index("</section>")]
    return re.findall(r"<tr>.*?</tr>", table, flags=re.S)


def all_scores(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for sec in report["sections"].values() for s in sec.get("scores", [])]


# --------------------------------------------------------------------------------------------------
# the page
# --------------------------------------------------------------------------------------------------


def test_single_self_contained_document(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<html") == 1 and page.rstrip().endswith("</html>")
    assert page.count("<head>") == 1 and page.count("<body>") == 1
    assert external_references(page) == []
    # the only place an http address may appear is an SVG namespace declaration
    for m in re.finditer(r"https?://", page):
        before = page[max(0, m.start() - 20): m.start()]
        assert re.search(r'xmlns(?::\w+)?="$', before), page[m.start() - 60: m.end() + 40]
    assert "<link" not in page and "<img" not in page and "<iframe" not in page


def test_external_reference_check_catches_links() -> None:
    for bad in ('<img src="https://x/y.png">', '<link href="//cdn/x.css">', "<style>@import 'a.css'</style>",
                '<div style="background:url(https://x/a.png)">', "<style>b{src:url(font.woff)}</style>"):
        assert external_references(bad), bad
    ok = '<svg xmlns="http://www.w3.org/2000/svg"><g clip-path="url(#p1)"/></svg>'
    assert external_references(ok) == []


def test_every_score_label_with_value_and_reference(page: str, report: dict[str, Any]) -> None:
    rows = score_rows(page)
    scores = all_scores(report)
    assert len(rows) == len(scores) == 6
    for s in scores:
        label = str(escape(s["label"]))
        [row] = [r for r in rows if f'<div class="sim-label">{label}</div>' in r]
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        assert cells[1] == format_value(s["value"], s["format"])
        assert cells[2] == format_value(s["reference"], s["format"])
        assert 'class="sim-num sim-val sim-ref"' in row  # the reference sits in its own marked column
    assert "Real holdout (reference)" in page


def test_formats_as_specified(page: str, report: dict[str, Any]) -> None:
    by_key = {s["key"]: s for s in all_scores(report)}
    share = by_key["dcr_share"]
    assert f">{share['value'] * 100:.2f}%<" in page  # "%" format: percent, two decimals
    assert ">50.00%<" in page  # its reference 0.5
    acc = by_key["accuracy_overall"]
    assert f">{acc['value']:.3f}<" in page and f">{acc['reference']:.3f}<" in page
    lo, hi = acc["ci"]
    assert f"{lo:.3f} – {hi:.3f}" in page
    assert "close to 50%" in page  # ideal "0.5" in the score's own format
    assert format_value(0.98765, "0.000") == "0.988"
    assert format_value(0.01234, "%") == "1.23%"
    assert format_value(0.01234, "0.0%") == "1.2%"
    assert format_value(0.5, "0%") == "50%"
    assert format_value(32561, "0") == "32,561"
    assert format_value(None, "%") == format_value(float("nan")) == "—"


def test_header_verdict_and_reasons(page: str, report: dict[str, Any]) -> None:
    assert "<title>Synthetic data report</title>" in page
    assert "32,561" in page and "16,281" in page
    for name in ("syn.parquet", "train.csv", "test.csv"):
        assert f"<code>{name}</code>" in page
    assert "<dd>income (classification)</dd>" in page and "<dt>Seed</dt><dd>0</dd>" in page
    assert 'class="sim-verdict sim-verdict-warn"' in page
    assert "Overall verdict: warn" in page
    for reason in report["verdict"]["reasons"]:
        assert f"<li>{escape(reason)}</li>" in page
    assert "How to read this report" in page


def test_one_svg_per_figure(page: str, report: dict[str, Any]) -> None:
    n_marginals = len(report["sections"]["fidelity"]["figures"]["marginals"])
    assert n_marginals == 15
    assert page.count("<svg") == n_marginals + 3
    gallery = page[page.index('<details class="sim-gallery">'):]
    gallery = gallery[: gallery.index("</details>")]
    assert gallery.count("<svg") == n_marginals
    assert "Figure not available" not in page
    # ids are unique in the page (figures are inlined side by side) and every url(#…) resolves
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    assert set(re.findall(r"url\(#([^)]+)\)", page)) <= set(ids)


def test_column_table(page: str, report: dict[str, Any]) -> None:
    for c in report["sections"]["fidelity"]["columns"]:
        assert f'<span class="sim-label">{escape(c["column"])}</span>' in page
        assert f"{c['accuracy']:.3f}" in page and f"{c['reference']:.3f}" in page
    assert '<span class="sim-tag">target</span>' in page
    workclass = next(c for c in report["sections"]["fidelity"]["columns"] if c["column"] == "workclass")
    assert f"{workclass['missing_train'] * 100:.1f}%" in page


def test_marginal_gallery_is_least_faithful_first(page: str, report: dict[str, Any]) -> None:
    marginals = report["sections"]["fidelity"]["figures"]["marginals"]
    expected = [m["column"] for m in sorted(marginals, key=lambda m: m["accuracy"])]
    shown = re.findall(r'<svg role="img" aria-label="Distribution of ([^"]+)"', page)
    assert shown == expected


def test_deterministic(report: dict[str, Any], page: str) -> None:
    assert render_html(copy.deepcopy(report)) == page
    assert render_fragment(report) == render_fragment(copy.deepcopy(report))


def test_fragment(report: dict[str, Any]) -> None:
    frag = render_fragment(report)
    for tag in ("<html", "<head>", "<body", "<!DOCTYPE", "<script", "<title"):
        assert tag not in frag
    assert frag.startswith("<style>") and '<div class="sim-report">' in frag
    css = frag[len("<style>"): frag.index("</style>")]
    css = re.sub(r"@media[^{]*\{", "", css)
    selectors = [sel.strip() for block in re.findall(r"([^{}]+)\{[^{}]*\}", css) for sel in block.split(",")]
    assert len(selectors) > 50
    unscoped = [s for s in selectors if s and not s.startswith(".sim-report")]
    assert unscoped == []
    assert frag.count("<svg") == 15 + 3
    assert external_references(frag) == []


# --------------------------------------------------------------------------------------------------
# missing and hostile input
# --------------------------------------------------------------------------------------------------


def test_missing_sections_and_not_computable(report: dict[str, Any]) -> None:
    partial = copy.deepcopy(report)
    del partial["sections"]["privacy"]
    partial["sections"]["utility"]["figures"] = None
    partial["sections"]["fidelity"]["scores"][1].update(value=None, reference=None, ci=None,
                                                        not_computable="only 1 column <b>left</b>")
    del partial["verdict"]
    html = render_html(partial)
    assert "not computable: scikit-learn model training was skipped" in html
    assert "not computable: only 1 column &lt;b&gt;left&lt;/b&gt;" in html
    assert "Share of synthetic rows closer to train" not in html  # privacy scores are gone with the section
    privacy = html[html.index("<h2>Privacy</h2>"):]
    assert "This part was not computed for this report." in privacy[: privacy.index("</section>")]
    assert "No overall verdict" in html and "sim-verdict-na" in html
    assert html.count("<svg") == 15 + 1  # marginals and pairs remain


def test_not_computable_hides_value_and_pii_table(report: dict[str, Any]) -> None:
    r = copy.deepcopy(report)
    privacy = r["sections"]["privacy"]
    privacy["scores"].append({"key": "pii_leaks", "label": "PII values found", "value": 0.0, "reference": 0.0,
                              "format": "0", "ideal": "lower", "status": "n/a",
                              "not_computable": "no PII column"})
    privacy["pii"] = {"email": 3, "<phone>": 0}
    html = render_html(r)
    [row] = [row for row in score_rows(html) if "PII values found" in row]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
    assert cells[1] == "—" and cells[2] == "0"
    assert "not computable: no PII column" in row
    assert '<td class="sim-label">email</td>\n<td class="sim-num sim-lag">3</td>' in html
    assert '<td class="sim-label">&lt;phone&gt;</td>\n<td class="sim-num">0</td>' in html
    assert "Personal data (PII) columns" not in render_html(report)


def test_empty_and_broken_reports_render() -> None:
    for report in ({}, {"sections": None, "verdict": None, "inputs": None},
                   {"sections": {"fidelity": {"scores": [{}], "figures": {"marginals": [None]}}}}):
        html = render_html(report)
        assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
        assert "<svg" not in html
    html = render_html({"sections": {"fidelity": {"scores": [{"label": "X"}]}}})
    assert "not computable: no value was reported" in html
    with pytest.raises(TypeError):
        render_html(None)  # type: ignore[arg-type]


def test_broken_figure_shows_reason(report: dict[str, Any]) -> None:
    broken = copy.deepcopy(report)
    broken["sections"]["fidelity"]["figures"]["marginals"][0]["synthetic"] = [0.5]
    broken["sections"]["privacy"]["figures"]["dcr"]["edges"] = [1.0]
    html = render_html(broken)
    assert "figure not available: synthetic shares of" in html
    assert "Figure not available: DCR bin edges must be at least two increasing numbers" in html
    assert html.count("<svg") == 15 + 3 - 2


def test_hostile_names_are_escaped(report: dict[str, Any]) -> None:
    evil = copy.deepcopy(report)
    evil["title"] = HOSTILE
    fid = evil["sections"]["fidelity"]
    fid["figures"]["marginals"][0]["labels"][0] = HOSTILE
    fid["figures"]["marginals"][1]["column"] = '<img src=x onerror="alert(2)">'
    fid["columns"][0]["column"] = HOSTILE
    fid["figures"]["pairs"]["columns"][0] = "<b>pairs</b>"
    fid["scores"][0]["label"] = HOSTILE
    fid["scores"][0]["explain"] = "a & b <i>"
    evil["verdict"]["reasons"].append(HOSTILE)
    evil["inputs"]["columns"][0] = HOSTILE
    evil["created_from"]["train"] = '"><script>alert(3)</script>'
    evil["sections"]["utility"]["figures"]["importance"]["features"][0] = "<u>feature</u>"
    for html in (render_html(evil), render_fragment(evil)):
        assert "<script>alert" not in html
        assert "<img src=x" not in html and "<b>pairs" not in html and "<u>feature" not in html
        assert "a &amp; b &lt;i&gt;" in html
        assert html.count("<script") == (1 if html.startswith("<!DOCTYPE") else 0)  # the print helper only
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown, as text
        assert "&lt;script&gt;alert(1)&lt;…" in html  # the marginal's tick label, cut and escaped in the SVG


# --------------------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------------------


def test_figures_are_clean_deterministic_svg(report: dict[str, Any]) -> None:
    fid = report["sections"]["fidelity"]["figures"]
    calls: list[tuple[Callable[..., str], dict[str, Any]]] = [
        (plots.marginal_svg, fid["marginals"][0]),
        (table_plots.pairs_heatmap_svg, fid["pairs"]),
        (table_plots.dcr_histogram_svg, report["sections"]["privacy"]["figures"]["dcr"]),
        (table_plots.importance_svg, report["sections"]["utility"]["figures"]["importance"]),
    ]
    for fn, data in calls:
        svg = fn(data)
        assert svg.startswith("<svg ") and svg.rstrip().endswith("</svg>")
        assert "<?xml" not in svg and "<!DOCTYPE" not in svg and "<metadata" not in svg
        assert "<style" not in svg and "matplotlib.org" not in svg
        assert fn(copy.deepcopy(data)) == svg
        assert external_references(svg) == []


def test_figures_ignore_and_keep_the_callers_matplotlib_settings(report: dict[str, Any]) -> None:
    import matplotlib as mpl

    data = report["sections"]["fidelity"]["figures"]["marginals"][0]
    before = plots.marginal_svg(data)
    custom = {"font.size": 30.0, "axes.facecolor": "black", "lines.linewidth": 5.0, "svg.fonttype": "path",
              "svg.hashsalt": None, "axes.prop_cycle": mpl.cycler(color=["red"])}
    with mpl.rc_context(custom):
        assert plots.marginal_svg(data) == before
        assert mpl.rcParams["font.size"] == 30.0 and mpl.rcParams["svg.hashsalt"] is None


def test_marginal_labels_truncated_and_literal() -> None:
    data = {"column": "colour", "kind": "categorical", "accuracy": 0.9,
            "labels": ["a category name that is far too long", "$5$ & up", "blue", "(n/a)"],
            "train": [0.5, 0.3, 0.2, 0.0], "synthetic": [0.4, 0.4, 0.2, 0.0],
            "holdout": [0.5, 0.25, 0.25, 0.0]}
    svg = plots.marginal_svg(data)
    assert plots.truncate_label("a category name that is far too long") == "a category name t…"
    assert "a category name t…" in svg and "far too long" not in svg
    assert re.search(r">\$5\$ &amp; up</text>", svg)  # plain text (no mathtext), escaped
    assert "(n/a)" not in svg  # a bin empty everywhere is left out
    assert "accuracy 90.0%" in svg and "real holdout" in svg
    assert "real holdout" not in plots.marginal_svg(data, legend=False)
    assert plots.truncate_label("short") == "short"


def test_marginal_without_holdout_and_bad_input() -> None:
    svg = plots.marginal_svg({"column": "x", "labels": ["a", "b"], "train": [0.5, 0.5], "synthetic": [1, 0]})
    assert "real holdout" not in svg and "synthetic" in svg
    with pytest.raises(ValueError, match="no bins"):
        plots.marginal_svg({"column": "x", "labels": [], "train": []})
    with pytest.raises(ValueError, match="expected 2"):
        plots.marginal_svg({"column": "x", "labels": ["a", "b"], "train": [1.0]})
    with pytest.raises(ValueError, match="two columns"):
        table_plots.pairs_heatmap_svg({"columns": ["a"], "synthetic": [[1.0]]})
    with pytest.raises(ValueError, match="no features"):
        table_plots.importance_svg({"features": [], "real": []})


def test_thirty_marginals_all_render(report: dict[str, Any]) -> None:
    fid = report["sections"]["fidelity"]
    big = copy.deepcopy(report)
    marginals = fid["figures"]["marginals"]
    big["sections"]["fidelity"]["figures"]["marginals"] = [
        {**marginals[i % len(marginals)], "column": f"{marginals[i % len(marginals)]['column']} #{i}"}
        for i in range(30)
    ]
    html = render_html(big)
    assert html.count("<svg") == 33
