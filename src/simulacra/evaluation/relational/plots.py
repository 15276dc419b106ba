"""The relational section's figures: children per parent for each context key, real train vs real
holdout vs synthetic, drawn as the report's bar chart of shares (:func:`..figures.marginal_svg`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..figures import marginal_svg

__all__ = ["figure_specs"]


def figure_specs(figures: Mapping[str, Any]) -> list[tuple[Callable[..., str], Any, str]]:
    """(render function, figure data, caption) for each children-per-parent histogram in ``figures``."""
    return [
        (
            marginal_svg,
            fig,
            f"How many children each parent row has ({fig.get('column', '')}): share of parent rows per "
            "count. Synthetic bars should be about as close to the grey ones as the blue ones are.",
        )
        for fig in figures.get("children", [])
        if isinstance(fig, Mapping)
    ]
