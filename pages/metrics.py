"""Metrics: realism, diversity, consistency (Eq. 1-6) and distances over training steps.

Reads an evaluation's ``metrics.parquet`` / ``pareto.parquet``; launching a new
evaluation is one job (``evaluate``). Every chart carries the real-vs-real line.
"""

from __future__ import annotations

from pathlib import Path

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from galaxysd_core import jobs
from galaxysd_core.metrics import results
from galaxysd_core.metrics.evaluate import METRIC_COLUMNS
from pages._common import Keys, active_dataset, active_model, get_workspace, label_for, user_errors
from pages._hover import hover_thumbnails, thumbnails


@st.cache_data(max_entries=8, show_spinner=False)
def _load(folder: str, mtime: float):  # mtime: re-read a rewritten result
    return results.load_results(folder)


def _launch(ws) -> None:
    with st.expander("Evaluate the active model", expanded=False):
        st.caption(
            f"Model: {label_for(active_model())} · real images: {label_for(active_dataset())}"
        )
        n = st.number_input("Images per prompt and mode", 2, 64, 8)
        sweep = st.checkbox("Also sweep settings (Pareto view)", value=False)
        if st.button("Launch evaluation"):
            with user_errors("launch the evaluation"):
                values = {
                    "run": str(active_model()),
                    "real": str(active_dataset()),
                    "n_images": int(n),
                    "sweep": sweep,
                }
                st.success(
                    f"Job {jobs.launch('evaluate', values, workspace=ws)} launched; see Training."
                )


def _trends(metrics) -> None:
    chosen = st.multiselect(
        "Metrics", METRIC_COLUMNS, default=["realism", "diversity", "consistency"]
    )
    cols = st.columns(min(3, max(1, len(chosen))))
    for i, metric in enumerate(chosen):
        lines, ref = results.trend(metrics, metric)
        fig = px.line(lines, x="step", y="value", color="mode", markers=True, title=metric)
        if ref is not None:
            fig.add_hline(y=ref, line_dash="dash", annotation_text="real vs real")
        fig.update_layout(height=280, margin={"t": 40, "b": 10}, yaxis_title=None)
        with cols[i % len(cols)]:
            st.plotly_chart(fig, width="stretch", key=f"trend_{metric}")
            st.caption(results.METRIC_HELP[metric])


def _pareto(pareto) -> None:
    st.subheader("Settings trade-offs (Fig. 5)")
    st.caption("Realism (up) vs diversity score (down = more varied); the line joins each prompt's "
               "Pareto front. Hover a point for its settings and first image; select (click) it "
               "to load its settings into Compose.")  # fmt: skip
    hover = ["guidance", "strength", "steps", "weight", "consistency", "prompt_text"]
    fig = px.scatter(pareto, x="diversity", y="realism", color="prompt", symbol="on_front",
                     hover_data=hover, custom_data=[pareto.index])  # fmt: skip
    for prompt, group in pareto[pareto["on_front"]].groupby("prompt"):
        front = group.sort_values("diversity")
        fig.add_trace(go.Scatter(x=front["diversity"], y=front["realism"], mode="lines",
                                 name=f"front {prompt}", hoverinfo="skip"))  # fmt: skip
    fig.update_xaxes(autorange="reversed")
    event = st.plotly_chart(fig, on_select="rerun", selection_mode="points", key="pareto")
    if "thumbnail" in pareto:
        hover_thumbnails("pareto", thumbnails(pareto.index, pareto["thumbnail"].astype(str)))
    points = event.selection.points if event and event.selection else []
    picked = [p["customdata"][0] for p in points if p.get("customdata")]
    if picked:
        row = pareto.loc[picked[0]]
        preset = results.compose_preset(row)
        st.session_state[Keys.COMPOSE_PRESET] = preset
        left, right = st.columns([1, 3])
        if Path(str(row.get("thumbnail", ""))).is_file():
            left.image(str(row["thumbnail"]), width=128)
        right.json(preset)
        right.page_link(
            "pages/compose.py", label="Open these settings in Compose", icon=":material/brush:"
        )


def _fool_rates() -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from galaxysd_core.errors import GalaxySDError
    from pages._common import review_store

    try:
        store = review_store()
        rates = store.quiz_fool_rates() if hasattr(store, "quiz_fool_rates") else None
    except (GalaxySDError, SQLAlchemyError) as exc:  # the quiz is optional on this page
        st.caption(f"Quiz results unavailable: {exc}")
        return
    if rates is not None and len(rates):
        st.subheader("Quiz: how often people were fooled, per prompt")
        st.dataframe(rates, hide_index=True)


ws = get_workspace()
st.title("Metrics")
st.caption("Realism, diversity and consistency (Sec. 4.1, Eq. 1-6) plus Fréchet / kernel distances, "
           "precision-recall-density-coverage and a two-sample test, all in the SimCLR space.")  # fmt: skip
_launch(ws)
folders = results.result_folders(ws.runs)
if not folders:
    st.info("No evaluation yet: launch one above (or run `galaxysd evaluate --run DIR`).")
else:
    folder = st.selectbox("Evaluation", folders, format_func=label_for)
    with user_errors("read the evaluation"):
        metrics, pareto = _load(str(folder), (folder / "metrics.parquet").stat().st_mtime)
        _trends(metrics)
        st.subheader("Per prompt")
        checkpoints = [c for c in metrics["checkpoint"].unique() if c != "real"]
        ckpt = (
            st.selectbox("Checkpoint", checkpoints, index=len(checkpoints) - 1)
            if checkpoints
            else None
        )
        st.dataframe(results.prompt_table(metrics, checkpoint=ckpt), hide_index=True)
        if pareto is not None and len(pareto):
            _pareto(pareto)
_fool_rates()
