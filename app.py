"""GalaxySD Studio: navigation over the pages and the shared sidebar.

Run with ``streamlit run app.py`` (or ``make app``). Every page lives in
``pages/<name>.py``; this file only declares them, builds the sidebar (workspace,
active model, active dataset, device) and runs the chosen page.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import streamlit as st

from galaxysd_core.paths import DEMO_MODEL, list_datasets, list_models
from pages._common import (
    DEFAULT_SKY,
    Keys,
    OutsideWorkspaceError,
    confine,
    get_workspace,
    label_for,
)
from pages._nav import PAGES

ROOT = Path(__file__).resolve().parent


@st.cache_resource
def _devices() -> list[str]:
    """Torch devices of this machine.

    torch takes seconds to import, so a machine without an NVIDIA driver is
    known to be CPU-only without it and Home opens faster.
    """
    if not Path("/proc/driver/nvidia/version").exists() and not shutil.which("nvidia-smi"):
        return ["cpu"]
    import torch

    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


def _pick(label: str, key: str, options: list[Path], current: Path, help_text: str) -> None:
    """A sidebar selectbox that keeps ``st.session_state[key]`` as a str path.

    The widget has its own key so another page may set ``key`` (e.g. "use this
    checkpoint") and the sidebar follows on the next run.
    """
    widget = f"_sidebar_{key}"
    if current not in options:
        options = [current, *options]
    if st.session_state.get(widget) != current:
        st.session_state[widget] = current

    def _changed() -> None:
        st.session_state[key] = str(st.session_state[widget])

    st.selectbox(
        label, options, key=widget, format_func=label_for, on_change=_changed, help=help_text
    )


def sidebar() -> None:
    """Workspace, active model, active dataset and device, shared by every page."""
    ws = get_workspace()
    default_sky = ws.sky / DEFAULT_SKY
    with st.sidebar:
        st.caption(f"Workspace `{ws.root}` (set `GALAXYSD_HOME` to change it)")
        for key, fallback, allow_assets in (
            (Keys.ACTIVE_MODEL, DEMO_MODEL, True),
            (Keys.ACTIVE_DATASET, default_sky, False),
        ):
            chosen = st.session_state.get(key)
            try:
                current = confine(chosen, allow_assets=allow_assets) if chosen else fallback
            except OutsideWorkspaceError as exc:
                st.error(f"{exc}. Using the default instead.")
                current = fallback
            st.session_state[key] = str(current)
        _pick(
            "Active model",
            Keys.ACTIVE_MODEL,
            list_models(ws),
            Path(st.session_state[Keys.ACTIVE_MODEL]),
            "The bundled demo model, models/ in the workspace, or a training checkpoint.",
        )
        _pick(
            "Active dataset",
            Keys.ACTIVE_DATASET,
            list_datasets(ws),
            Path(st.session_state[Keys.ACTIVE_DATASET]),
            "A mock sky (sky/) or a prepared training set (datasets/).",
        )
        if not Path(st.session_state[Keys.ACTIVE_DATASET]).exists():
            st.caption("This dataset is not built yet: Home builds the default sky.")
        devices = _devices()
        if st.session_state.get(Keys.DEVICE) not in devices:
            st.session_state[Keys.DEVICE] = devices[0]
        st.radio("Device", devices, key=Keys.DEVICE, horizontal=True)


def main() -> None:
    st.set_page_config(page_title="GalaxySD Studio", page_icon=":milky_way:", layout="wide")
    sections: dict[str, list] = {}
    for section, title, filename, icon, _ in PAGES:
        path = ROOT / "pages" / filename
        if path.is_file():  # a page still being written is left out, not a crash
            sections.setdefault(section, []).append(
                st.Page(path, title=title, icon=icon, default=filename == "home.py")
            )
    page = st.navigation(sections)
    sidebar()
    page.run()


if __name__ == "__main__":  # `streamlit run` and AppTest run this file as __main__
    main()
