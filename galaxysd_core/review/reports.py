"""The read side of the review store: rounds, candidates, votes, consensus, agreement."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from galaxysd_core.review.base import CANDIDATE_COLUMNS, C, H, R, StoreBase, V, frame
from galaxysd_core.review.consensus import Agreement, agreement, tally
from galaxysd_core.review.export import export_decisions
from galaxysd_core.review.models import Campaign, Reference, Reviewer


class ReportsMixin(StoreBase):
    """Read-only queries; every method takes a round id and raises
    :class:`~galaxysd_core.review.errors.UnknownRoundError` for an unknown one."""

    def rounds(self) -> pd.DataFrame:
        """All rounds: ``round_id, campaign, number, status, panel_size, quorum, opened_at,
        closed_at, candidates``, newest first."""
        n = sa.select(sa.func.count()).where(C.c.round_id == R.c.id).scalar_subquery()
        query = (
            sa.select(
                R.c.id.label("round_id"),
                Campaign.name.label("campaign"),
                R.c.number,
                R.c.status,
                R.c.panel_size,
                R.c.quorum,
                R.c.opened_at,
                R.c.closed_at,
                n.label("candidates"),
            )
            .join(Campaign, Campaign.id == R.c.campaign_id)
            .order_by(R.c.id.desc())
        )
        with self.engine.connect() as conn:
            return frame(conn.execute(query))

    def round_info(self, round_id: int) -> dict[str, Any]:
        """One round's row as a dict (``id, campaign, number, status, panel_size, quorum, ...``)."""
        with self.engine.connect() as conn:
            row = self._round(conn, round_id)
            name = conn.execute(sa.select(Campaign.name).where(Campaign.id == row.campaign_id))
            return {**row._asdict(), "campaign": name.scalar_one()}

    def candidates(self, round_id: int) -> pd.DataFrame:
        """The round's candidates: ``candidate_id, object_id, ra, dec, image, score,
        admin_label`` (an admin's ``yes``/``no`` decision, or None)."""
        query = sa.select(*CANDIDATE_COLUMNS, C.c.admin_label)
        with self.engine.connect() as conn:
            row = self._round(conn, round_id)
            return frame(conn.execute(query.where(C.c.round_id == row.id).order_by(C.c.id)))

    def references(self, round_id: int) -> pd.DataFrame:
        """Known objects of the round's campaign: ``object_id, image, ra, dec``."""
        query = sa.select(Reference.object_id, Reference.image, Reference.ra, Reference.dec)
        with self.engine.connect() as conn:
            row = self._round(conn, round_id)
            query = query.where(Reference.campaign_id == row.campaign_id).order_by(Reference.id)
            return frame(conn.execute(query))

    # -- results -------------------------------------------------------------
    def votes(self, round_id: int) -> pd.DataFrame:
        """The round's current votes: ``reviewer, candidate_id, label, comment, voted_at``."""
        return self._by_reviewer(round_id, V, ("label", "comment", "voted_at"))

    def history(self, round_id: int) -> pd.DataFrame:
        """The round's audit trail, oldest first:
        ``reviewer, candidate_id, action, label, previous_label, comment, at``."""
        columns = ("action", "label", "previous_label", "comment", "at")
        return self._by_reviewer(round_id, H, columns)

    def _by_reviewer(
        self, round_id: int, table: sa.Table, columns: tuple[str, ...]
    ) -> pd.DataFrame:
        """Rows of ``table`` (votes or their history) on the round's candidates, in order,
        with ``reviewer`` (the name) and ``candidate_id`` first."""
        query = (
            sa.select(
                Reviewer.name.label("reviewer"), *(table.c[n] for n in ("candidate_id", *columns))
            )
            .join(Reviewer, Reviewer.id == table.c.reviewer_id)
            .join(C, C.c.id == table.c.candidate_id)
        )
        with self.engine.connect() as conn:
            rnd = self._round(conn, round_id)
            return frame(conn.execute(query.where(C.c.round_id == rnd.id).order_by(table.c.id)))

    def consensus(self, round_id: int) -> pd.DataFrame:
        """Per candidate: ``candidate_id, yes, no, unsure, decided, accepted, n_votes``
        and the candidate's ``object_id, ra, dec, image, score``."""
        info = self.round_info(round_id)
        return tally(
            self.candidates(round_id),
            self.votes(round_id),
            panel_size=info["panel_size"],
            quorum=info["quorum"],
        )

    def progress(self, round_id: int) -> pd.DataFrame:
        """Votes per reviewer in the round: ``reviewer, votes, yes, no, unsure, share``."""
        total = len(self.candidates(round_id))
        votes = self.votes(round_id)
        table = pd.crosstab(votes["reviewer"], votes["label"]) if len(votes) else pd.DataFrame()
        table = table.reindex(columns=["yes", "no", "unsure"], fill_value=0)
        table.insert(0, "votes", table.sum(axis=1))
        table["share"] = table["votes"] / total if total else 0.0
        return table.rename_axis(None, axis=1).reset_index(names="reviewer")

    def agreement(self, round_id: int) -> Agreement:
        """Fleiss' kappa, Krippendorff's alpha and per-reviewer agreement (see
        :func:`galaxysd_core.review.consensus.agreement`)."""
        info = self.round_info(round_id)
        return agreement(
            self.votes(round_id), self.consensus(round_id), panel_size=info["panel_size"]
        )

    def summary(self, round_id: int) -> dict[str, Any]:
        """Counts and agreement of one round, for the page and the CLI."""
        info = self.round_info(round_id)
        table = self.consensus(round_id)
        agree = self.agreement(round_id)
        return {
            "round_id": info["id"],
            "campaign": info["campaign"],
            "number": info["number"],
            "status": info["status"],
            "panel_size": info["panel_size"],
            "quorum": info["quorum"],
            "candidates": len(table),
            "votes": int(table["n_votes"].sum()),
            "decided": int(table["decided"].sum()),
            "accepted": int(table["accepted"].sum()),
            "fleiss_kappa": agree.fleiss_kappa,
            "krippendorff_alpha": agree.krippendorff_alpha,
        }

    def export_decisions(
        self, round_id: int, path: str | os.PathLike[str], *, fmt: str | None = None
    ) -> Path:
        """Write the round's consensus to ``path`` as CSV or FITS (see
        :func:`galaxysd_core.review.export.export_decisions`)."""
        return export_decisions(self.consensus(round_id), path, fmt=fmt)
