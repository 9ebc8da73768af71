"""X/Y Grid: sweep two settings, see every cell and its consistency / realism as heat maps.

A small grid runs here with a progress bar; a large one is a background job
(``grid``, the same as ``galaxysd grid``).
"""

from __future__ import annotations

import time

import pandas as pd
import plotly.express as px
import streamlit as st

from galaxysd_core import jobs
from galaxysd_core.diffusion import SCHEDULERS
from galaxysd_core.gz2 import PHRASES
from galaxysd_core.gz2.prompts import tags_of_prompt
from galaxysd_core.metrics.grid import AXES, GridConfig, grid_runs, heat_table, run_grid
from galaxysd_core.paths import list_models
from pages import _common as common

DEFAULTS = {
    "guidance": "3,5,7,9",
    "steps": "10,20,30",
    "seed": "0,1,2",
    "strength": "0.4,0.6,0.8",
    "scheduler": ",".join(SCHEDULERS),
    "weight": "0.8,1.0,1.3",
}
# Cells x steps x images up to this run on the page; more go to a background job.
INLINE_MAX = 120


def _axis(label: str, prompt: str, *, optional: bool) -> str | None:
    """An axis picker: its kind (a phrase for a weight) and values, as ``AXIS=V1,V2``."""
    c1, c2 = st.columns([1, 2])
    kinds = [*AXES, "weight"] + (["none"] if optional else [])
    kind = c1.selectbox(
        f"{label} axis", kinds, index=len(kinds) - 1 if optional else 0, key=f"grid_{label}_kind"
    )
    if kind == "none":
        return None
    if kind == "model":
        chosen = c2.multiselect(
            f"{label} models",
            list_models(common.get_workspace()),
            format_func=common.label_for,
            key=f"grid_{label}_models",
        )
        return "model=" + ",".join(str(p) for p in chosen)
    if kind == "weight":
        phrases = [PHRASES[t] for t in tags_of_prompt(prompt)] or ["(no tag phrase in the prompt)"]
        kind = "weight:" + c1.selectbox(f"{label} phrase", phrases, key=f"grid_{label}_phrase")
    values = c2.text_input(
        f"{label} values (comma-separated)",
        DEFAULTS[kind.partition(":")[0]],
        key=f"grid_{label}_values_{kind}",
    )
    return f"{kind}={values}"


def _heat(frame: pd.DataFrame, metric: str) -> None:
    table = heat_table(frame, metric)
    if table.isna().all().all():
        st.caption(
            f"No {metric}: "
            + (
                "no classifier applies to the prompt's tags."
                if metric == "consistency"
                else "no real galaxy with these tags to compare."
            )
        )
        return
    fig = px.imshow(
        table,
        text_auto=".2f",
        color_continuous_scale="Viridis",
        zmin=0,
        zmax=1,
        aspect="auto",
        title=metric,
    )
    fig.update_layout(height=300, margin={"t": 40, "b": 10})
    st.plotly_chart(fig, width="stretch", key=f"heat_{metric}")


st.title("X/Y Grid")
ws = common.get_workspace()
prompt = st.text_input(
    "Prompt",
    st.session_state.get("compose_prompt") or "sdss, spiral galaxy, dust lane",
    key="grid_prompt",
)
x = _axis("X", prompt, optional=False)
y = _axis("Y", prompt, optional=True)
c1, c2, c3, c4 = st.columns(4)
seed = c1.number_input("Seed", 0, 2**31 - 1, 0, key="grid_seed")
steps = c2.number_input("Steps", 1, 100, 20, key="grid_steps")
n = c3.number_input("Images per cell", 1, 8, 1, key="grid_n")
scheduler = c4.selectbox("Sampler", SCHEDULERS, key="grid_scheduler")
if st.button("Run grid", type="primary"):
    with common.user_errors("run the grid"):
        config = GridConfig(
            model=common.active_model(),
            prompt=prompt,
            x=x or "",
            y=y,
            seed=int(seed),
            steps=int(steps),
            n=int(n),
            scheduler=scheduler,
            real=common.active_dataset(),
            device=common.active_device(),
        )
        config.validate()
        if config.cells() * config.steps * config.n <= INLINE_MAX:
            config.output_dir = ws.runs / time.strftime("grid-%Y%m%d-%H%M%S")
            run_grid(config, progress=common.ProgressBar("Generating the grid..."))
            st.session_state[common.Keys.GRID_RUN] = str(config.output_dir)
        else:
            job = jobs.launch("grid", config.to_dict() | {"output_dir": None}, workspace=ws)
            st.success(f"{config.cells()} cells: job {job} launched; follow it on Training.")

runs = grid_runs(ws.runs)
if not runs:
    st.info("No grid yet: pick two axes and run one.")
    st.stop()
shown = st.session_state.get(common.Keys.GRID_RUN)
run = st.selectbox(
    "Grid",
    runs,
    index=runs.index(next((r for r in runs if str(r) == shown), runs[0])),
    format_func=common.label_for,
)
frame = pd.read_csv(run / "grid.csv")
left, right = st.columns([3, 2])
left.image(
    str(run / "grid.png"), caption=f"{frame['prompt'].iloc[0]} · seed {frame['seed'].iloc[0]}"
)
with right:
    _heat(frame, "consistency")
    _heat(frame, "realism")
with st.expander("Cells (grid.csv)"):
    st.dataframe(frame, hide_index=True, width="stretch")
