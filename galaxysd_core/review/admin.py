"""Admin tools of the review store: reviewers, passphrases, deciding a candidate by hand.

Every call takes an admin's ``session`` (``None`` only on the trusted local path
of scripts and the CLI; see :mod:`galaxysd_core.review.store`). Also here: why a
decided candidate left the queue, and the uploaded-image check of new rounds.
"""

from __future__ import annotations

import logging

import pandas as pd
import sqlalchemy as sa

from galaxysd_core.review import auth
from galaxysd_core.review.base import C, StoreBase, V
from galaxysd_core.review.checks import check_candidate_id, check_name, check_passphrase
from galaxysd_core.review.errors import ReviewValueError, UnknownReviewerError
from galaxysd_core.review.models import ADMIN_LABELS, Reviewer, ReviewSession

log = logging.getLogger(__name__)

#: Why a decided candidate left the queue (see :meth:`AdminMixin.decided`).
RETIRED_CONSENSUS, RETIRED_PANEL, RETIRED_ADMIN = "consensus reached", "votes", "admin"


class AdminMixin(StoreBase):
    """Reviewer management and admin decisions (an admin's session each)."""

    def _reviewer_id(self, conn: sa.Connection, name: str) -> int:
        rid = conn.execute(sa.select(Reviewer.id).where(Reviewer.name == name)).scalar()
        if rid is None:
            raise UnknownReviewerError(f"no reviewer named {name!r}")
        return rid

    def set_reviewer_active(self, name: str, active: bool, *, session: str | None = None) -> None:
        """Enable or disable a reviewer; disabling ends their sessions (their votes stay).

        Raises
        ------
        UnknownReviewerError, NotAdminError, ReviewValueError
            No such reviewer; ``session`` not an admin's; an admin disabling themself.
        """
        check_name(name)
        with self._write() as conn:
            admin = self._admin(conn, session)
            rid = self._reviewer_id(conn, name)
            if not active and rid == admin:
                raise ReviewValueError(f"admin {name!r} cannot disable their own account")
            stamp = None if active else self._now()
            conn.execute(sa.update(Reviewer).where(Reviewer.id == rid).values(disabled_at=stamp))
            if not active:
                conn.execute(sa.delete(ReviewSession).where(ReviewSession.reviewer_id == rid))
        log.info("reviewer %r %s", name, "enabled" if active else "disabled")

    def reset_passphrase(self, name: str, passphrase: str, *, session: str | None = None) -> None:
        """Set a reviewer's new passphrase (>= ``MIN_PASSPHRASE`` characters); ends their sessions."""
        check_name(name)
        digest = auth.hash_passphrase(check_passphrase(passphrase, name))  # slow: outside the lock
        with self._write() as conn:
            self._admin(conn, session)
            rid = self._reviewer_id(conn, name)
            conn.execute(
                sa.update(Reviewer).where(Reviewer.id == rid).values(passphrase_hash=digest)
            )
            conn.execute(sa.delete(ReviewSession).where(ReviewSession.reviewer_id == rid))
        log.info("passphrase of %r reset", name)

    def reviewer_table(self) -> pd.DataFrame:
        """Every reviewer for the admin panel: ``name, role, active, votes, created_at``."""
        votes = sa.select(sa.func.count()).where(V.c.reviewer_id == Reviewer.id).scalar_subquery()
        query = sa.select(
            Reviewer.name,
            Reviewer.role,
            Reviewer.disabled_at.is_(None).label("active"),
            votes.label("votes"),
            Reviewer.created_at,
        ).order_by(Reviewer.id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return pd.DataFrame(rows, columns=["name", "role", "active", "votes", "created_at"])

    def retire_candidate(
        self, candidate_id: int, label: str, *, session: str | None = None
    ) -> None:
        """Decide a candidate as an admin (``"yes"`` accepts, ``"no"`` rejects) without the panel.

        It leaves every reviewer's queue; votes already cast stay in the history.
        """
        cid = check_candidate_id(candidate_id)
        if label not in ADMIN_LABELS:
            raise ReviewValueError(f"an admin decides 'yes' or 'no', got {label!r}")
        with self._write() as conn:
            admin = self._admin(conn, session)
            self._open_candidate(conn, cid)
            conn.execute(
                sa.update(C)
                .where(C.c.id == cid)
                .values(admin_label=label, retired_by=admin, retired_at=self._now())
            )

    def decided(self, round_id: int) -> pd.DataFrame:
        """The round's decided candidates, newest decision last, with why they left the queue.

        Returns
        -------
        DataFrame
            The :meth:`consensus` columns of decided candidates plus ``reason``:
            ``"admin"`` (decided by an admin), ``"consensus reached"`` (at least
            ``quorum`` votes agree) or ``"<panel_size> votes"`` (a full panel
            without such agreement).
        """
        info = self.round_info(round_id)
        table = self.consensus(round_id)
        table = table[table["decided"]].copy()
        agree = table[["yes", "no", "unsure"]].max(axis=1) >= info["quorum"]
        reason = pd.Series(f"{info['panel_size']} {RETIRED_PANEL}", index=table.index)
        reason[agree] = RETIRED_CONSENSUS
        reason[table["admin_label"].notna()] = RETIRED_ADMIN
        return table.assign(reason=reason).reset_index(drop=True)
