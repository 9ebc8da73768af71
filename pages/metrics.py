"""Metrics: realism, diversity, consistency (Eq. 1-6), distances and the physical judges.

Reads an evaluation's ``metrics.parquet`` / ``pareto.parquet`` and the
physical judges' tables; launching a new evaluation (full, or the quick
CPU-sized preset) is one job (``evaluate``), and the page refreshes itself
when that job ends. Every chart carries the real-vs-real line.
"""

from __future__ import annotations

import streamlit as st

from galaxysd_core import jobs
from galaxysd_core.metrics import results
from galaxysd_core.metrics.config import QUICK_EVALUATION
from galaxysd_core.metrics.evaluate import METRIC_COLUMNS
from pages import _physical, _tradeoffs
from pages._common import Keys, active_dataset, active_model, get_workspace, label_for, user_errors
from pages._jobwait import wait_for


@st.cache_data(max_entries=8, show_spinner=False)
def _load(folder: str, mtime: float):  # mtime: re-read a rewritten result
    return results.load_results(folder)


def _launch(ws) -> None:
    with st.expander("Evaluate the active model", expanded=False):
        st.caption(
            f"Model: {label_for(active_model())} · real images: {label_for(active_dataset())}"
        )
        values = {"run": str(active_model()), "real": str(active_dataset())}
        quick = ", ".join(QUICK_EVALUATION["prompts"])
        st.markdown(
            f"**Quick evaluation** (about a minute on 2 CPU cores): prompts {quick}, text only, "
            f"{QUICK_EVALUATION['n_images']} images each, {QUICK_EVALUATION['steps']} steps."
        )
        if st.button("Launch quick evaluation", type="primary"):
            with user_errors("launch the evaluation"):
                job = jobs.launch("evaluate", {**values, **QUICK_EVALUATION}, workspace=ws)
                st.session_state[Keys.METRICS_JOB] = job
        st.markdown("**Full evaluation** (16 prompts x 2 modes: tens of minutes on a CPU)")
        n = st.number_input(
            "Images per prompt and mode",
            2,
            64,
            8,
            help="6 or more: precision/recall need more than 5 per side",
        )
        sweep = st.checkbox("Also sweep settings (Pareto view)", value=False)
        if st.button("Launch full evaluation"):
            with user_errors("launch the evaluation"):
                job = jobs.launch(
                    "evaluate", {**values, "n_images": int(n), "sweep": sweep}, workspace=ws
                )
                st.session_state[Keys.METRICS_JOB] = job


def _trends(metrics) -> None:
    chosen = st.multiselect(
        "Metrics", METRIC_COLUMNS, default=["realism", "diversity", "consistency", "physical"]
    )
    cols = st.columns(min(3, max(1, len(chosen))))
    for i, metric in enumerate(chosen):
        with cols[i % len(cols)]:
            st.plotly_chart(
                _tradeoffs.metric_chart(metrics, metric), width="stretch", key=f"trend_{metric}"
            )
            st.caption(results.METRIC_HELP[metric])


def _fool_rates() -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from galaxysd_core.errors import GalaxySDError
    from pages._cache import review_store

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
st.caption(
    "Realism, diversity and consistency (Sec. 4.1, Eq. 1-6) plus Fréchet / kernel distances, "
    "precision-recall-density-coverage and a two-sample test in the SimCLR space; and physical "
    "judges that need no training (statmorph statistics, a copy check)."
)
_launch(ws)
wait_for(Keys.METRICS_JOB, "Evaluation")
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
        table = results.prompt_table(metrics, checkpoint=ckpt)
        st.dataframe(table, hide_index=True)
        for line in results.explain_missing(table):
            st.caption(f"Empty cells: {line}.")
        _physical.physical(folder, ckpt)
        if pareto is not None and len(pareto):
            _tradeoffs.pareto(pareto)
_fool_rates()
