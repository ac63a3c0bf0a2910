"""Figure builders: pure functions from data to ``go.Figure``, testable without a browser."""

from dashboard.figures.map import map_figure
from dashboard.figures.volume import volume_figure

__all__ = ["map_figure", "volume_figure"]
