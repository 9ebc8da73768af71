"""History: everything generated in this workspace, newest first, with its settings.

Reuse an image's settings or send it to Compose as a reference; download one
image or every image the filters keep (zip).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from galaxysd_core.diffusion.history import filter_history, load_history, zip_images
from galaxysd_core.gz2 import PHRASES
from pages._common import Keys, get_workspace

PER_PAGE = 24
SHOWN = (
    "prompt",
    "negative_prompt",
    "seed",
    "steps",
    "guidance",
    "scheduler",
    "strength",
    "reference",
    "model",
    "batch",
)


def _send(row, *, as_reference: bool) -> None:
    """Hand an image's settings, or the image itself as a reference, to Compose."""
    if as_reference:
        preset = {"reference": row["path"]}
    else:
        preset = {k: row[k] for k in SHOWN if k not in ("reference", "model", "batch")}
    preset["source"] = f"History ({Path(row['path']).name})"
    st.session_state[Keys.COMPOSE_PRESET] = preset
    st.switch_page("pages/compose.py")


def _details(row) -> None:
    left, right = st.columns([1, 2])
    left.image(row["path"], width="stretch")
    with right:
        st.markdown(f"**{Path(row['path']).name}**")
        st.dataframe(
            {"setting": list(SHOWN), "value": [str(row[k]) for k in SHOWN]},
            hide_index=True,
            width="stretch",
        )
        c1, c2, c3 = st.columns(3)
        if c1.button("Reuse these settings", key="history_reuse"):
            _send(row, as_reference=False)
        if c2.button("Use as reference", key="history_reference"):
            _send(row, as_reference=True)
        c3.download_button(
            "Download PNG",
            Path(row["path"]).read_bytes(),
            Path(row["path"]).name,
            "image/png",
            key="history_download",
            on_click="ignore",
        )


st.title("History")
ws = get_workspace()
frame = load_history(ws)
if frame.empty:
    st.info("Nothing generated in this workspace yet: make a batch on Compose or a grid.")
    st.stop()
c1, c2, c3 = st.columns([2, 2, 2])
text = c1.text_input("Prompt contains", key="history_text")
present = sorted({t for tags in frame["tags"] for t in tags}, key=list(PHRASES).index)
tags = c2.multiselect("Tags", present, key="history_tags", format_func=lambda t: PHRASES.get(t, t))
models = c3.multiselect("Model", sorted(frame["model"].dropna().unique()), key="history_models")
shown = filter_history(frame, text=text, tags=tags, models=models)
st.caption(
    f"{len(shown)} of {len(frame)} images in this workspace (newest first). "
    "Open one for its settings."
)
if not shown.empty:
    st.download_button(
        f"Download these {len(shown)} (zip)",
        zip_images(shown["path"]),
        "history.zip",
        "application/zip",
        key="history_zip",
        on_click="ignore",
    )
selected = st.session_state.get(Keys.HISTORY_SELECTED)
match = shown[shown["path"] == selected]
if not match.empty:
    _details(match.iloc[0])
pages = max(1, -(-len(shown) // PER_PAGE))
page = st.number_input("Page", 1, pages, key="history_page") if pages > 1 else 1
cols = st.columns(6)
for i, row in enumerate(shown.iloc[(page - 1) * PER_PAGE : page * PER_PAGE].itertuples()):
    with cols[i % 6]:
        st.image(row.path, caption=f"seed {row.seed}: {row.prompt}", width="stretch")
        if st.button("Open", key=f"history_open_{row.path}"):
            st.session_state[Keys.HISTORY_SELECTED] = row.path
            st.rerun()
