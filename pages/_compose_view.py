"""What the Compose page shows: the live preview beside its reference, and the last batch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from galaxysd_core.diffusion.history import zip_images
from galaxysd_core.diffusion.live import LIVE_STEPS, LivePreview, render_preview
from pages import _common as common
from pages._common import Keys

# How long a run waits for the live preview before showing the previous one and polling.
LIVE_WAIT_S = 2.0


def live_preview(settings: dict[str, Any], reference: Path | None) -> None:
    """Ask the session's preview worker for ``settings``; show its image beside the reference."""
    model = (str(common.active_model()), common.active_device())
    held = st.session_state.get(Keys.COMPOSE_LIVE)
    if held is None or held[0] != model:
        pipe = common.pipeline()
        held = (model, LivePreview(lambda s, progress: render_preview(pipe, s, progress)))
        st.session_state[Keys.COMPOSE_LIVE] = held
    preview: LivePreview = held[1]
    preview.request(settings)
    preview.wait(LIVE_WAIT_S)

    polling = preview.busy  # still drawing: the fragment polls until the image is in

    @st.fragment(run_every=0.3 if polling else None)
    def _show() -> None:
        result = preview.result
        if polling and not preview.busy:
            st.rerun()  # the preview of these settings is ready: show it, stop polling
        cols = st.columns(4)
        if result is not None and result.error:
            cols[0].error(f"Live preview failed: {result.error}")
        elif result is not None:
            stale = " (updating...)" if preview.busy else ""
            caption = f"Live{stale}: seed {result.settings['seed']}, {LIVE_STEPS} DPM++ steps"
            cols[0].image(result.image, width="stretch", caption=caption)
        if reference is not None:
            cols[1].image(str(reference), width="stretch", caption=f"Reference: {reference.name}")

    _show()


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
