"""What a reviewer sees of candidates: the image (confined), display tools, decided ones."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from galaxysd_core.review.display import STRETCHES
from pages._common import OutsideWorkspaceError, confine


def candidate_image(path: str) -> Path | None:
    """The candidate's image if it exists inside the workspace (paths come from uploads)."""
    try:
        p = confine(path, allow_assets=True)
    except OutsideWorkspaceError:
        return None
    return p if p.is_file() else None


def display_tools() -> dict:
    """Stretch, contrast, invert and zoom of the candidate image (kept across candidates)."""
    c1, c2, c3, c4 = st.columns(4)
    return {
        "stretch": c1.radio("Stretch", list(STRETCHES), key="review_stretch"),
        "contrast": c2.slider("Contrast", 0.2, 10.0, 1.0, 0.2, key="review_contrast"),
        "zoom": c3.slider("Zoom", 1.0, 8.0, 1.0, 0.5, key="review_zoom"),
        "invert": c4.checkbox("Invert", key="review_invert"),
    }


def decided(store, round_id: int) -> None:
    """Thumbnails of the round's decided candidates: verdict and why they left the queue."""
    table = store.decided(round_id)
    with st.expander(f"Decided candidates ({len(table)})"):
        for start in range(0, len(table), 6):
            for col, row in zip(
                st.columns(6), table.iloc[start : start + 6].itertuples(), strict=False
            ):
                verdict = "accepted" if row.accepted else "rejected"
                caption = f"{row.object_id} · {verdict} · {row.reason}"
                if (path := candidate_image(row.image)) is not None:
                    col.image(str(path), caption=caption, width="stretch")
                else:
                    col.caption(caption)
