"""The Metrics page's physical judges: statmorph statistics, distances, closest pairs.

Kept out of ``pages/metrics.py`` so the page stays a list of sections (the
trends and the Pareto choices are in ``pages/_tradeoffs.py``); every number
shown is read from an evaluation's parquet files by
:mod:`galaxysd_core.metrics.results`.
"""

from __future__ import annotations

from pathlib import Path

import plotly.express as px
import streamlit as st

from galaxysd_core.metrics import results
from galaxysd_core.metrics.morphology import STATISTICS

#: colours that stay apart for colour-blind readers (Okabe-Ito blue / orange / vermillion)
SOURCE_COLOURS = {
    "real": "#0072B2",
    "generated": "#E69F00",
    "text": "#E69F00",
    "reference": "#D55E00",
}


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
