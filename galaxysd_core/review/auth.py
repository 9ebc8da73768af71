"""Passphrases and session tokens.

A passphrase is stored only as a salted scrypt hash (RFC 7914 through
``hashlib.scrypt``), with its cost parameters beside it so they can be raised
later without breaking old hashes. Session tokens are random; the database keeps
only their SHA-256, so a copy of the database does not let anyone act as a
signed-in reviewer.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

from galaxysd_core.review.errors import ReviewValueError

# n=2**14, r=8 costs 16 MiB and tens of milliseconds per check: cheap for a
# sign-in, expensive for guessing (the interactive-login setting of RFC 7914).
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
_DKLEN = 32
_SCHEME = "scrypt"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_passphrase(passphrase: str, *, salt: bytes | None = None) -> str:
    """Hash a passphrase with a fresh random salt.

    Parameters
    ----------
    passphrase : str
        The secret; must not be empty.
    salt : bytes, optional
        Only for tests; 16 random bytes by default.

    Returns
    -------
    str
        ``"scrypt$n$r$p$salt$hash"`` (base64 salt and hash).

    Raises
    ------
    ValueError
        If the passphrase is empty.
    """
    if not passphrase:
        raise ReviewValueError("the passphrase must not be empty")
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(
        passphrase.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=_DKLEN
    )
    return f"{_SCHEME}${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


#: Shortest passphrase accepted for a new reviewer.
MIN_PASSPHRASE = 10


@functools.cache
def dummy_hash() -> str:
    """Checked against when a sign-in names no reviewer, so it costs the same scrypt work."""
    return hash_passphrase("no reviewer has this name", salt=b"\0" * 16)


def verify_passphrase(passphrase: str, stored: str) -> bool:
    """Whether ``passphrase`` matches a hash made by :func:`hash_passphrase`.

    The comparison takes constant time; a malformed stored hash never matches.
    """
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != _SCHEME:
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            passphrase.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def new_token() -> str:
    """A fresh, unguessable session token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """The SHA-256 of a session token, as stored in the database."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
