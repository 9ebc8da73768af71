"""Experiments: do synthetic galaxies help a classifier (Tables 2, 3), and what did
the discovery campaign find (Sec. 4.3, Figs. 8, 9, D4)? All numbers come from
``galaxysd_core.classify`` and ``galaxysd_core.discovery``; long runs are jobs."""

from __future__ import annotations

import io

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from galaxysd_core import jobs
from galaxysd_core.classify.experiments import TASKS, display_table, paper_table
from galaxysd_core.discovery.campaign import round_dirs
from galaxysd_core.discovery.results import (
    campaign_curves,
    campaign_names,
    export_catalogue,
    round_report,
)
from pages._cache import review_store
from pages._common import active_dataset, active_model, get_workspace, user_errors

ws = get_workspace()
st.title("Experiments")
tab_cls, tab_disc, tab_cat = st.tabs(["Classifiers (Tables 2, 3)", "Discovery rounds", "Catalogue"])


def _launch(kind: str, values: dict) -> None:
    with user_errors(f"launch the {kind} job"):
        st.success(f"Job {jobs.launch(kind, values, workspace=ws)} launched (see Training).")


def _estimate(kind: str, values: dict) -> None:
    """What the job will cost, shown before it is launched."""
    with user_errors(f"estimate the {kind} job"):
        cost = jobs.estimate(kind, jobs.validate_config(kind, values), workspace=ws)
        st.caption(cost.describe() if cost else "")


with tab_cls:
    c1, c2, c3 = st.columns(3)
    task = c1.selectbox("Task", list(TASKS), index=list(TASKS).index("detg"))
    scale = c2.number_input("Scale of the paper's sizes", 0.01, 1.0, 0.05, 0.01)
    seeds = c3.number_input("Seeds", 1, 10, 2)
    arch = c1.selectbox("Network", ["resnet18", "small", "tiny"])
    epochs = c2.number_input("Epochs (max)", 1, 100, 10)
    all_arms = ["baseline", "focal", "synthetic"]
    arms = c3.multiselect("Arms", all_arms, default=all_arms)
    sky_help = "Give generated images the real images' sky level, noise and JPEG coding."
    match_sky = c1.checkbox("Sky-match synthetic positives", help=sky_help)
    experiment = {"task": task, "scale": scale, "seeds": list(range(int(seeds)))}
    experiment |= {"arch": arch, "epochs": int(epochs), "arms": arms, "match_sky": match_sky}
    experiment |= {"sky": str(active_dataset()), "model": str(active_model())}
    _estimate("classify-experiment", experiment)
    if st.button("Run experiment", type="primary"):
        _launch("classify-experiment", experiment)
    runs = sorted(ws.runs.glob("*/summary.csv"), key=lambda p: p.stat().st_mtime, reverse=True)
    if runs:
        chosen = st.selectbox("Results", runs, format_func=lambda p: p.parent.name)
        st.caption("Pooled over seeds; 95 % bootstrap intervals; the paper's value beside.")
        st.dataframe(display_table(pd.read_csv(chosen)), hide_index=True)
    else:
        st.info("No experiment results yet: run one above.")
    with st.expander("The paper's Tables 2 and 3 (synthetic = the paper's 'ours')"):
        st.dataframe(paper_table(), hide_index=True)

campaigns = campaign_names(review_store())  # also those opened on the Review page

with tab_disc:
    name = st.selectbox("Campaign", campaigns) if campaigns else None
    new = st.text_input("Campaign name for the next round", value=name or "detg")
    help_ = "Give generated images the catalogue's sky level, noise and JPEG coding."
    sky_match = st.checkbox("Sky-match the synthetic D-ETGs", key="round_match_sky", help=help_)
    discovery = {"campaign": new, "sky": str(active_dataset()), "model": str(active_model())}
    discovery["match_sky"] = sky_match
    _estimate("discover-round", discovery)
    if st.button("Run the next round", help="Needs the previous round fully reviewed."):
        _launch("discover-round", discovery)
    if name:
        report = None
        with user_errors("read the campaign"):
            report = round_report(name, review_store())
        if report is not None and not report.empty:
            st.dataframe(report, hide_index=True)
            rates = ["candidate_purity", "accepted_purity", "recall_candidates", "recall_accepted"]
            rates = [c for c in rates if c in report]
            if rates:
                fig = go.Figure([go.Scatter(x=report["round"], y=report[c], name=c) for c in rates])
                fig.update_layout(xaxis_title="round", yaxis_title="fraction (mock-sky truth)")
                st.plotly_chart(fig)
            # The catalogue needs discovery rounds (a CSV-opened campaign has none).
            exports = ("csv", "fits") if round_dirs(name) else ()
            for col, fmt in zip(st.columns(2), exports, strict=False):
                with user_errors(f"export {fmt}"):
                    path = export_catalogue(name, review_store(), fmt=fmt)
                    data = path.read_bytes()
                    col.download_button(f"New objects ({fmt.upper()})", data, file_name=path.name)
        st.caption(f"{len(round_dirs(name))} round folder(s) under campaigns/{name}/")
    else:
        st.info("No campaign yet: run its first round above (or `galaxysd discover round`).")


def _band_plot(curves: pd.DataFrame, quantity: str, kind: str) -> go.Figure:
    fig = go.Figure()
    for sample, part in curves[curves["quantity"] == quantity].groupby("sample"):
        x = list(part["x"]) + list(part["x"])[::-1]
        y = list(part[f"{kind}_high"]) + list(part[f"{kind}_low"])[::-1]
        style = {"fill": "toself", "opacity": 0.25, "line": {"width": 0}, "showlegend": False}
        band = go.Scatter(x=x, y=y, name=f"{sample} 1 sigma", **style)
        fig.add_traces([band, go.Scatter(x=part["x"], y=part[kind], name=sample)])
    fig.update_layout(xaxis_title=quantity, yaxis_title=kind.upper(), height=320)
    return fig


with tab_cat:
    if not campaigns:
        st.info("The comparison needs a campaign with accepted objects.")
    else:
        cname = st.selectbox("Campaign ", campaigns)
        upload = st.file_uploader("Properties table (CSV, e.g. GSWLC); default: mock-sky truth")
        n_control = st.number_input("Control sample size", 10, 10000, 4000)
        if st.button("Compare found / known / control"):
            props = pd.read_csv(io.BytesIO(upload.getvalue())) if upload else None
            with user_errors("compare the samples"), st.spinner("Bootstrapping..."):
                store = review_store()
                control = int(n_control)
                curves = campaign_curves(
                    cname, store, properties=props, n_control=control, n_boot=100
                )
                st.plotly_chart(_band_plot(curves, "redshift", "kde"))
                for q in ("sfr", "stellar_mass", "r_mag", "abs_r_mag"):
                    st.plotly_chart(_band_plot(curves, q, "cdf"))
