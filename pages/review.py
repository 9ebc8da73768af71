"""Review: sign in, vote on one candidate at a time, follow the round, admin tools.
Every rule (one vote each, consensus, roles, expiry) lives in ``galaxysd_core.review``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from galaxysd_core.jobs import launch as launch_job
from galaxysd_core.review import round_export_path
from galaxysd_core.review.checks import read_candidates
from pages._common import (
    Keys,
    OutsideWorkspaceError,
    confine,
    get_workspace,
    review_store,
    user_errors,
)

store = review_store()
SHORTCUTS = {"yes": "Y", "no": "N", "unsure": "U"}


def _image(path: str) -> Path | None:
    """The candidate's image if it exists inside the workspace (paths come from uploads)."""
    try:
        p = confine(path, allow_assets=True)
    except OutsideWorkspaceError:
        return None
    return p if p.is_file() else None


def _act(action: str, method: str, *args) -> None:
    """A button callback: one store call, errors shown on the page."""
    with user_errors(action):
        getattr(store, method)(*args)


def _sign_in() -> None:
    with st.form("review_sign_in"):
        name = st.text_input("Reviewer name")
        phrase = st.text_input("Passphrase", type="password")
        if st.form_submit_button("Sign in", type="primary"):
            with user_errors("sign in"):
                st.session_state[Keys.REVIEW_SESSION] = store.sign_in(name, phrase)
                st.rerun()
    st.caption("An admin creates reviewers: `galaxysd review add-reviewer NAME --role reviewer`.")


def _candidate(token: str, round_id: int) -> None:
    order = st.radio("Order", ["score", "uncertainty"], horizontal=True, key="review_order")
    queue = store.queue(token, round_id, order=order, limit=1)
    if queue.empty:
        st.success("Nothing left for you in this round. Thank you!")
    else:
        c = queue.iloc[0]
        left, right = st.columns([2, 1])
        if (path := _image(c.image)) is None:
            left.warning(f"Image not found: {c.image}")
        else:
            left.image(str(path), width=320)
            left.expander("Zoom (full width)").image(str(path), width="stretch")
        score = "-" if pd.isna(c.score) else f"{c.score:.3f}"
        where = (
            "" if pd.isna(c.ra) or pd.isna(c.dec) else f"  \n**RA, Dec** {c.ra:.5f}, {c.dec:+.5f}"
        )
        right.markdown(f"**Object** `{c.object_id}`  \n**Score** {score}{where}")
        right.caption(f"{int(c.n_votes)} vote(s) so far")
        for label in ("yes", "no", "unsure"):
            right.button(
                f"{label.capitalize()} ({SHORTCUTS[label]})",
                key=f"review_{label}",
                shortcut=SHORTCUTS[label],
                on_click=_act,
                args=("record the vote", "vote", token, int(c.candidate_id), label),
                type="primary" if label == "yes" else "secondary",
                width="stretch",
            )
    st.button(
        "Undo my last vote (Z)",
        key="review_undo",
        shortcut="Z",
        on_click=_act,
        args=("undo the vote", "undo_last_vote", token),
    )
    refs = store.references(round_id)
    if len(refs):
        with st.expander("Known examples for reference"):
            for col, ref in zip(st.columns(4), refs.head(4).itertuples(), strict=False):
                if (ref_path := _image(ref.image)) is not None:
                    col.image(str(ref_path), caption=ref.object_id, width="stretch")


def _round_state(me, round_id: int) -> None:
    summary = store.summary(round_id)
    progress = store.progress(round_id)
    mine = progress.loc[progress.reviewer == me.name, "votes"].sum()
    st.progress(min(1.0, mine / max(summary["candidates"], 1)), f"My votes: {mine}")
    cols = st.columns(4)
    for col, key in zip(cols, ("candidates", "decided", "accepted"), strict=False):
        col.metric(key.capitalize(), summary[key])
    kappa = summary["fleiss_kappa"]
    cols[3].metric("Fleiss' kappa", "-" if kappa != kappa else f"{kappa:.2f}")
    st.dataframe(progress, hide_index=True)


def _admin(token: str, round_id: int | None) -> None:
    with st.expander("Admin"), user_errors("complete the admin action"):
        with st.form("review_open_round"):
            campaign = st.text_input("Campaign")
            upload = st.file_uploader("Candidates CSV (object_id, image, score, ra, dec)", "csv")
            if st.form_submit_button("Open round") and upload is not None:
                rows = read_candidates(upload, workspace=get_workspace())
                new = store.open_round(campaign, rows, session=token)
                st.success(f"Opened round {new}.")
        if round_id is None:
            return
        info = store.round_info(round_id)
        if info["status"] == "open" and st.button("Close this round"):
            store.close_round(round_id, session=token)
            st.rerun()
        fmt = st.radio("Export format", ["csv", "fits"], horizontal=True)
        if st.button("Export decisions"):
            out = round_export_path(get_workspace(), info["campaign"], info["number"], fmt)
            st.success(f"Wrote {store.export_decisions(round_id, out, fmt=fmt)}")
        if st.button("Launch the next discovery round"):
            ws = get_workspace()
            job = launch_job("discover-round", {"campaign": info["campaign"]}, workspace=ws)
            st.success(f"Job {job} launched: follow it on the Training page.")


st.title("Review candidates")
token = st.session_state.get(Keys.REVIEW_SESSION)
me = None
if token:
    with user_errors("check your session"):
        me = store.whoami(token)
if me is None:
    st.session_state.pop(Keys.REVIEW_SESSION, None)
    _sign_in()
    st.stop()

st.caption(f"Signed in as **{me.name}** ({me.role}).")
if st.button("Sign out"):
    store.sign_out(token)
    st.session_state.pop(Keys.REVIEW_SESSION, None)
    st.rerun()
rounds = store.rounds()
round_id = None
if rounds.empty:
    st.info("No review round yet: an admin opens one (below, or `galaxysd review open-round`).")
else:
    labels = {
        int(r.round_id): f"{r.campaign} round {r.number} ({r.status})" for r in rounds.itertuples()
    }
    round_id = st.selectbox("Round", list(labels), format_func=labels.get, key=Keys.REVIEW_ROUND)
    with user_errors("show the round"):
        _candidate(token, round_id)
        _round_state(me, round_id)
if me.role == "admin":
    _admin(token, round_id)
