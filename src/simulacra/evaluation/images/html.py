"""The image report as one self-contained HTML page: the verdict, every score beside the holdout's,
per-class grids of real and synthetic images and the closest synthetic/train pairs, pictures inlined as
PNG data URIs (the page opens offline). It reuses the tabular report's style sheet."""

from __future__ import annotations

import base64
from html import escape
from importlib import resources

from ...formatting import format_number

EXTRA_CSS = """
.sim-report .sim-grid{display:flex;flex-wrap:wrap;gap:3px;margin:2px 0 6px}
.sim-report .sim-grid img{width:48px;height:48px;image-rendering:pixelated;border:1px solid var(--sim-line);
object-fit:contain;background:#000}
.sim-report table.sim-img-scores{border-collapse:collapse;width:100%;margin:8px 0 18px}
.sim-report table.sim-img-scores td,.sim-report table.sim-img-scores th{
border-bottom:1px solid var(--sim-line);padding:5px 8px;text-align:right;vertical-align:top}
.sim-report table.sim-img-scores td:first-child,
.sim-report table.sim-img-scores th:first-child{text-align:left}
.sim-report .st-pass{color:var(--sim-pass)}.sim-report .st-warn{color:var(--sim-warn)}
.sim-report .st-fail{color:var(--sim-fail)}.sim-report .st-n\\/a{color:var(--sim-na)}
.sim-report .sim-class{display:grid;grid-template-columns:90px 1fr 1fr;gap:10px;align-items:start;
border-bottom:1px solid var(--sim-line);padding:6px 0}
.sim-report .sim-pairs{display:flex;flex-wrap:wrap;gap:14px}
.sim-report .sim-pair{text-align:center;font-size:12px;color:var(--sim-muted)}
"""


def _css() -> str:
    try:
        base = (resources.files("simulacra.evaluation") / "templates" / "report.css").read_text(
            encoding="utf-8"
        )
    except (OSError, ModuleNotFoundError):
        base = ""
    return base + EXTRA_CSS


def _img(png: bytes, title: str = "") -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{escape(title)}" title="{escape(title)}">'


def render_page(data: dict, pictures: dict) -> str:
    """The whole page for the report ``data`` and its ``pictures`` (see :mod:`.report`)."""
    v = data["verdict"]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>simulacra image report</title>",
        f"<style>{_css()}</style></head><body><div class='sim-report'>",
        "<div class='sim-header'><h1>Synthetic images: validation report</h1>",
        f"<p class='sim-sub'>verdict: <strong class='st-{escape(v['status'])}'>{escape(v['status'].upper())}"
        "</strong></p><ul>",
        *(f"<li>{escape(r)}</li>" for r in v["reasons"]),
        "</ul>",
    ]
    inputs = data["inputs"]
    counts = ", ".join(f"{k} {n:,}" for k, n in inputs["images"].items())
    parts.append(
        f"<p class='sim-muted'>images: {escape(counts)} · size {'×'.join(map(str, inputs['shape']))}</p>"
    )
    for note in data.get("notes", []):
        parts.append(f"<p class='sim-small sim-muted'>note: {escape(note)}</p>")
    parts.append("</div>")
    for name, sec in data["sections"].items():
        parts.append(
            f"<h2>{escape(name.capitalize())} <span class='st-{escape(sec['status'])}'>"
            f"({escape(sec['status'])})</span></h2>"
        )
        parts.append(
            "<table class='sim-img-scores'><tr><th>check</th><th>synthetic</th>"
            "<th>real holdout (reference)</th><th>status</th></tr>"
        )
        for sc in sec["scores"]:
            value = format_number(sc["value"], sc["format"], missing="n/a")
            ref = format_number(sc["reference"], sc["format"], missing="n/a")
            why = f"<br><span class='sim-small sim-muted'>{escape(sc['explain'])}</span>"
            if sc["not_computable"]:
                why += f"<br><span class='sim-small'>not computable: {escape(sc['not_computable'])}</span>"
            parts.append(
                f"<tr><td>{escape(sc['label'])}{why}</td><td>{value}</td><td>{ref}</td>"
                f"<td class='st-{escape(sc['status'])}'>{escape(sc['status'])}</td></tr>"
            )
        parts.append("</table>")
    parts.append(
        "<h2>Real and synthetic images, per class</h2>"
        "<div class='sim-class'><strong>class</strong><strong>real (train)</strong>"
        "<strong>synthetic</strong></div>"
    )
    for g in pictures.get("grids", []):
        real = "".join(_img(p, "real") for p in g["real"]) or "<span class='sim-muted'>none</span>"
        syn = "".join(_img(p, "synthetic") for p in g["synthetic"]) or "<span class='sim-muted'>none</span>"
        parts.append(
            f"<div class='sim-class'><div>{escape(g['label'])}</div><div class='sim-grid'>{real}</div>"
            f"<div class='sim-grid'>{syn}</div></div>"
        )
    if pictures.get("pairs"):
        parts.append(
            "<h2>Closest to a training image</h2><p class='sim-muted'>The synthetic images nearest "
            "to a train image (pixel distance), each beside that train image: look for copies.</p>"
            "<div class='sim-pairs'>"
        )
        for p in pictures["pairs"]:
            parts.append(
                f"<div class='sim-pair'><div class='sim-grid'>{_img(p['synthetic'], 'synthetic')}"
                f"{_img(p['train'], 'train')}</div>synthetic · train<br>distance "
                f"{p['distance']:.2f}</div>"
            )
        parts.append("</div>")
    parts.append("</div></body></html>")
    return "".join(parts)
