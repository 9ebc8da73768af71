"""Reviewer voting: candidates, votes, three-reviewer consensus, sign-in, agreement.

>>> from galaxysd_core.review import ReviewStore
>>> store = ReviewStore("sqlite:///review.db")            # doctest: +SKIP
>>> store.add_reviewer("ann", "passphrase-a")            # doctest: +SKIP
>>> round_id = store.open_round("c", [{"object_id": "1", "image": "a.jpg", "score": 0.9}])  # doctest: +SKIP
>>> session = store.sign_in("ann", "passphrase-a")       # doctest: +SKIP
>>> store.vote(session, store.candidates(round_id).candidate_id[0], "yes")  # doctest: +SKIP
"""

from galaxysd_core.review.consensus import Agreement
from galaxysd_core.review.errors import (
    AuthError,
    BadLabelError,
    NotAdminError,
    ReviewError,
    ReviewValueError,
    RoundClosedError,
    SessionExpiredError,
    UnknownCandidateError,
    UnknownReviewerError,
    UnknownRoundError,
)
from galaxysd_core.review.export import export_decisions
from galaxysd_core.review.models import LABELS
from galaxysd_core.review.store import ReviewStore

__all__ = [
    "LABELS",
    "Agreement",
    "AuthError",
    "BadLabelError",
    "NotAdminError",
    "ReviewError",
    "ReviewStore",
    "ReviewValueError",
    "RoundClosedError",
    "SessionExpiredError",
    "UnknownCandidateError",
    "UnknownReviewerError",
    "UnknownRoundError",
    "export_decisions",
]
