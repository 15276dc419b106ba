"""Transitional alias: :mod:`simulacra.evaluation.html`."""

from simulacra.evaluation.html import format_value, render_fragment, render_html  # noqa: F401
