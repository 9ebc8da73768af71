"""Plotly figures of a GZ2 sample: funnel, tag counts, UpSet-style co-occurrence."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from galaxysd_core.gz2.stats import UPSET_TAGS


def funnel_figure(funnel: dict[str, int]) -> go.Figure:
    """A funnel of galaxies left after each stage (paper Sec. 3: 239,695 -> 27,910)."""
    stages = list(funnel)
    fig = go.Figure(go.Funnel(y=[s.replace("_", " ") for s in stages], x=list(funnel.values())))
    fig.update_layout(height=320, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return fig


def tag_count_figure(tag_counts: pd.DataFrame) -> go.Figure:
    """Galaxies per tag before and after down-sampling, in prompt order (top to bottom)."""
    counts = tag_counts.iloc[::-1]
    fig = go.Figure()
    for stage in [c for c in ("not_detg", "balanced") if c in counts]:
        fig.add_trace(go.Bar(y=counts["tag"], x=counts[stage], name=stage, orientation="h"))
    fig.update_layout(
        height=max(320, 16 * len(counts)),
        barmode="group",
        legend_orientation="h",
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        yaxis={"dtick": 1},
    )
    return fig


def upset_figure(combinations: pd.DataFrame, *, top: int = 15) -> go.Figure:
    """UpSet-style plot (paper Fig. 2): combination counts over a tag dot matrix.

    Parameters
    ----------
    combinations : pandas.DataFrame
        From :func:`galaxysd_core.gz2.stats.combinations`.
    top : int, default 15
        How many of the most frequent combinations to show.
    """
    combos = combinations.head(top)
    tags = [t for t in UPSET_TAGS if t in combos and combos[t].astype(bool).any()]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.55, 0.45])
    x = list(range(len(combos)))
    fig.add_trace(go.Bar(x=x, y=combos["count"], marker_color="#4c78a8", name="galaxies"), 1, 1)
    for row, tag in enumerate(tags):
        on = combos[tag].astype(bool).to_numpy()
        colours = ["#f58518" if v else "rgba(128, 128, 128, 0.25)" for v in on]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=[row] * len(x),
                mode="markers",
                marker={"size": 10, "color": colours},
                showlegend=False,
                hoverinfo="skip",
            ),
            2,
            1,
        )
    fig.update_yaxes(tickvals=list(range(len(tags))), ticktext=tags, row=2, col=1)
    fig.update_xaxes(showticklabels=False)
    fig.update_layout(
        height=260 + 22 * len(tags), showlegend=False, margin={"l": 10, "r": 10, "t": 10, "b": 10}
    )
    return fig
