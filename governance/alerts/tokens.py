"""Unsubscribe tokens: the link in a digest works without logging in.

A token is the user id and a follow id (or "all") signed with SECRET_KEY under its own
salt, so it cannot be forged for another user or another follow, and a token of some
other signed value in the app is not accepted here. Tokens do not expire: a digest read
weeks later must still unsubscribe, and all a token can do is remove its own user's
follows. Rotating SECRET_KEY (old key in SECRET_KEY_FALLBACKS, then dropped) revokes
old tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing

SALT = "governance.alerts.unsubscribe"
ALL = "all"


class BadToken(Exception):
    """The token was altered, truncated, or not made by us for unsubscribing."""


@dataclass(frozen=True)
class Unsubscribe:
    user_id: int
    follow_id: int | None  # None: every follow of the user


def make_token(user_id: int, follow_id: int | None = None) -> str:
    return signing.Signer(salt=SALT).sign(f"{user_id}.{follow_id or ALL}")


def read_token(token: str) -> Unsubscribe:
    try:
        value = signing.Signer(salt=SALT).unsign(token)
    except signing.BadSignature as exc:
        raise BadToken("This unsubscribe link is not valid.") from exc
    user, _, follow = value.partition(".")
    # A valid signature over a malformed value can only come from a bug; refuse it too.
    if not user.isdigit() or not (follow == ALL or follow.isdigit()):
        raise BadToken("This unsubscribe link is not valid.")
    return Unsubscribe(int(user), None if follow == ALL else int(follow))
