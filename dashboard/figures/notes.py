"""The note a chart shows in its middle when it has nothing to draw ("No posts in this period")."""

from __future__ import annotations

import plotly.graph_objects as go


def empty_note(fig: go.Figure, text: str, *, size: float, color: str) -> None:
    """Write ``text`` in the middle of the plot area, so an empty chart says why it is empty."""
    fig.add_annotation(
        text=text,
        xref="paper",
        yref="paper",
        x=0.5,
        y=0.5,
        showarrow=False,
        font={"size": size, "color": color},
    )
