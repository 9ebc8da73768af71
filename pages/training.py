"""Training: launch any job kind from a form, watch it live, cancel, resume, find checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import plotly.express as px
import streamlit as st

from galaxysd_core import jobs
from galaxysd_core.errors import GalaxySDError
from galaxysd_core.jobs.forms import FieldSpec, field_specs, values_from_form
from pages._common import get_workspace, user_errors

ACTIVE = ("queued", "running")
JOB_KEY = "training_job"  # the job shown in the viewer


def _widget(spec: FieldSpec, key: str):
    """One input for a config field; empty text means "use the default"."""
    label = spec.name + (" *" if spec.required else "")
    if spec.widget == "bool":
        return st.checkbox(label, value=bool(spec.default), help=spec.help, key=key)
    if spec.choices:
        index = spec.choices.index(spec.default) if spec.default in spec.choices else 0
        return st.selectbox(label, spec.choices, index=index, help=spec.help, key=key)
    if spec.widget in ("int", "float") and not spec.optional:
        cast = int if spec.widget == "int" else float
        value = cast(spec.default) if spec.default is not None else None
        return st.number_input(label, value=value, help=spec.help, key=key)
    if spec.widget == "json":
        text = "" if spec.default is None else json.dumps(spec.default)
    else:
        text = "" if spec.default is None else str(spec.default)
    hint = "empty: default" if spec.optional or spec.required else None
    raw = st.text_input(label, value=text, help=spec.help, key=key, placeholder=hint)
    if spec.widget in ("int", "float") and raw.strip():
        try:
            return (int if spec.widget == "int" else float)(raw)
        except ValueError:
            return raw  # the config class names the bad value
    return raw


def _estimate(kind: str, specs: list[FieldSpec], raw: dict) -> None:
    """The job's cost under the form, or why the values are not valid yet."""
    try:
        config = jobs.validate_config(kind, values_from_form(specs, raw))
    except GalaxySDError as exc:
        st.caption(f"Not launchable yet: {exc}")
        return
    if (cost := jobs.estimate(kind, config, workspace=get_workspace())) is not None:
        st.info(cost.describe())


def launch_form(ws) -> None:
    kinds = jobs.available_kinds()
    if not kinds:
        st.info("No job kind is available yet.")
        return
    kind = st.selectbox("Job kind", kinds, key="training_kind")
    specs = field_specs(jobs.KINDS[kind].load_config_class())
    cols = st.columns(3)
    raw = {}
    for i, spec in enumerate(specs):
        with cols[i % 3]:
            raw[spec.name] = _widget(spec, f"training_{kind}_{spec.name}")
    _estimate(kind, specs, raw)
    if st.button("Launch", type="primary"):
        with user_errors(f"launch the {kind} job"):
            job_id = jobs.launch(kind, values_from_form(specs, raw), workspace=ws)
            st.session_state[JOB_KEY] = job_id  # the viewer below follows the new job
            st.success(f"Job {job_id} launched.")


def _queue_banner(ws) -> None:
    queue = jobs.queue_state(workspace=ws)
    if queue["full"] and queue["queued"]:
        st.info(
            f"The queue is full: {queue['running_heavy']} of {queue['max_heavy']} heavy job slot(s) "
            f"in use, {queue['queued']} waiting. New heavy jobs wait and start by themselves."
        )


def _curve(job_id: str, ws) -> None:
    frame = jobs.events(job_id, workspace=ws)
    if "loss" in frame and frame["loss"].notna().any():
        frame = frame[frame["loss"].notna()]
        fig = px.line(frame, x="step", y="loss", title="Training loss")
        fig.update_layout(height=280, margin={"t": 40, "b": 10})
        st.plotly_chart(fig, key=f"curve_{job_id}")


@st.fragment(run_every=2)
def live(job_id: str) -> None:
    """Progress, loss, samples, log and buttons of one job, refreshed every 2 s."""
    ws = get_workspace()
    with user_errors("read the job"):
        state = jobs.status(job_id, workspace=ws)
        step, total = state["step"], state["total"]
        where = f", queue position {state['queue_position']}" if state["queue_position"] else ""
        shown = "stopping..." if state["stopping"] else state["status"]
        text = f"{state['kind']} · {shown}{where}"
        if total:
            eta = f", about {state['eta']:.0f} s left" if state["eta"] else ""
            text += f" · step {step}/{total}{eta}"
        st.progress(state["fraction"] or 0.0, text=text)
        if state["message"]:
            st.caption(state["message"])
        if state["reason"]:
            show = st.error if state["status"] == "failed" else st.warning
            show(f"{state['status'].capitalize()}: {state['reason']}")
        _queue_banner(ws)
        cols = st.columns(2)
        stoppable = state["status"] in ACTIVE and not state["stopping"]
        if stoppable and cols[0].button("Cancel", key=f"cancel_{job_id}"):
            jobs.cancel(job_id, workspace=ws)
            st.rerun(scope="fragment")  # show "stopping..." at once
        if state["can_resume"] and cols[1].button("Resume", key=f"resume_{job_id}"):
            jobs.resume(job_id, workspace=ws)
            st.toast("Resumed from the latest checkpoint.")
        _curve(job_id, ws)
        images = [p for p in state["images"] if Path(p).exists()]
        if images:
            st.image(images, caption=[Path(p).name for p in images], width=160)
        checkpoints = jobs.checkpoints(job_id, workspace=ws)
        if checkpoints:
            st.write("Checkpoints: " + ", ".join(f"`{p}`" for p in checkpoints))
        st.code(jobs.tail_log(job_id, 30, workspace=ws) or "(no output yet)", language=None)
        st.dataframe(jobs.list_jobs(workspace=ws).drop(columns=["run_dir"]), hide_index=True)


st.title("Training and jobs")
ws = get_workspace()
with user_errors("check the jobs"):
    jobs.reconcile(ws)
with st.expander("Launch a job", expanded=True):
    launch_form(ws)
with user_errors("list the jobs"):
    table = jobs.list_jobs(workspace=ws)
    if table.empty:
        st.info("No jobs yet: launch one above.")
    else:
        job_id = st.selectbox("Job", list(table["id"]), key=JOB_KEY)
        live(job_id)
