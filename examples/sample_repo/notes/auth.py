"""Password hashing and signed session tokens for the publishing admin."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time

ITERATIONS = 120_000


def hash_password(password: str, salt: bytes | None = None) -> str:
    """Derive a slow PBKDF2-SHA256 digest of a secret.

    A fresh random 16-byte salt is generated when none is given. The result is a
    single ``salt_hex$digest_hex`` string suitable for storing in a user record.
    """
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, ITERATIONS)
    return f"{salt.hex()}${digest.hex()}"


def register_user(users: dict[str, str], username: str, password: str) -> None:
    """Add an account to the in-memory user table; refuses to overwrite an existing one."""
    if username in users:
        raise ValueError(f"user {username!r} already exists")
    if len(password) < 8:
        raise ValueError("password must be at least 8 characters")
    users[username] = hash_password(password)


def authenticate_user(users: dict[str, str], username: str, password: str,
                      secret: str, ttl: int = 3600) -> str | None:
    """Check a login attempt and hand out a session token when the password matches.

    The stored salt is reused to re-derive the digest, and the comparison runs in
    constant time. Unknown users and wrong passwords both yield None.
    """
    stored = users.get(username)
    if stored is None:
        return None
    salt_hex, _, _ = stored.partition("$")
    candidate = hash_password(password, bytes.fromhex(salt_hex))
    if not hmac.compare_digest(candidate, stored):
        return None
    return issue_token(username, secret, ttl)


def _sign(payload: bytes, secret: str) -> str:
    """HMAC-SHA256 of the payload, URL-safe base64 without padding."""
    mac = hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def issue_token(username: str, secret: str, ttl: int = 3600) -> str:
    """Create a ``user.expiry.signature`` bearer token that stays valid for ``ttl`` seconds."""
    expires = int(time.time()) + ttl
    payload = f"{username}.{expires}".encode("utf-8")
    return f"{username}.{expires}.{_sign(payload, secret)}"


def verify_token(token: str, secret: str, now: float | None = None) -> str | None:
    """Validate a bearer token's signature and expiry; return the user it belongs to.

    Tampered, malformed or expired tokens all return None rather than raising.
    """
    parts = token.rsplit(".", 2)
    if len(parts) != 3:
        return None
    username, expires, signature = parts
    expected = _sign(f"{username}.{expires}".encode("utf-8"), secret)
    if not hmac.compare_digest(signature, expected):
        return None
    if not expires.isdigit() or int(expires) < (now if now is not None else time.time()):
        return None
    return username
