"""The Metrics page's trends (or bars) and settings trade-offs (Pareto choices, Fig. 5).

Every number shown is read from an evaluation's parquet files by
:mod:`galaxysd_core.metrics.results`.
"""

from __future__ import annotations

from pathlib import Path

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from galaxysd_core.metrics import results
from galaxysd_core.metrics.evaluate import mark_fronts
from galaxysd_core.thumbnails import thumbnails
from pages._common import Keys
from pages._hover import hover_thumbnails


def metric_chart(metrics, metric: str) -> go.Figure:
    """A metric against training step; bars per mode when there is a single checkpoint."""
    lines, ref = results.trend(metrics, metric)
    if lines["step"].nunique() <= 1:  # one model: a one-dot "trend" says nothing
        fig = px.bar(lines, x="mode", y="value", color="mode", title=metric)
    else:
        fig = px.line(lines, x="step", y="value", color="mode", markers=True, title=metric)
    if ref is not None:
        fig.add_hline(y=ref, line_dash="dash", annotation_text="real vs real")
    fig.update_layout(height=280, margin={"t": 40, "b": 10}, yaxis_title=None, showlegend=False)
    return fig


def pareto(points) -> None:
    """Settings trade-offs: realism or the physical distance against diversity (Fig. 5)."""
    st.subheader("Settings trade-offs (Fig. 5)")
    axes = [a for a in ("realism", "physical") if a in points and points[a].notna().any()]
    quality = st.radio(
        "Quality axis",
        axes,
        horizontal=True,
        key="pareto_axis",
        help="realism: SimCLR (Eq. 1, higher is better); physical: statmorph "
        "distance to the real galaxies (no training; lower is better)",
    )
    points = mark_fronts(points, quality=quality)
    st.caption(
        f"{quality.capitalize()} vs diversity score (left = more varied); the line joins each "
        "prompt's Pareto front. Hover a point for its settings and first image; select it to "
        "load its settings into Compose."
    )
    hover = ["guidance", "strength", "steps", "weight", "consistency", "prompt_text"]
    fig = px.scatter(
        points,
        x="diversity",
        y=quality,
        color="prompt",
        symbol="on_front",
        hover_data=hover,
        custom_data=[points.index],
    )
    for prompt, group in points[points["on_front"]].groupby("prompt"):
        front = group.sort_values("diversity")
        fig.add_trace(
            go.Scatter(
                x=front["diversity"],
                y=front[quality],
                mode="lines",
                name=f"front {prompt}",
                hoverinfo="skip",
            )
        )
    fig.update_xaxes(autorange="reversed")
    if quality == "physical":
        fig.update_yaxes(autorange="reversed")  # up = closer to real, as for realism
    event = st.plotly_chart(fig, on_select="rerun", selection_mode="points", key="pareto")
    if "thumbnail" in points:
        hover_thumbnails("pareto", thumbnails(points.index, points["thumbnail"].astype(str)))
    points_hit = event.selection.points if event and event.selection else []
    picked = [p["customdata"][0] for p in points_hit if p.get("customdata")]
    if picked:
        row = points.loc[picked[0]]
        st.session_state[Keys.COMPOSE_PRESET] = preset = results.compose_preset(row)
        left, right = st.columns([1, 3])
        if Path(str(row.get("thumbnail", ""))).is_file():
            left.image(str(row["thumbnail"]), width=128)
        right.json(preset)
        right.page_link(
            "pages/compose.py", label="Open these settings in Compose", icon=":material/brush:"
        )
