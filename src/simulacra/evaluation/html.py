"""Render a validation report (the plain dict built by the evaluation step) as one self-contained HTML page.

The page needs no network: CSS is inline (the template and stylesheet are package data under
``templates/``, read with :mod:`importlib.resources` and inlined when rendering), figures are inline
SVG (see :mod:`simulacra.evaluation.figures`),
there are no web fonts, images or external scripts (only a one-line inline script that unfolds the
collapsed parts before printing). Every value taken from the report — column names, category labels,
reasons, explanations — is HTML-escaped by jinja2's autoescaping; the figures' text is escaped by
matplotlib's SVG writer. The output is deterministic: the same dict gives the same bytes.

Missing parts are tolerated: an absent section, figure or score field, or a score whose ``value`` is
``None`` with a ``not_computable`` reason, renders as a note instead of failing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any

from jinja2 import Environment, StrictUndefined, Template
from markupsafe import Markup

from ..formatting import as_finite, format_number
from . import figures

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
# the database report (inputs.kind == "database"): the relational section, then one section per table
DATABASE_SECTION_ORDER = ("relational",)
DATABASE_SECTION_TITLES = {"relational": "Relations between tables"}
DATABASE_SECTION_QUESTIONS = {
    "relational": "Do the synthetic tables fit together as the real ones do: valid keys, as many children "
    "per parent, the same trends across tables?",
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
    "n/a": "Not computable — no check could be computed on these inputs",
}
NO_VERDICT = "No overall verdict"  # a report dict without a verdict
IDEAL_TEXT = {
    "higher": "higher is better",
    "lower": "lower is better",
    "reference": "close to the reference",
}
# a column whose accuracy is more than this below its reference is highlighted in the column table
COLUMN_LAG = 0.03

TEMPLATE_FILE = "report.html.j2"
CSS_FILE = "report.css"


# --------------------------------------------------------------------------------------------------
# formatting
# --------------------------------------------------------------------------------------------------


def format_value(value: Any, fmt: str | None = None) -> str:
    """Format a score ``value`` as the report shows it (:func:`simulacra.formatting.format_number`)."""
    return format_number(value, fmt)


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
    x = as_finite(value)
    return f"{x:,.0f}" if x is not None else "—"


# --------------------------------------------------------------------------------------------------
# view model
# --------------------------------------------------------------------------------------------------


def _score_row(score: Mapping[str, Any]) -> dict[str, Any]:
    fmt = score.get("format")
    reason = score.get("not_computable")
    value = score.get("value")
    if reason is None and as_finite(value) is None and not isinstance(value, str | bool):
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
        acc = as_finite(m.get("accuracy"))
        return (0, acc) if acc is not None else (1, 0.0)

    out = []
    for m in sorted(entries, key=key):  # least faithful first; stable for ties and unknowns
        fig = _figure(figures.marginal_svg, m, legend=False)
        fig["column"] = str(m.get("column", ""))
        out.append(fig)
    return out


def _column_rows(columns: list[Any], target: str | None) -> list[dict[str, Any]]:
    rows = []
    for c in columns:
        if not isinstance(c, Mapping):
            continue
        acc, ref = as_finite(c.get("accuracy")), as_finite(c.get("reference"))
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
                         else (DATABASE_SECTION_TITLES, DATABASE_SECTION_QUESTIONS) if kind == "database"
                         else (SECTION_TITLES, SECTION_QUESTIONS))
    section: dict[str, Any] = {
        "name": name,
        "title": str(data.get("heading") or titles.get(name, name.replace("_", " ").capitalize())),
        "question": str(data.get("question") or questions.get(name, "")),
        "present": present,
        "status": _status(data.get("status")),
        "summary": str(data.get("summary") or ""),
        "scores": [_score_row(s) for s in _list(data.get("scores")) if isinstance(s, Mapping)],
        "figures": [],
        "columns": _column_rows(_list(data.get("columns")), target),
        "marginals": _marginals(_list(figures.get("marginals"))),
        "pii": [{"column": str(k), "count": _count(v), "leak": (as_finite(v) or 0) > 0}
                for k, v in _dict(data.get("pii")).items()],
    }
    if kind == "text":
        from .text.plots import figure_specs
    elif kind == "database" and name == "relational":
        from .relational.plots import figure_specs
    else:
        from .tabular.plots import figure_specs
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
    kind = inputs.get("kind") if inputs.get("kind") in ("text", "database") else "table"
    order = {"text": TEXT_SECTION_ORDER, "database": DATABASE_SECTION_ORDER}.get(kind, SECTION_ORDER)
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
    if kind == "database":
        facts.append(("Tables", f"{len(_dict(inputs.get('tables'))):,}"))
        facts.append(("Foreign keys", f"{len(_list(inputs.get('foreign_keys'))):,}"))
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
            "headline": VERDICT_HEADLINE[status] if verdict else NO_VERDICT,
            "reasons": [str(r) for r in _list(verdict.get("reasons"))],
        },
        "sections": sections,
        "scorecard": [s for s in sections if s["scores"]],
        "status_icon": STATUS_ICON,
        "colors": figures.COLORS,
        "kind": kind,
        "notes": [str(n) for n in _list(report.get("notes"))],
        "sampling": str(_dict(report.get("sampling")).get("text") or ""),
    }


# --------------------------------------------------------------------------------------------------
# template
# --------------------------------------------------------------------------------------------------


@functools.cache
def _template() -> tuple[Template, str]:
    """The page template and its stylesheet, read once from the package's ``templates`` folder."""
    files = resources.files("simulacra.evaluation") / "templates"
    env = Environment(autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True)
    env.globals["zip"] = zip
    template = env.from_string((files / TEMPLATE_FILE).read_text(encoding="utf-8"))
    return template, (files / CSS_FILE).read_text(encoding="utf-8").strip()


def _render(report: Mapping[str, Any], full: bool) -> str:
    if not isinstance(report, Mapping):
        raise TypeError(f"report must be a dict, got {type(report).__name__}")
    ctx = _context(report)
    template, css = _template()
    # the stylesheet is inlined, so the page stays one self-contained file
    html = template.render(ctx=ctx, full=full, css=Markup(css), icon=ctx["status_icon"],
                           colors=ctx["colors"], lag=f"{COLUMN_LAG:.2f}")
    return html.strip() + "\n"


def render_html(report: Mapping[str, Any]) -> str:
    """Render ``report`` (the validation report dict) as a complete, self-contained HTML document."""
    return _render(report, full=True)


def render_fragment(report: Mapping[str, Any]) -> str:
    """Render ``report`` as an HTML fragment (no ``<html>``/``<head>``; CSS scoped to ``.sim-report``),
    for embedding, e.g. as a Jupyter ``_repr_html_``."""
    return _render(report, full=False)
