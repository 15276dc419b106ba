"""Render a validation report (the plain dict built by the evaluation step) as one self-contained HTML page.

The page needs no network: CSS is inline, figures are inline SVG (see :mod:`simulacra.evaluate.plots`),
there are no web fonts, images or external scripts (only a one-line inline script that unfolds the
collapsed parts before printing). Every value taken from the report — column names, category labels,
reasons, explanations — is HTML-escaped by jinja2's autoescaping; the figures' text is escaped by
matplotlib's SVG writer. The output is deterministic: the same dict gives the same bytes.

Missing parts are tolerated: an absent section, figure or score field, or a score whose ``value`` is
``None`` with a ``not_computable`` reason, renders as a note instead of failing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import Environment, StrictUndefined
from markupsafe import Markup

from simulacra.evaluate import plots

__all__ = ["format_value", "render_fragment", "render_html"]

SECTION_ORDER = ("fidelity", "utility", "privacy")
SECTION_TITLES = {
    "fidelity": "Fidelity",
    "utility": "Utility",
    "privacy": "Privacy",
}
# the text report (inputs.kind == "text") shows its own sections, in this order
TEXT_SECTION_ORDER = ("diversity", "realism", "utility", "leakage")
TEXT_SECTION_TITLES = {
    "diversity": "Diversity",
    "realism": "Realism",
    "utility": "Utility: train-synthetic, test-real",
    "leakage": "Leakage and bias",
}
TEXT_SECTION_QUESTIONS = {
    "diversity": "Are the synthetic texts as varied as real texts — words, meaning, length — without "
    "repeats?",
    "realism": "Can the synthetic texts be told from real held-out texts, and do they cover the same ground?",
    "utility": "Does a classifier trained with the synthetic texts label real unseen texts better than one "
    "trained on the real examples alone?",
    "leakage": "Do the synthetic texts copy the real examples, carry personal data or skew the labels?",
}
SECTION_QUESTIONS = {
    "fidelity": "Does the synthetic data look like the real data, column by column and pair by pair?",
    "utility": "Does a model trained on synthetic data predict real, unseen data about as well as one "
    "trained on real data?",
    "privacy": "Are synthetic rows no closer to the training rows than fresh real rows are?",
}
STATUS_TEXT = {"pass": "pass", "warn": "warn", "fail": "fail", "n/a": "n/a"}
STATUS_ICON = {"pass": "✓", "warn": "!", "fail": "✕", "n/a": "–"}
VERDICT_HEADLINE = {
    "pass": "Pass — no problem found by these checks",
    "warn": "Warning — usable with care, review the points below",
    "fail": "Fail — the synthetic data should not be used as it is",
    "n/a": "No overall verdict",
}
IDEAL_TEXT = {
    "higher": "higher is better",
    "lower": "lower is better",
    "reference": "close to the reference",
}
# a column whose accuracy is more than this below its reference is highlighted in the column table
COLUMN_LAG = 0.03

_FMT_RE = re.compile(r"^0(?:\.(0+))?(%)?$")


# --------------------------------------------------------------------------------------------------
# formatting
# --------------------------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def format_value(value: Any, fmt: str | None = None) -> str:
    """Format a score ``value`` as the report shows it.

    ``fmt`` is ``"%"`` (percent, two decimals), a pattern such as ``"0.000"`` / ``"0"`` / ``"0.0%"``
    (that many decimals), or ``None`` (three decimals; thousands separated from 1,000 on).
    ``None``, NaN and infinities give ``"—"``; a string is shown as it is.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    x = _number(value)
    if x is None:
        return "—"
    fmt = (fmt or "").strip()
    if fmt == "%":
        return f"{x * 100:.2f}%"
    match = _FMT_RE.match(fmt)
    if match:
        decimals = len(match.group(1) or "")
        if match.group(2):
            return f"{x * 100:.{decimals}f}%"
        return f"{x:,.{decimals}f}"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3f}"


def _format_ci(ci: Any, fmt: str | None) -> str:
    if not isinstance(ci, list | tuple) or len(ci) != 2:
        return "—"
    lo, hi = (format_value(v, fmt) for v in ci)
    return "—" if lo == "—" and hi == "—" else f"{lo} – {hi}"


def _ideal_text(ideal: Any, fmt: str | None) -> str:
    if ideal is None:
        return ""
    text = str(ideal)
    if text in IDEAL_TEXT:
        return IDEAL_TEXT[text]
    try:
        x = float(text)
    except ValueError:
        return text
    percent = fmt is not None and str(fmt).strip().endswith("%")
    return f"close to {x * 100:g}%" if percent else f"close to {text}"


def _status(value: Any) -> str:
    text = str(value).strip().lower() if value is not None else "n/a"
    return text if text in STATUS_TEXT else "n/a"


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _count(value: Any) -> str:
    x = _number(value)
    return f"{x:,.0f}" if x is not None else "—"


# --------------------------------------------------------------------------------------------------
# view model
# --------------------------------------------------------------------------------------------------


def _score_row(score: Mapping[str, Any]) -> dict[str, Any]:
    fmt = score.get("format")
    reason = score.get("not_computable")
    value = score.get("value")
    if reason is None and _number(value) is None and not isinstance(value, str | bool):
        reason = "no value was reported" if "value" not in score or value is None else None
    status = _status(score.get("status"))
    return {
        "key": str(score.get("key") or ""),
        "label": str(score.get("label") or score.get("key") or "(unnamed measure)"),
        "value": format_value(value, fmt) if reason is None else "—",
        "reference": format_value(score.get("reference"), fmt),
        "ci": _format_ci(score.get("ci"), fmt),
        "ideal": _ideal_text(score.get("ideal"), fmt),
        "status": status,
        "explain": str(score.get("explain") or ""),
        "not_computable": str(reason) if reason is not None else None,
    }


def _figure(render: Callable[..., str], data: Any, **kwargs: Any) -> dict[str, Any]:
    """Render one figure, or keep the reason why it could not be drawn."""
    if not isinstance(data, Mapping):
        return {"svg": None, "error": "no data for this figure"}
    try:
        return {"svg": Markup(render(data, **kwargs)), "error": None}
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        return {"svg": None, "error": str(exc) or type(exc).__name__}


def _marginals(items: list[Any]) -> list[dict[str, Any]]:
    entries = [m for m in items if isinstance(m, Mapping)]

    def key(m: Mapping[str, Any]) -> tuple[int, float]:
        acc = _number(m.get("accuracy"))
        return (0, acc) if acc is not None else (1, 0.0)

    out = []
    for m in sorted(entries, key=key):  # least faithful first; stable for ties and unknowns
        fig = _figure(plots.marginal_svg, m, legend=False)
        fig["column"] = str(m.get("column", ""))
        out.append(fig)
    return out


def _column_rows(columns: list[Any], target: str | None) -> list[dict[str, Any]]:
    rows = []
    for c in columns:
        if not isinstance(c, Mapping):
            continue
        acc, ref = _number(c.get("accuracy")), _number(c.get("reference"))
        rows.append({
            "column": str(c.get("column", "")),
            "kind": str(c.get("kind") or ""),
            "is_target": target is not None and str(c.get("column")) == target,
            "accuracy": format_value(acc, "0.000"),
            "reference": format_value(ref, "0.000"),
            "lag": acc is not None and ref is not None and acc < ref - COLUMN_LAG,
            "missing_train": format_value(c.get("missing_train"), "0.0%"),
            "missing_synthetic": format_value(c.get("missing_synthetic"), "0.0%"),
            "missing_holdout": format_value(c.get("missing_holdout"), "0.0%"),
            "validity": format_value(c.get("validity"), "0.0%"),
        })
    return rows


def _tables(items: list[Any]) -> list[dict[str, Any]]:
    """Generic tables of a section (``title``, ``note``, ``columns``, ``formats``, ``rows``), formatted."""
    out = []
    for t in items:
        if not isinstance(t, Mapping):
            continue
        columns = [str(c) for c in _list(t.get("columns"))]
        formats = _list(t.get("formats")) or [None] * len(columns)
        rows = []
        for row in _list(t.get("rows")):
            cells = []
            for j, v in enumerate(_list(row)):
                fmt = formats[j] if j < len(formats) else None
                cells.append({"text": str(v) if fmt is None and isinstance(v, str) else format_value(v, fmt),
                              "num": fmt is not None})
            rows.append(cells)
        out.append({"title": str(t.get("title") or ""), "note": str(t.get("note") or ""),
                    "columns": columns, "num": [f is not None for f in formats], "rows": rows})
    return out


def _section(name: str, data: Any, target: str | None, kind: str = "table") -> dict[str, Any]:
    present = isinstance(data, Mapping)
    data = _dict(data)
    figures = _dict(data.get("figures"))
    titles, questions = ((TEXT_SECTION_TITLES, TEXT_SECTION_QUESTIONS) if kind == "text"
                         else (SECTION_TITLES, SECTION_QUESTIONS))
    section: dict[str, Any] = {
        "name": name,
        "title": titles.get(name, name.replace("_", " ").capitalize()),
        "question": questions.get(name, ""),
        "present": present,
        "status": _status(data.get("status")),
        "summary": str(data.get("summary") or ""),
        "scores": [_score_row(s) for s in _list(data.get("scores")) if isinstance(s, Mapping)],
        "figures": [],
        "columns": _column_rows(_list(data.get("columns")), target),
        "marginals": _marginals(_list(figures.get("marginals"))),
        "pii": [{"column": str(k), "count": _count(v), "leak": (_number(v) or 0) > 0}
                for k, v in _dict(data.get("pii")).items()],
    }
    if "pairs" in figures:
        section["figures"].append({
            **_figure(plots.pairs_heatmap_svg, figures.get("pairs")),
            "caption": "Accuracy of every pair of columns. Left: synthetic data compared with the training "
            "data. Right: the real holdout compared with the training data, the level a fresh real sample "
            "reaches. Similar colours on both sides are good; a pale cell only on the left marks a "
            "relationship between two columns that the generator did not learn.",
        })
    if "importance" in figures:
        section["figures"].append({
            **_figure(plots.importance_svg, figures.get("importance")),
            "caption": "How much each column drives the predictions of a model trained on real data (grey) "
            "and of the same kind of model trained on synthetic data (orange). Similar bars mean the "
            "synthetic data teaches the same patterns.",
        })
    if "dcr" in figures:
        section["figures"].append({
            **_figure(plots.dcr_histogram_svg, figures.get("dcr")),
            "caption": "For every synthetic row (orange) and every real holdout row (blue), the distance "
            "to the most similar training row. The holdout shows what genuinely new records look like. "
            "If the orange mass sits clearly to the left of the blue — especially at 0, exact copies — "
            "the synthetic data is too close to the training rows.",
        })
    if kind == "text":
        from simulacra.evaluate.text.plots import figure_specs

        for render, fig_data, caption in figure_specs(figures):
            section["figures"].append({**_figure(render, fig_data), "caption": caption})
    section["tables"] = _tables(_list(data.get("tables")))
    return section


def _context(report: Mapping[str, Any]) -> dict[str, Any]:
    inputs = _dict(report.get("inputs"))
    files = _dict(report.get("created_from"))
    verdict = _dict(report.get("verdict"))
    target = str(inputs["target"]) if inputs.get("target") is not None else None
    sections_in = _dict(report.get("sections"))
    kind = "text" if inputs.get("kind") == "text" else "table"
    order = TEXT_SECTION_ORDER if kind == "text" else SECTION_ORDER
    names = list(order) + [str(k) for k in sections_in if k not in order]
    sections = [_section(name, sections_in.get(name), target, kind) for name in names]
    datasets = [
        {"role": "Real train", "hint": "what the generator learned from",
         "rows": _count(inputs.get("train_rows")), "file": files.get("train")},
        {"role": "Real holdout", "hint": "real rows the generator never saw",
         "rows": _count(inputs.get("holdout_rows")), "file": files.get("holdout")},
        {"role": "Synthetic", "hint": "the generated data under test",
         "rows": _count(inputs.get("synthetic_rows")), "file": files.get("synthetic")},
    ]
    columns = [str(c) for c in _list(inputs.get("columns"))]
    facts = []
    if columns:
        facts.append(("Columns", f"{len(columns):,}"))
    if target is not None:
        task = inputs.get("task")
        facts.append(("Target", f"{target} ({task})" if task else target))
    if report.get("seed") is not None:
        facts.append(("Seed", str(report.get("seed"))))
    if report.get("simulacra_version"):
        facts.append(("simulacra", str(report.get("simulacra_version"))))
    status = _status(verdict.get("status"))
    return {
        "title": str(report.get("title") or "Synthetic data report"),
        "version": str(report.get("simulacra_version") or ""),
        "datasets": datasets,
        "facts": facts,
        "columns": columns,
        "verdict": {
            "status": status,
            "headline": VERDICT_HEADLINE[status],
            "reasons": [str(r) for r in _list(verdict.get("reasons"))],
        },
        "sections": sections,
        "scorecard": [s for s in sections if s["scores"]],
        "status_icon": STATUS_ICON,
        "colors": plots.COLORS,
        "kind": kind,
        "notes": [str(n) for n in _list(report.get("notes"))],
    }


# --------------------------------------------------------------------------------------------------
# template
# --------------------------------------------------------------------------------------------------

_CSS = """
.sim-report{--sim-text:#1f2328;--sim-muted:#5f6b7a;--sim-line:#e3e6ea;--sim-soft:#f6f7f9;
--sim-ref:#eef4fb;--sim-pass:#1a7f37;--sim-pass-bg:#e8f6ec;--sim-warn:#9a6700;--sim-warn-bg:#fff6dd;
--sim-fail:#c62828;--sim-fail-bg:#fdecec;--sim-na:#6b7280;--sim-na-bg:#f1f3f5;
color:var(--sim-text);background:#fff;max-width:1120px;margin:0 auto;padding:28px 32px 40px;
font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",
"DejaVu Sans",sans-serif;text-align:left;box-sizing:border-box}
.sim-report *,.sim-report *::before,.sim-report *::after{box-sizing:inherit}
.sim-report h1{font-size:26px;line-height:1.2;margin:0 0 4px;font-weight:700;letter-spacing:-.01em}
.sim-report h2{font-size:19px;line-height:1.3;margin:0 0 6px;font-weight:650}
.sim-report h3{font-size:15px;margin:22px 0 8px;font-weight:650}
.sim-report p{margin:0 0 10px}
.sim-report .sim-muted{color:var(--sim-muted)}
.sim-report .sim-small{font-size:12.5px}
.sim-report code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--sim-soft);
padding:1px 4px;border-radius:4px}
.sim-report .sim-header{border-bottom:1px solid var(--sim-line);padding-bottom:18px;margin-bottom:20px}
.sim-report .sim-sub{color:var(--sim-muted);margin:0 0 16px}
.sim-report .sim-datasets{display:grid;grid-template-columns:repeat(3,minmax(0,1fr));gap:12px;margin:0 0 12px}
.sim-report .sim-ds{border:1px solid var(--sim-line);border-radius:8px;padding:10px 14px;
border-top:4px solid var(--sim-c)}
.sim-report .sim-ds-role{font-weight:650;font-size:13px}
.sim-report .sim-ds-rows{font-size:22px;font-weight:700;font-variant-numeric:tabular-nums;line-height:1.3}
.sim-report .sim-ds-rows small{font-size:12px;font-weight:400;color:var(--sim-muted)}
.sim-report .sim-ds-file{font-size:12px;color:var(--sim-muted);overflow-wrap:anywhere}
.sim-report .sim-facts{display:flex;flex-wrap:wrap;gap:6px 22px;margin:0;padding:0}
.sim-report .sim-facts div{display:flex;gap:6px}
.sim-report .sim-facts dt{color:var(--sim-muted)}
.sim-report .sim-facts dd{margin:0;font-weight:600}
.sim-report details.sim-cols{margin-top:8px;font-size:12.5px;color:var(--sim-muted)}
.sim-report details.sim-cols p{margin:4px 0 0}
.sim-report summary{cursor:pointer}
.sim-report .sim-verdict{border-radius:10px;padding:18px 22px;margin:0 0 24px;border:1px solid;
border-left-width:8px}
.sim-report .sim-verdict-pass{background:var(--sim-pass-bg);border-color:var(--sim-pass)}
.sim-report .sim-verdict-warn{background:var(--sim-warn-bg);border-color:#d4a72c}
.sim-report .sim-verdict-fail{background:var(--sim-fail-bg);border-color:var(--sim-fail)}
.sim-report .sim-verdict-na{background:var(--sim-na-bg);border-color:#adb5bd}
.sim-report .sim-verdict-head{display:flex;align-items:center;gap:14px}
.sim-report .sim-verdict-icon{flex:0 0 auto;width:44px;height:44px;border-radius:50%;color:#fff;
display:flex;align-items:center;justify-content:center;font-size:24px;font-weight:700}
.sim-report .sim-verdict-pass .sim-verdict-icon{background:var(--sim-pass)}
.sim-report .sim-verdict-warn .sim-verdict-icon{background:#bf8700}
.sim-report .sim-verdict-fail .sim-verdict-icon{background:var(--sim-fail)}
.sim-report .sim-verdict-na .sim-verdict-icon{background:var(--sim-na)}
.sim-report .sim-verdict-kicker{font-size:12px;text-transform:uppercase;letter-spacing:.06em;
color:var(--sim-muted);font-weight:600}
.sim-report .sim-verdict h2{font-size:21px;margin:0}
.sim-report .sim-verdict ul{margin:12px 0 0;padding-left:78px}
.sim-report .sim-verdict li{margin:3px 0}
.sim-report .sim-howto{background:var(--sim-soft);border-radius:8px;padding:14px 18px;margin:0 0 26px;
font-size:13.5px}
.sim-report .sim-howto h2{font-size:15px}
.sim-report .sim-howto p:last-child{margin-bottom:0}
.sim-report .sim-key{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 3px 0 1px;
vertical-align:baseline;background:var(--sim-c)}
.sim-report .sim-chip{display:inline-block;white-space:nowrap;border-radius:999px;padding:1px 9px;
font-size:12px;font-weight:650;line-height:1.6;border:1px solid transparent}
.sim-report .sim-chip-pass{color:var(--sim-pass);background:var(--sim-pass-bg);border-color:#b7e1c2}
.sim-report .sim-chip-warn{color:var(--sim-warn);background:var(--sim-warn-bg);border-color:#f0d48a}
.sim-report .sim-chip-fail{color:var(--sim-fail);background:var(--sim-fail-bg);border-color:#f3b7b7}
.sim-report .sim-chip-na{color:var(--sim-na);background:var(--sim-na-bg);border-color:#dde1e5}
.sim-report .sim-table-wrap{overflow-x:auto;margin:0 0 8px}
.sim-report table{border-collapse:collapse;width:100%;font-size:13px;background:#fff}
.sim-report th,.sim-report td{padding:7px 10px;border-bottom:1px solid var(--sim-line);text-align:left;
vertical-align:top}
.sim-report thead th{font-size:11.5px;text-transform:uppercase;letter-spacing:.04em;color:var(--sim-muted);
font-weight:650;border-bottom:2px solid var(--sim-line);vertical-align:bottom;background:#fff}
.sim-report tbody tr:nth-child(odd),.sim-report tbody tr:nth-child(even),.sim-report tbody tr:hover{
background:transparent}
.sim-report td.sim-num,.sim-report th.sim-num{text-align:right;font-variant-numeric:tabular-nums}
.sim-report td.sim-num{white-space:nowrap}
.sim-report th.sim-measure{width:44%}
.sim-report td.sim-val{font-weight:650;font-size:14px}
.sim-report .sim-ref{background:var(--sim-ref) !important}
.sim-report thead th.sim-ref{color:#2f5f96}
.sim-report tr.sim-group th{background:var(--sim-soft);font-size:13px;text-transform:none;letter-spacing:0;
color:var(--sim-text);border-bottom:1px solid var(--sim-line);padding-top:9px}
.sim-report .sim-label{font-weight:600}
.sim-report table.sim-narrow{width:auto;min-width:360px}
.sim-report td.sim-colname{white-space:nowrap}
.sim-report .sim-explain{font-size:12.5px;color:var(--sim-muted);margin-top:2px;max-width:60ch}
.sim-report .sim-nc{font-size:12.5px;color:var(--sim-warn);margin-top:3px}
.sim-report .sim-goal{font-size:12px;color:var(--sim-muted);white-space:nowrap}
.sim-report .sim-part{margin:34px 0 0;padding-top:22px;border-top:1px solid var(--sim-line)}
.sim-report .sim-part-head{display:flex;align-items:baseline;gap:12px;flex-wrap:wrap}
.sim-report .sim-part-head h2{margin:0}
.sim-report .sim-question{color:var(--sim-muted);margin:2px 0 10px;font-style:italic}
.sim-report .sim-summary{font-size:15px;margin:0 0 14px}
.sim-report .sim-absent{color:var(--sim-muted);background:var(--sim-soft);border-radius:6px;padding:10px 14px}
.sim-report .sim-figs{display:flex;flex-wrap:wrap;gap:16px;margin:8px 0 4px}
.sim-report figure{margin:0}
.sim-report figure.sim-fig{flex:0 1 540px;max-width:100%;border:1px solid var(--sim-line);border-radius:8px;
padding:8px 10px 10px;background:#fff}
.sim-report figure.sim-fig-wide{flex-basis:100%}
.sim-report figcaption{font-size:12.5px;color:var(--sim-muted);margin-top:4px;max-width:80ch}
.sim-report svg{display:block;width:100%;height:auto;max-width:100%}
.sim-report figure.sim-fig-wide svg{width:auto;margin:0 auto}
.sim-report svg *{stroke-linejoin:round;stroke-linecap:butt}
.sim-report svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,
"DejaVu Sans",sans-serif !important}
.sim-report .sim-noplot{font-size:12.5px;color:var(--sim-muted);border:1px dashed var(--sim-line);
border-radius:6px;padding:10px 12px}
.sim-report details.sim-gallery{margin:18px 0 0;border:1px solid var(--sim-line);border-radius:8px}
.sim-report details.sim-gallery>summary{padding:10px 14px;font-weight:650;background:var(--sim-soft);
border-radius:8px}
.sim-report details.sim-gallery[open]>summary{border-bottom:1px solid var(--sim-line);
border-radius:8px 8px 0 0}
.sim-report .sim-gallery-body{padding:12px 14px}
.sim-report .sim-grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(400px,1fr));gap:12px}
.sim-report .sim-grid figure{border:1px solid var(--sim-line);border-radius:6px;padding:4px}
.sim-report .sim-legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:12.5px;margin:0 0 10px}
.sim-report .sim-tag{font-size:11px;font-weight:650;color:#2f5f96;background:var(--sim-ref);border-radius:4px;
padding:0 5px;margin-left:6px}
.sim-report .sim-lag{color:var(--sim-fail);font-weight:650}
.sim-report .sim-notes{margin-top:10px;padding-left:78px;color:var(--sim-muted)}
.sim-report .sim-notes p{margin:0 0 4px}
.sim-report .sim-footer{margin-top:36px;padding-top:14px;border-top:1px solid var(--sim-line);font-size:12px;
color:var(--sim-muted)}
@media (max-width:720px){.sim-report{padding:18px 14px}
.sim-report .sim-datasets{grid-template-columns:1fr}.sim-report .sim-verdict ul{padding-left:20px}}
@media print{
.sim-report{max-width:none;padding:0;font-size:11.5px;-webkit-print-color-adjust:exact;print-color-adjust:exact}
.sim-report .sim-verdict,.sim-report figure,.sim-report tr,.sim-report .sim-ds{break-inside:avoid}
.sim-report .sim-part{break-before:auto}
.sim-report h2,.sim-report h3{break-after:avoid}
.sim-report details>summary{list-style:none}
.sim-report details::details-content{content-visibility:visible;display:contents}
.sim-report .sim-grid{grid-template-columns:repeat(2,minmax(0,1fr))}
.sim-report .sim-table-wrap{overflow:visible}}
"""

_TEMPLATE = r"""
{%- macro chip(status) -%}
<span class="sim-chip sim-chip-{{ status|replace("/", "") }}">{{ icon[status] }} {{ status }}</span>
{%- endmacro -%}
{%- macro key(role) -%}
<span class="sim-key" style="--sim-c:{{ colors[role] }}"></span>
{%- endmacro -%}
{%- macro figure(fig, wide=False) -%}
<figure class="sim-fig{% if wide %} sim-fig-wide{% endif %}">
{%- if fig.svg %}
{{ fig.svg }}
{%- else %}
<div class="sim-noplot">Figure not available: {{ fig.error }}</div>
{%- endif %}
{%- if fig.caption %}
<figcaption>{{ fig.caption }}</figcaption>
{%- endif %}
</figure>
{%- endmacro -%}
{% if full -%}
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="simulacra {{ ctx.version }}">
<title>{{ ctx.title }}</title>
<style>
html{background:#eef0f3}body{margin:0;padding:24px 0}
@media print{html{background:#fff}body{padding:0}}
@media (max-width:720px){body{padding:0}}
{{ css }}
</style>
</head>
<body>
{% else -%}
<style>{{ css }}</style>
{% endif -%}
<div class="sim-report">
<header class="sim-header">
<h1>{{ ctx.title }}</h1>
<p class="sim-sub">Is this synthetic data faithful, useful on real unseen data, and private?
{%- if ctx.version %} · simulacra {{ ctx.version }}{% endif %}</p>
<div class="sim-datasets">
{%- for ds, role in zip(ctx.datasets, ["train", "holdout", "synthetic"]) %}
<div class="sim-ds" style="--sim-c:{{ colors[role] }}">
<div class="sim-ds-role">{{ ds.role }}</div>
<div class="sim-ds-rows">{{ ds.rows }} <small>{{ "texts" if ctx.kind == "text" else "rows" }}</small></div>
<div class="sim-ds-file">{{ ds.hint }}{% if ds.file %} · <code>{{ ds.file }}</code>{% endif %}</div>
</div>
{%- endfor %}
</div>
{%- if ctx.facts %}
<dl class="sim-facts">
{%- for name, value in ctx.facts %}
<div><dt>{{ name }}</dt><dd>{{ value }}</dd></div>
{%- endfor %}
</dl>
{%- endif %}
{%- if ctx.columns %}
<details class="sim-cols"><summary>All {{ ctx.columns|length }} columns</summary>
<p>{{ ctx.columns|join(", ") }}</p></details>
{%- endif %}
</header>

<section class="sim-verdict sim-verdict-{{ ctx.verdict.status|replace("/", "") }}">
<div class="sim-verdict-head">
<div class="sim-verdict-icon" aria-hidden="true">{{ icon[ctx.verdict.status] }}</div>
<div><div class="sim-verdict-kicker">Overall verdict: {{ ctx.verdict.status }}</div>
<h2>{{ ctx.verdict.headline }}</h2></div>
</div>
{%- if ctx.verdict.reasons %}
<ul>
{%- for reason in ctx.verdict.reasons %}
<li>{{ reason }}</li>
{%- endfor %}
</ul>
{%- endif %}
{%- if ctx.notes %}
<div class="sim-notes sim-small">
{%- for note in ctx.notes %}
<p>{{ note }}</p>
{%- endfor %}
</div>
{%- endif %}
</section>

<section class="sim-howto">
<h2>How to read this report</h2>
<p>Three tables are compared. {{ key("train") }}<strong>Real train</strong> is the data the generator
learned from. {{ key("holdout") }}<strong>Real holdout</strong> is real data from the same source that the
generator never saw. {{ key("synthetic") }}<strong>Synthetic</strong> is the generated data.</p>
<p>Every measure is computed for the synthetic data and, as a yardstick, for the real holdout — the
<strong>reference</strong>, shown in the blue column. The reference is what a fresh real sample scores, so
the synthetic data does well when its number is <em>close to the reference</em>, not when it is perfect.
A synthetic number clearly <em>better</em> than the reference — for instance rows much closer to the training
rows than real new rows are — can be a sign of copying rather than of quality.</p>
{%- if ctx.kind == "text" %}
<p><strong>Diversity</strong>: are the synthetic texts as varied as real ones? <strong>Realism</strong>: can
they be told from real texts? <strong>Utility</strong>: does a classifier trained with them label real unseen
texts better than one trained on the real examples alone? <strong>Leakage</strong>: do they copy the real
examples or carry personal data? These checks give evidence, not proof.</p>
{%- else %}
<p><strong>Fidelity</strong>: do single columns and pairs of columns look like the real data?
<strong>Utility</strong>: does a model trained on synthetic data predict the real holdout about as well as a
model trained on real data? <strong>Privacy</strong>: are synthetic rows no closer to training rows than
genuinely new rows are? These checks give evidence, not proof: passing them does not guarantee privacy.</p>
{%- endif %}
</section>

<section class="sim-scorecard">
<h2>Scorecard</h2>
{%- if ctx.scorecard %}
<div class="sim-table-wrap">
<table>
<thead><tr>
<th class="sim-measure">Measure</th>
<th class="sim-num">Synthetic</th>
<th class="sim-num sim-ref">Real holdout (reference)</th>
<th class="sim-num">Confidence interval</th>
<th>Goal</th>
<th>Status</th>
</tr></thead>
{%- for section in ctx.scorecard %}
<tbody>
<tr class="sim-group"><th colspan="6">{{ section.title }} {{ chip(section.status) }}</th></tr>
{%- for s in section.scores %}
<tr>
<td><div class="sim-label">{{ s.label }}</div>
{%- if s.explain %}<div class="sim-explain">{{ s.explain }}</div>{% endif %}
{%- if s.not_computable %}<div class="sim-nc">not computable: {{ s.not_computable }}</div>{% endif %}</td>
<td class="sim-num sim-val">{{ s.value }}</td>
<td class="sim-num sim-val sim-ref">{{ s.reference }}</td>
<td class="sim-num">{{ s.ci }}</td>
<td class="sim-goal">{{ s.ideal }}</td>
<td>{{ chip(s.status) }}</td>
</tr>
{%- endfor %}
</tbody>
{%- endfor %}
</table>
</div>
{%- else %}
<p class="sim-absent">No scores were computed for this report.</p>
{%- endif %}
</section>

{%- for section in ctx.sections %}

<section class="sim-part">
<div class="sim-part-head"><h2>{{ section.title }}</h2>
{%- if section.present %}{{ chip(section.status) }}{% endif %}</div>
{%- if section.question %}
<p class="sim-question">{{ section.question }}</p>
{%- endif %}
{%- if not section.present %}
<p class="sim-absent">This part was not computed for this report.</p>
{%- else %}
{%- if section.summary %}
<p class="sim-summary">{{ section.summary }}</p>
{%- endif %}
{%- if section.figures %}
<div class="sim-figs">
{%- for fig in section.figures %}
{{ figure(fig, wide=(section.name == "fidelity")) }}
{%- endfor %}
</div>
{%- endif %}
{%- if section.columns %}
<h3>Columns</h3>
<p class="sim-muted sim-small">Accuracy is 1 − the total variation distance between the column's binned
distribution and the training data's (1 = identical). The reference is the same number for the real holdout.
<span class="sim-lag">▼</span> marks a column more than {{ lag }} below its reference.</p>
<div class="sim-table-wrap">
<table>
<thead><tr>
<th>Column</th><th>Kind</th>
<th class="sim-num">Accuracy (synthetic)</th>
<th class="sim-num sim-ref">Real holdout (reference)</th>
<th class="sim-num">Missing, train</th>
<th class="sim-num">Missing, synthetic</th>
<th class="sim-num">Missing, holdout</th>
<th class="sim-num">Valid values</th>
</tr></thead>
<tbody>
{%- for c in section.columns %}
<tr>
<td class="sim-colname"><span class="sim-label">{{ c.column }}</span>
{%- if c.is_target %}<span class="sim-tag">target</span>{% endif %}</td>
<td class="sim-muted">{{ c.kind }}</td>
<td class="sim-num">
{%- if c.lag %}<span class="sim-lag" title="more than {{ lag }} below the reference">▼ </span>{% endif -%}
{{ c.accuracy }}</td>
<td class="sim-num sim-ref">{{ c.reference }}</td>
<td class="sim-num">{{ c.missing_train }}</td>
<td class="sim-num">{{ c.missing_synthetic }}</td>
<td class="sim-num">{{ c.missing_holdout }}</td>
<td class="sim-num">{{ c.validity }}</td>
</tr>
{%- endfor %}
</tbody>
</table>
</div>
{%- endif %}
{%- if section.pii %}
<h3>Personal data (PII) columns</h3>
<p class="sim-muted sim-small">Values of these training columns were looked up verbatim in the synthetic
data; any hit is a leak.</p>
<div class="sim-table-wrap">
<table class="sim-narrow">
<thead><tr><th>Column</th><th class="sim-num">Training values found in synthetic</th></tr></thead>
<tbody>
{%- for p in section.pii %}
<tr><td class="sim-label">{{ p.column }}</td>
<td class="sim-num{% if p.leak %} sim-lag{% endif %}">{{ p.count }}</td></tr>
{%- endfor %}
</tbody>
</table>
</div>
{%- endif %}
{%- for t in section.tables %}
<h3>{{ t.title }}</h3>
{%- if t.note %}
<p class="sim-muted sim-small">{{ t.note }}</p>
{%- endif %}
<div class="sim-table-wrap">
<table>
<thead><tr>
{%- for c in t.columns %}
<th{% if t.num[loop.index0] %} class="sim-num"{% endif %}>{{ c }}</th>
{%- endfor %}
</tr></thead>
<tbody>
{%- for row in t.rows %}
<tr>
{%- for cell in row %}
<td{% if cell.num %} class="sim-num"{% endif %}>{{ cell.text }}</td>
{%- endfor %}
</tr>
{%- endfor %}
</tbody>
</table>
</div>
{%- endfor %}
{%- if section.marginals %}
<details class="sim-gallery">
<summary>Distribution of every column ({{ section.marginals|length }}), least faithful first</summary>
<div class="sim-gallery-body">
<div class="sim-legend">
<span>{{ key("train") }}real train</span><span>{{ key("holdout") }}real holdout</span>
<span>{{ key("synthetic") }}synthetic</span>
<span class="sim-muted">Bars give the share of rows in each bin or category; synthetic bars should be about
as close to the grey ones as the blue ones are.</span>
</div>
<div class="sim-grid">
{%- for fig in section.marginals %}
<figure>
{%- if fig.svg %}
{{ fig.svg }}
{%- else %}
<div class="sim-noplot">{{ fig.column }}: figure not available: {{ fig.error }}</div>
{%- endif %}
</figure>
{%- endfor %}
</div>
</div>
</details>
{%- endif %}
{%- endif %}
</section>
{%- endfor %}

<footer class="sim-footer">
Generated by simulacra{% if ctx.version %} {{ ctx.version }}{% endif %}. This page is self-contained: it
needs no network access and can be archived or e-mailed as it is. The numbers describe these particular
tables; they are evidence about the synthetic data, not a guarantee.
</footer>
</div>
{%- if full %}
<script>window.addEventListener("beforeprint",function(){
document.querySelectorAll(".sim-report details").forEach(function(d){d.open=true})});</script>
</body>
</html>
{%- endif %}
"""

_ENV = Environment(autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True)
_ENV.globals["zip"] = zip
_TEMPLATE_OBJ = _ENV.from_string(_TEMPLATE)


def _render(report: Mapping[str, Any], full: bool) -> str:
    if not isinstance(report, Mapping):
        raise TypeError(f"report must be a dict, got {type(report).__name__}")
    ctx = _context(report)
    html = _TEMPLATE_OBJ.render(ctx=ctx, full=full, css=Markup(_CSS.strip()), icon=ctx["status_icon"],
                                colors=ctx["colors"], lag=f"{COLUMN_LAG:.2f}")
    return html.strip() + "\n"


def render_html(report: Mapping[str, Any]) -> str:
    """Render ``report`` (the validation report dict) as a complete, self-contained HTML document."""
    return _render(report, full=True)


def render_fragment(report: Mapping[str, Any]) -> str:
    """Render ``report`` as an HTML fragment (no ``<html>``/``<head>``; CSS scoped to ``.sim-report``),
    for embedding, e.g. as a Jupyter ``_repr_html_``."""
    return _render(report, full=False)
