"""Embedding Map: real and generated galaxies on one 2-D map of the SimCLR space.

The map is computed by a background job (``map``: UMAP, t-SNE or PCA) and
cached as parquet; this page draws it (WebGL) with image previews on hover,
shows a box/lasso selection as an image grid, and a generated galaxy's nearest
real neighbours (Eq. 1's max).
"""

from __future__ import annotations

import numpy as np
import plotly.express as px
import streamlit as st

from galaxysd_core import jobs
from galaxysd_core.embedding.map import map_folders, neighbours, read_map
from galaxysd_core.thumbnails import MAX_THUMBNAILS, pick_rows, thumbnails
from pages._common import Keys, active_dataset, get_workspace, label_for, user_errors
from pages._hover import hover_thumbnails
from pages._jobwait import wait_for
from pages._physical import SOURCE_COLOURS

COLOUR_BY = ("source", "tags", "prompt", "checkpoint", "mode")


@st.cache_data(max_entries=4, show_spinner=False)
def _load(folder: str, mtime: float):  # mtime: re-read a recomputed map
    return read_map(folder)


def _launch(ws) -> None:
    with st.expander("Compute a map", expanded=not map_folders(ws.root)):
        runs = [None, *sorted(p.parent for p in ws.runs.glob("*/images.parquet"))]
        run = st.selectbox(
            "Generated images of evaluation",
            runs,
            format_func=lambda p: "none (real only)" if p is None else label_for(p),
        )
        method = st.radio(
            "Method",
            ("umap", "tsne", "pca"),
            horizontal=True,
            help="UMAP's first fit compiles for about a minute; PCA is instant.",
        )
        if st.button("Launch map job"):
            with user_errors("launch the map"):
                values = {"real": str(active_dataset()), "method": method}
                if run is not None:
                    values["run"] = str(run)
                st.session_state[Keys.MAP_JOB] = jobs.launch("map", values, workspace=ws)


def _grid(paths: list[str], captions: list[str], *, limit: int = 24) -> None:
    cols = st.columns(6)
    for i, (path, caption) in enumerate(list(zip(paths, captions, strict=True))[:limit]):
        cols[i % 6].image(path, caption=caption[:40], width="stretch")


ws = get_workspace()
st.title("Embedding Map")
_launch(ws)
wait_for(Keys.MAP_JOB, "Map")
folders = map_folders(ws.root)
if not folders:
    st.info("No map yet: compute one above (or run `galaxysd map --run DIR`).")
    st.stop()
folder = st.selectbox("Map", folders, format_func=label_for)
with user_errors("read the map"):
    table, emb = _load(str(folder), (folder / "map.parquet").stat().st_mtime)
    left, right = st.columns([3, 1])
    colour = left.radio("Colour by", COLOUR_BY, horizontal=True)
    only = right.toggle(
        "Generated only", value=False, disabled=not (table["source"] == "generated").any()
    )
    # generated points last, so they are drawn over the real cloud
    order = np.argsort((table["source"] == "generated").to_numpy(), kind="stable")
    shown = table.iloc[order].assign(row=order)
    if only:
        shown = shown[shown["source"] == "generated"]
    fig = px.scatter(
        shown,
        x="x",
        y="y",
        color=colour,
        render_mode="webgl",
        custom_data=["row"],
        color_discrete_map=SOURCE_COLOURS if colour == "source" else None,
        hover_data={
            "x": False,
            "y": False,
            "prompt": True,
            "tags": True,
            "checkpoint": True,
            "path": True,
        },
        title=f"{table['method'].iloc[0].upper()} of {len(shown)} images",
    )
    fig.update_traces(marker={"size": 5, "opacity": 0.6})
    if colour == "source":  # few generated points must not vanish among thousands of real ones
        fig.update_traces(selector={"name": "generated"}, marker={"size": 9, "opacity": 1.0})
    fig.update_layout(height=560, dragmode="lasso")
    event = st.plotly_chart(
        fig, on_select="rerun", selection_mode=("points", "box", "lasso"), key="map"
    )
    # generated galaxies first: they are what the map is read for
    generated = np.flatnonzero((table["source"] == "generated").to_numpy())
    rows = pick_rows(len(table), first=generated)
    hover_thumbnails("map", thumbnails(rows, table["path"].iloc[rows].tolist()))
    st.caption(
        f"Hover a point to preview its image ({len(rows)} of {len(table)} points have a "
        f"preview; at most {MAX_THUMBNAILS:,}). Drag a box or lasso to list a selection."
    )
    points = event.selection.points if event and event.selection else []
    selected = [int(p["customdata"][0]) for p in points if p.get("customdata")]
    if selected:
        st.subheader(f"Selection: {len(selected)} images (first 24)")
        chosen = table.iloc[selected]
        _grid(
            chosen["path"].tolist(),
            (chosen["tags"].where(chosen["tags"] != "", chosen["prompt"])).tolist(),
        )
    if len(generated) and emb is not None:
        st.subheader("Nearest real neighbours of a generated galaxy")
        picked = [r for r in selected if r in set(generated)] or list(generated)
        row = st.selectbox("Generated image", picked, format_func=lambda r: table["path"].iloc[r])
        left, right = st.columns([1, 5])
        left.image(table["path"].iloc[row], caption="generated", width="stretch")
        near = neighbours(table, emb, row, k=6)
        with right:
            _grid(near["path"].tolist(), [f"S = {s:.3f}" for s in near["similarity"]])
