"""The Metrics page's views: trends (or bars), Pareto choices and the physical judges.

Kept out of ``pages/metrics.py`` so the page stays a list of sections; every
number shown is read from an evaluation's parquet files by
:mod:`galaxysd_core.metrics.results`.
"""

from __future__ import annotations

from pathlib import Path

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from galaxysd_core.metrics import results
from galaxysd_core.metrics.evaluate import mark_fronts
from galaxysd_core.metrics.morphology import STATISTICS
from pages._common import Keys
from pages._hover import hover_thumbnails, thumbnails

#: colours that stay apart for colour-blind readers (Okabe-Ito blue / orange / vermillion)
SOURCE_COLOURS = {
    "real": "#0072B2",
    "generated": "#E69F00",
    "text": "#E69F00",
    "reference": "#D55E00",
}


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


def physical(folder: Path, checkpoint: str | None) -> None:
    """Small multiples real vs generated, the distance table, the closest-pair gallery."""
    tables = results.load_physical(folder)
    if "morphology" not in tables:
        st.caption("No physical statistics in this evaluation (run evaluate with morphology on).")
        return
    st.subheader("Physical judges: statmorph statistics, real vs generated")
    morph = tables["morphology"]
    runs = morph[(morph["checkpoint"] == checkpoint) | (morph["checkpoint"] == "real")]
    shown = runs[~runs["flag"]].assign(
        source=lambda t: t["mode"].where(t["checkpoint"] != "real", "real")
    )
    # small multiples: one panel per statistic, each prompt's real and generated side by side
    long = shown.sort_values("prompt").melt(
        id_vars=["prompt", "source", "path"], value_vars=list(STATISTICS), var_name="statistic"
    )
    fig = px.box(
        long,
        x="prompt",
        y="value",
        color="source",
        facet_col="statistic",
        facet_col_wrap=4,
        facet_row_spacing=0.12,
        color_discrete_map=SOURCE_COLOURS,
        hover_data=["path"],
    )
    fig.update_yaxes(matches=None, showticklabels=True, title=None)
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
    fig.update_layout(height=560, margin={"t": 30, "b": 10}, boxmode="group")
    st.plotly_chart(fig, width="stretch", key="physical_box")
    failed = runs[runs["flag"]]
    if len(failed):
        st.caption(
            "statmorph failures: "
            + "; ".join(
                f"{p} {r}: {n}" for (p, r), n in failed.groupby(["prompt", "reason"]).size().items()
            )
        )
    if "distances" in tables:
        st.caption(
            "Scaled Wasserstein distance per statistic (fraction of the real 1-99 % range, "
            "95 % bootstrap interval); the real-vs-real rows (two disjoint real halves) "
            "are the floor."
        )
        summary = results.distance_summary(tables["distances"], checkpoint=checkpoint)
        st.dataframe(summary, hide_index=True)
    if "pairs" in tables:
        pairs(tables["pairs"])


def pairs(table) -> None:
    """Generated images beside their nearest training image (the copy check)."""
    st.subheader("Closest generated-training pairs (memorisation check)")
    space = st.radio("Space", sorted(table["space"].unique()), horizontal=True, key="pair_space")
    chosen = table[table["space"] == space]
    limit = float(chosen["threshold"].iloc[0])
    st.caption(
        f"A pair below {limit:.3g} (the closest any held-out real galaxy comes to a "
        "training image) is a copy candidate."
    )
    cols = st.columns(4)
    for i, row in enumerate(chosen.itertuples()):
        with cols[i % 4]:
            both = st.columns(2)
            both[0].image(row.generated, caption="generated", width="stretch")
            both[1].image(row.train, caption="training", width="stretch")
            st.caption(f"{row.distance:.3g}" + (" copy?" if row.copy else ""))
