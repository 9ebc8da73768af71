"""Home: the state of the workspace, the first-run mock sky, links and a short tour."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import streamlit as st

from galaxysd_core import jobs, quiz_pool
from galaxysd_core.paths import list_datasets, list_models
from pages._cache import review_store
from pages._common import DEFAULT_SKY, DEFAULT_SKY_CONFIG, active_model, get_workspace, user_errors
from pages._nav import PAGES

ROOT = Path(__file__).resolve().parent.parent
TOUR = """
1. **Compose** works right away: the bundled demo model turns a prompt such as
   *spiral, 2 arms, bar* into galaxy images in seconds on a CPU.
2. A **mock sky** (a synthetic catalogue with GZ2-style votes and images) is built in
   the background on first start; its progress is shown above. It feeds the
   **Dataset**, **Quiz**, **Metrics** and **Embedding Map** pages.
3. **Training** fine-tunes a model on a prepared dataset; pick the result in the
   sidebar as *Active model*.
4. **Metrics** and **Quiz** tell how real the generated galaxies look, to a
   network and to people; **Experiments** tests whether they help a classifier.
5. **Review** is where a team votes on rare-galaxy candidates found with the model.
"""


def _builds(run_dir: str, out: Path) -> bool:
    """Whether the job in ``run_dir`` writes the sky ``out`` (False if its config is gone)."""
    try:
        return json.loads((Path(run_dir) / "config.json").read_text()).get("out") == str(out)
    except (OSError, ValueError):
        return False


def _sky_jobs(ws, out: Path) -> pd.DataFrame:
    """The workspace's jobs building ``out``, newest first."""
    found = jobs.list_jobs(workspace=ws)
    found = found[found["kind"] == "sky"]
    return found[[_builds(d, out) for d in found["run_dir"]]]


def _default_sky_job() -> str | None:
    """Launch the first-run mock sky once; return the id of its latest build until built."""
    ws = get_workspace()
    out = ws.sky / DEFAULT_SKY
    if (out / "truth.parquet").exists():
        return None
    builds = _sky_jobs(ws, out)
    if len(builds) and builds.iloc[0]["status"] != "succeeded":
        return str(builds.iloc[0]["id"])  # running, queued, or failed: shown, not relaunched
    return jobs.launch("sky", {**DEFAULT_SKY_CONFIG, "out": str(out)}, workspace=ws)


@st.fragment(run_every=2)
def _sky_progress(job_id: str) -> None:
    """Refresh the first-run build's progress without rerunning the page."""
    ws = get_workspace()
    state = jobs.status(job_id, workspace=ws)
    step, total = state.get("step") or 0, state.get("total") or 0
    if state["status"] == "succeeded":
        # The Quiz's first questions, made in the background while the visitor looks around.
        quiz_pool.ensure_pool(active_model(), ws.sky / DEFAULT_SKY, workspace=ws)
        st.rerun(scope="app")  # the sky exists now: refresh the counts and the sidebar
    elif state["status"] in ("queued", "running"):
        where = f", queue position {state['queue_position']}" if state["queue_position"] else ""
        st.progress(
            state["fraction"] or 0.0,
            text=f"Building the default mock sky: {step}/{total} ({state['status']}{where})",
        )
    else:
        st.error(
            f"Building the default mock sky ended {state['status']}: read its log on the "
            f"Training page (job {job_id}), then try again."
        )
        if st.button("Try again"):
            jobs.launch(
                "sky", {**DEFAULT_SKY_CONFIG, "out": str(ws.sky / DEFAULT_SKY)}, workspace=ws
            )
            st.rerun(scope="app")


def _state() -> None:
    ws = get_workspace()
    table = jobs.list_jobs(workspace=ws)
    cols = st.columns(4)
    cols[0].metric("Datasets", len(list_datasets(ws)))
    cols[1].metric("Models", len(list_models(ws)))
    cols[2].metric("Runs", len(table))
    cols[3].metric("Jobs running", int(table["status"].isin(["queued", "running"]).sum()))


def _campaigns() -> None:
    """Progress of every open review round: decided candidates out of all."""
    store = review_store()
    rounds = store.rounds()
    open_rounds = rounds[rounds["status"] == "open"] if len(rounds) else rounds
    if not len(open_rounds):
        st.caption("No review round open yet (see the Review page).")
    for r in open_rounds.itertuples():
        done = store.summary(int(r.round_id))
        st.progress(
            done["decided"] / max(done["candidates"], 1),
            text=f"{r.campaign} round {r.number}: {done['decided']}/{done['candidates']} decided",
        )


st.title("GalaxySD Studio")
st.write(
    "Make, measure and use synthetic galaxy images with a morphology-conditioned "
    "diffusion model (Ma et al. 2026, GalaxySD)."
)
with user_errors("build the default mock sky"):
    sky_job = _default_sky_job()
    if sky_job:
        _sky_progress(sky_job)
with user_errors("read the workspace"):
    _state()
st.subheader("Campaign progress")
with user_errors("read the review rounds"):
    _campaigns()
st.subheader("Pages")
cols = st.columns(2)
present = [p for p in PAGES[1:] if (ROOT / "pages" / p[2]).is_file()]
for i, (_, title, filename, icon, blurb) in enumerate(present):
    with cols[i % 2]:
        st.page_link(f"pages/{filename}", label=title, icon=icon)
        st.caption(blurb)
first_time = not any(get_workspace().runs.iterdir())
with st.expander("First time here? A one-minute tour", expanded=first_time):
    st.markdown(TOUR)
