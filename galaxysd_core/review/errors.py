"""The errors a review action can raise, each naming the bad value.

They derive from :class:`~galaxysd_core.errors.GalaxySDError` (so the CLI and the
pages show their message) and from the matching built-in, so callers that know
nothing of this module still catch them: every sign-in or permission failure is a
``PermissionError``, an unknown id a ``LookupError``, a bad value a ``ValueError``.
"""

from __future__ import annotations

from galaxysd_core.errors import GalaxySDError


class ReviewError(GalaxySDError):
    """Base class of the review store's errors."""


class AuthError(ReviewError, PermissionError):
    """Sign-in failed, or the session may not do what it asked."""


class SessionExpiredError(AuthError):
    """The session token is past its expiry time; sign in again."""


class NotAdminError(AuthError):
    """The action needs an admin's session."""


class UnknownReviewerError(AuthError, LookupError):
    """No reviewer has the given name."""


class UnknownCandidateError(ReviewError, LookupError):
    """No candidate has the given id."""


class UnknownRoundError(ReviewError, LookupError):
    """No round has the given id."""


class RoundClosedError(ReviewError):
    """The candidate's round is closed; its votes are final."""


class BadLabelError(ReviewError, ValueError):
    """A vote label other than ``yes``, ``no`` or ``unsure``."""


class ReviewValueError(ReviewError, ValueError):
    """Any other bad argument (a duplicate name, an empty candidate list, ...)."""
