"""What the Compose page shows: the live preview beside its reference, and the last batch."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import streamlit as st

from galaxysd_core.diffusion.history import zip_images
from galaxysd_core.diffusion.live import LIVE_STEPS, render_preview
from galaxysd_core.errors import GalaxySDError
from pages import _cache
from pages import _common as common
from pages._common import Keys


def live_preview(
    settings: dict[str, Any], reference: Path | None, *, guide: Path | None = None
) -> None:
    """Draw one quick image of ``settings`` (unless on screen already), beside the reference.

    ``guide`` is the model's autoguidance partner, used when ``guide_weight`` is not 1.
    """
    held = st.session_state.get(Keys.COMPOSE_LIVE)
    wanted = {**settings, "model": str(common.active_model()), "device": common.active_device()}
    if held is None or held["settings"] != wanted:
        start = time.perf_counter()
        held = {"settings": wanted, "image": None, "error": None}
        try:
            weak = None if settings.get("guide_weight", 1.0) == 1.0 else _cache.pipeline(guide)
            held["image"] = render_preview(_cache.pipeline(), settings, guide=weak)
        except GalaxySDError as exc:  # shown in place of the image: no stale preview
            held["error"] = str(exc)
        held["seconds"] = time.perf_counter() - start
        st.session_state[Keys.COMPOSE_LIVE] = held
    cols = st.columns(4)
    if held["error"]:
        cols[0].error(f"Live preview failed: {held['error']}")
    else:
        caption = (
            f"Live: seed {settings['seed']}, {LIVE_STEPS} DPM++ steps, {held['seconds']:.2f} s"
        )
        cols[0].image(held["image"], width="stretch", caption=caption)
    if reference is not None and not held["error"]:  # an unreadable one is the error
        cols[1].image(str(reference), width="stretch", caption=f"Reference: {reference.name}")


def show_batch() -> None:
    """The last batch: tiles captioned with seed and prompt, a PNG each and a zip of all."""
    last = st.session_state.get(Keys.COMPOSE_LAST)
    if not last:
        return
    paths = [Path(p) for p in last["paths"] if Path(p).exists()]
    if not paths:
        return
    st.subheader("Generated")
    reference = last.get("reference")
    cols = st.columns(4)
    for i, path in enumerate(paths):
        with cols[i % 4]:
            st.image(
                str(path), caption=f"seed {last['seeds'][i]}: {last['prompt']}", width="stretch"
            )
            st.download_button(
                "PNG",
                path.read_bytes(),
                path.name,
                "image/png",
                key=f"dl_{path}",
                on_click="ignore",
            )
    st.download_button(
        f"Download all {len(paths)} (zip)",
        zip_images(paths),
        f"{paths[0].parent.name}.zip",
        "application/zip",
        key="compose_zip",
        on_click="ignore",
    )
    if reference:
        st.image(reference, width=128, caption=f"Started from {Path(reference).name}")
    if last.get("real"):
        st.subheader("Real galaxies with the same tags")
        st.image(last["real"], width=128)
