"""Pages that wait for a job they launched refresh themselves when it ends.

A page stores the launched job's id under a session-state key; while it is
queued or running, a fragment polls its status every two seconds (without
rerunning the page) and reruns the whole page once it has ended, so the new
result appears without a revisit.
"""

from __future__ import annotations

import streamlit as st

from galaxysd_core import jobs
from galaxysd_core.errors import GalaxySDError
from pages._common import get_workspace

_WAITING = ("queued", "running")


@st.fragment(run_every=2)
def _poll(key: str, what: str) -> None:
    job_id = st.session_state.get(key)
    if not job_id:
        return
    try:
        state = jobs.status(job_id, workspace=get_workspace())
    except GalaxySDError:  # deleted meanwhile: nothing to wait for
        st.session_state.pop(key, None)
        return
    if state["status"] in _WAITING:
        step, total = state.get("step") or 0, state.get("total") or 0
        where = f", queue position {state['queue_position']}" if state["queue_position"] else ""
        text = (
            f"{what} (job {job_id}): {state['status']}{where}, {step}/{total}; "
            "this page refreshes when it ends"
        )
        st.progress(state["fraction"] or 0.0, text=text)
        return
    st.session_state.pop(key, None)
    if state["status"] == "succeeded":
        st.session_state[f"{key}_done"] = job_id
    else:
        reason = state.get("error") or "see its log on Training"
        st.session_state[f"{key}_failed"] = f"{job_id} ended {state['status']}: {reason}"
    st.rerun(scope="app")


def wait_for(key: str, what: str) -> None:
    """Show the job under ``st.session_state[key]`` until it ends, then rerun the page once."""
    failed = st.session_state.pop(f"{key}_failed", None)
    if failed:
        st.error(f"{what}: job {failed}")
    done = st.session_state.pop(f"{key}_done", None)
    if done:
        st.success(f"{what}: job {done} finished; its result is shown below.")
    if st.session_state.get(key):
        _poll(key, what)
