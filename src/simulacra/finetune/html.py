"""``student.html``: one self-contained page (inline CSS, no scripts, no external requests)."""

from __future__ import annotations

from html import escape
from typing import Any

from ..formatting import format_number

CSS = """
body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}
td,th{border:1px solid #ccc;padding:.3rem .6rem;vertical-align:top}
th{background:#f4f4f4;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
.verdict{padding:.8rem 1rem;border-left:6px solid #888;background:#f8f8f8}
.better{border-color:#2a8a2a}.worse{border-color:#c0392b}small{color:#666}
"""

NAMES = {
    "base": "base (untouched)",
    "seeds": "real seeds",
    "synthetic": "synthetic set",
    "both": "seeds + synthetic",
}


def _num(x: float, digits: int = 3) -> str:
    return format_number(x, f".{digits}f", missing="n/a")


def _cell(score: dict[str, Any]) -> str:
    lo, hi = score["interval"]
    return f"<td class=n>{_num(score['value'])}<br><small>[{_num(lo)}, {_num(hi)}]</small></td>"


def teacher_html(data: dict[str, Any]) -> str:
    """The "inherited mistakes" part of the page (empty without a teacher)."""
    block = data.get("teacher")
    if not block:
        return ""
    rows = "".join(
        f"<tr><th>{escape(NAMES[arm])}</th>"
        + "".join(
            _cell(entry["teacher"][m])
            for m in ("agreement", "kappa", "error_jaccard", "student_errors_shared")
        )
        + f"<td class=n>{entry['teacher']['shared_errors']} of {entry['teacher']['student_errors']}</td></tr>"
        for arm, entry in data["arms"].items()
        if "teacher" in entry
    )
    comps = "".join(
        f"<tr><td>{escape(NAMES[c['arm']])} − {escape(NAMES[c['against']])}</td>"
        f"<td class=n>{_signed(c['difference'])}</td>"
        f"<td class=n>[{_signed(c['interval'][0])}, {_signed(c['interval'][1])}]</td></tr>"
        for c in block["comparisons"]
    )
    acc, f1 = block["scores"]["accuracy"], block["scores"]["macro_f1"]
    invalid = (
        f" {block['invalid']} answers held no label of the set (counted as errors)."
        if block["invalid"]
        else ""
    )
    return f"""<h2>Inherited mistakes</h2>
<p>{escape(block["text"])}</p>
<p>The teacher ({escape(block["source"])}, {escape(str(block["model"]))}) was asked every held-out text the
way the text generator asks it ({block["shots"]} real examples as few-shot, the answer
{"constrained to the label set" if block["constrained"] else "checked against the label set"}):
accuracy {_num(acc["value"])} [{_num(acc["interval"][0])}, {_num(acc["interval"][1])}], macro-F1
{_num(f1["value"])} [{_num(f1["interval"][0])}, {_num(f1["interval"][1])}], wrong on
{_num(block["error_rate"] * 100, 0)}% of the holdout.{escape(invalid)} Were a student's errors independent of
the teacher's, the share of them the teacher shares would be its error rate, and kappa would be near 0.</p>
<table><tr><th>arm</th><th>same answer as the teacher</th><th>agreement beyond chance (Cohen's kappa)</th>
<th>error overlap (Jaccard)</th><th>share of the student's errors the teacher makes too</th>
<th>shared errors</th></tr>{rows}</table>
<table><tr><th>kappa with the teacher</th><th>difference</th><th>95% interval</th></tr>{comps}</table>
"""


def _signed(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.3f}"


def render_html(data: dict[str, Any]) -> str:
    """The report page for ``student.json``'s data."""
    task, arms = data["task"], data["arms"]
    metrics = ["accuracy", "macro_f1"] if task == "classify" else ["loss", "perplexity"]
    head = "".join(f"<th>{escape(m.replace('_', '-'))}<br><small>95% interval</small></th>" for m in metrics)
    rows = []
    for arm, entry in arms.items():
        training = entry.get("training")
        trained = (
            (
                f"{training['steps']} of {training['planned']} steps, {training['seconds']:.0f} s"
                + (" (time cap)" if training["stopped_by_time_cap"] else "")
            )
            if training
            else "—"
        )
        cells = "".join(_cell(entry["scores"][m]) for m in metrics)
        rows.append(
            f"<tr><th>{escape(NAMES[arm])}</th><td class=n>{entry['trained_on']}</td>"
            f"<td>{escape(trained)}</td>{cells}</tr>"
        )
    comps = "".join(
        f"<tr><td>{escape(NAMES[c['arm']])} − {escape(NAMES[c['against']])}</td>"
        f"<td class=n>{c['difference']:+.3f}</td>"
        f"<td class=n>[{c['interval'][0]:+.3f}, {c['interval'][1]:+.3f}]</td></tr>"
        for c in data["comparisons"]
    )
    side_head = "".join(f"<th>{escape(NAMES[a])}</th>" for a in arms)
    side = "".join(
        f"<tr><td>{escape(s['prompt'])}</td><td>{escape(s['reference'])}</td>"
        + "".join(f"<td>{escape(arms[a]['answers'][i])}</td>" for a in arms)
        + "</tr>"
        for i, s in enumerate(data["shown"])
    )
    settings = "".join(
        f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in data["settings"].items()
    )
    sizes = ", ".join(f"{k}: {v}" for k, v in data["data"]["sizes"].items())
    outcome = data["verdict"]["synthetic_vs_base"]
    css_class = {"better": "better", "worse": "worse"}.get(outcome, "")
    labels = (
        f"<p>Label set: {escape(', '.join(data['labels']))} (answers constrained to it).</p>"
        if data["labels"]
        else ""
    )
    what = (
        "accuracy and macro-F1 of the label of highest likelihood"
        if task == "classify"
        else "per-token loss and perplexity of the held-out assistant turns (lower is better)"
    )
    return f"""<!doctype html>
<html lang=en><head><meta charset=utf-8><title>simulacra student report</title><style>{CSS}</style></head>
<body><h1>Student report: {escape(task)}</h1>
<p class="verdict {css_class}">{escape(data["verdict"]["text"])}</p>
<p>Every arm is scored on the same real holdout ({escape(data["data"]["holdout"])}): {escape(what)}.
Intervals are 95% bootstrap intervals over holdout examples (the same resamples for
every arm, so differences are paired). Examples: {escape(sizes)}.</p>{labels}
<h2>Arms</h2><table><tr><th>arm</th><th>trained on</th><th>training</th>{head}</tr>{"".join(rows)}</table>
<h2>Differences ({escape(data["metric"].replace("_", "-"))})</h2>
<table><tr><th>arms</th><th>difference</th><th>95% interval</th></tr>{comps}</table>
{teacher_html(data)}<h2>Held-out prompts, answered by each arm</h2>
<table><tr><th>prompt</th><th>real answer</th>{side_head}</tr>{side}</table>
<h2>Settings</h2><table>{settings}</table>
</body></html>
"""
