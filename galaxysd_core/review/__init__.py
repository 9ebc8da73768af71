"""Reviewer voting: candidates, votes, three-reviewer consensus, sign-in, agreement.

>>> from galaxysd_core.review import ReviewStore
>>> store = ReviewStore("sqlite:///review.db")            # doctest: +SKIP
>>> store.add_reviewer("ann", "passphrase-a")            # doctest: +SKIP
>>> round_id = store.open_round("c", [{"object_id": "1", "image": "a.jpg", "score": 0.9}])  # doctest: +SKIP
>>> session = store.sign_in("ann", "passphrase-a")       # doctest: +SKIP
>>> store.vote(session, store.candidates(round_id).candidate_id[0], "yes")  # doctest: +SKIP
"""

from galaxysd_core._lazy import lazy_exports
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

# The store pulls in SQLAlchemy, pandas and statsmodels: import it on first use.
_EXPORTS = {
    "Agreement": "consensus",
    "LABELS": "models",
    "ReviewStore": "store",
    "export_decisions": "export",
    "round_export_path": "export",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

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
    "round_export_path",
]
