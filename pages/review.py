"""Review: sign in, vote on one candidate at a time, follow the round, admin tools.
Every rule (one vote each, consensus, roles, expiry) lives in ``galaxysd_core.review``."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from galaxysd_core.review.display import adjust, survey_links
from pages._cache import review_store
from pages._common import Keys, user_errors
from pages._review_admin import admin
from pages._review_view import candidate_image, decided, display_tools

store = review_store()
SHORTCUTS = {"yes": "Y", "no": "N", "unsure": "U"}


def _vote(token: str, candidate_id: int, label: str) -> None:
    """Record a vote with the typed note (a button callback)."""
    note = st.session_state.get(Keys.REVIEW_NOTE, "").strip() or None
    with user_errors("record the vote"):
        store.vote(token, candidate_id, label, comment=note)
        st.session_state[Keys.REVIEW_NOTE] = ""


def _undo(token: str) -> None:
    with user_errors("undo the vote"):
        store.undo_last_vote(token)


def _candidate(token: str, round_id: int) -> None:
    order = st.radio("Order", ["score", "uncertainty"], horizontal=True, key="review_order")
    queue = store.queue(token, round_id, order=order, limit=1)
    if queue.empty:
        st.success("Nothing left for you in this round. Thank you!")
    else:
        c = queue.iloc[0]
        left, right = st.columns([2, 1])
        with left:
            if (path := candidate_image(c.image)) is None:
                st.warning(f"Image not found: {c.image}")
            else:
                st.image(adjust(path, **display_tools()), width=320)
        score = "-" if pd.isna(c.score) else f"{c.score:.3f}"
        links = survey_links(c.ra, c.dec)
        where = f"  \n**RA, Dec** {c.ra:.5f}, {c.dec:+.5f}" if links else ""
        right.markdown(f"**Object** `{c.object_id}`  \n**Score** {score}{where}")
        if links:
            right.markdown(" · ".join(f"[{name}]({url})" for name, url in links.items()))
        right.caption(f"{int(c.n_votes)} vote(s) so far")
        right.text_input("Note (saved with your vote)", key=Keys.REVIEW_NOTE, max_chars=500)
        for label in ("yes", "no", "unsure"):
            right.button(
                f"{label.capitalize()} ({SHORTCUTS[label]})",
                key=f"review_{label}",
                shortcut=SHORTCUTS[label],
                on_click=_vote,
                args=(token, int(c.candidate_id), label),
                type="primary" if label == "yes" else "secondary",
                width="stretch",
            )
    st.button(
        "Undo my last vote (Z)", key="review_undo", shortcut="Z", on_click=_undo, args=(token,)
    )
    refs = store.references(round_id)
    if len(refs):
        with st.expander("Known examples for reference"):
            for col, ref in zip(st.columns(4), refs.head(4).itertuples(), strict=False):
                if (ref_path := candidate_image(ref.image)) is not None:
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
    decided(store, round_id)


def _sign_in() -> None:
    with st.form("review_sign_in"):
        name = st.text_input("Reviewer name")
        phrase = st.text_input("Passphrase", type="password")
        if st.form_submit_button("Sign in", type="primary"):
            with user_errors("sign in"):
                st.session_state[Keys.REVIEW_SESSION] = store.sign_in(name, phrase)
                st.rerun()
    st.caption("An admin adds reviewers in the Admin panel (or `galaxysd review add-reviewer`).")


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
if flash := st.session_state.pop(Keys.REVIEW_FLASH, None):
    st.info(flash)
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
    admin(token, round_id)
