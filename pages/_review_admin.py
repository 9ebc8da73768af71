"""The Review page's admin panel: open rounds, manage reviewers, decide by hand, export.

Every action is a button callback calling one named store method with the
admin's session; the store checks the role and every rule.
"""

from __future__ import annotations

import streamlit as st

from galaxysd_core.jobs import launch as launch_job
from galaxysd_core.review import round_export_path
from galaxysd_core.review.auth import MIN_PASSPHRASE
from galaxysd_core.review.checks import read_candidates
from pages._cache import review_store
from pages._common import Keys, get_workspace, user_errors


def _flash(text: str) -> None:
    st.session_state[Keys.REVIEW_FLASH] = text


def _open_round(token: str) -> None:
    upload = st.session_state.get("review_csv")
    if upload is None:
        st.session_state[Keys.REVIEW_FLASH] = "Choose a candidates CSV first."
        return
    with user_errors("open the round"):
        table = read_candidates(upload, workspace=get_workspace())
        name = st.session_state.get("review_campaign", "")
        new = review_store().open_round(name, table, session=token)
        st.session_state[Keys.REVIEW_ROUND] = new  # the page shows the new round at once
        _flash(f"Opened round {new} of {name} with {len(table)} candidates.")


def _add_reviewer(token: str) -> None:
    name, role = st.session_state.get("review_new_name", ""), st.session_state["review_new_role"]
    with user_errors("add the reviewer"):
        phrase = st.session_state.get("review_new_phrase", "")
        review_store().add_reviewer(name, phrase, role=role, session=token)
        _flash(f"Added {role} {name}.")


def _set_active(token: str, name: str, active: bool) -> None:
    with user_errors("change the reviewer"):
        review_store().set_reviewer_active(name, active, session=token)
        _flash(f"{name} is now {'enabled' if active else 'disabled'}.")


def _reset(token: str, name: str) -> None:
    with user_errors("reset the passphrase"):
        phrase = st.session_state.get("review_reset_phrase", "")
        review_store().reset_passphrase(name, phrase, session=token)
        _flash(f"New passphrase set for {name}; their sessions ended.")


def _retire(token: str, candidate_id: int, label: str) -> None:
    with user_errors("decide the candidate"):
        review_store().retire_candidate(candidate_id, label, session=token)
        _flash(f"Candidate {candidate_id} decided by an admin: {label}.")


def _close(token: str, round_id: int) -> None:
    with user_errors("close the round"):
        review_store().close_round(round_id, session=token)


def reviewers_panel(token: str) -> None:
    """Add, disable or enable reviewers and reset passphrases."""
    store = review_store()
    table = store.reviewer_table()
    st.dataframe(table, hide_index=True)
    with st.form("review_add_reviewer", clear_on_submit=True):
        c1, c2, c3 = st.columns(3)
        c1.text_input("Name", key="review_new_name")
        c2.selectbox("Role", ["reviewer", "admin"], key="review_new_role")
        c3.text_input(
            f"Passphrase ({MIN_PASSPHRASE}+ characters)", type="password", key="review_new_phrase"
        )
        st.form_submit_button("Add reviewer", on_click=_add_reviewer, args=(token,))
    if table.empty:
        return
    name = st.selectbox("Reviewer", list(table["name"]), key="review_pick")
    active = bool(table.loc[table["name"] == name, "active"].iloc[0])
    st.button(
        "Disable" if active else "Enable", on_click=_set_active, args=(token, name, not active)
    )
    st.text_input("New passphrase", type="password", key="review_reset_phrase")
    st.button("Reset passphrase", on_click=_reset, args=(token, name))


def round_panel(token: str, round_id: int) -> None:
    """Close the round, decide a candidate by hand, export, launch the next discovery round."""
    store = review_store()
    info = store.round_info(round_id)
    if info["status"] == "open":
        st.button("Close this round", on_click=_close, args=(token, round_id))
        table = store.consensus(round_id)
        open_ = table[~table["decided"]]
        if len(open_):
            labels = dict(zip(open_["candidate_id"], open_["object_id"], strict=True))
            cid = st.selectbox("Decide a candidate by hand", list(labels), format_func=labels.get)
            c1, c2 = st.columns(2)
            c1.button("Accept", on_click=_retire, args=(token, int(cid), "yes"))
            c2.button("Reject", on_click=_retire, args=(token, int(cid), "no"))
    fmt = st.radio("Export format", ["csv", "fits"], horizontal=True)
    if st.button("Export decisions"):
        out = round_export_path(get_workspace(), info["campaign"], info["number"], fmt)
        st.success(f"Wrote {store.export_decisions(round_id, out, fmt=fmt)}")
    if st.button("Launch the next discovery round"):
        # Imported on click: the campaign module loads torch (2-3 s), the page does not need it.
        from galaxysd_core.discovery.campaign import next_round_config

        with user_errors("launch the next round"):
            # the campaign's own settings (sky, positives, classifier), not the defaults
            config = next_round_config(info["campaign"])
            job = launch_job("discover-round", config, workspace=get_workspace())
            st.success(f"Job {job} launched: follow it on the Training page.")


def admin(token: str, round_id: int | None) -> None:
    """The admin expander of the Review page."""
    with st.expander("Admin"), user_errors("complete the admin action"):
        with st.form("review_open_round"):
            st.text_input("Campaign", key="review_campaign")
            st.file_uploader(
                "Candidates CSV (object_id, image, score, ra, dec)", "csv", key="review_csv"
            )
            st.form_submit_button("Open round", on_click=_open_round, args=(token,))
        st.subheader("Reviewers")
        reviewers_panel(token)
        if round_id is not None:
            st.subheader("This round")
            round_panel(token, round_id)
