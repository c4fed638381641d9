"""Anonymous voters: a random id in a cookie signed with the app's secret, valid for one campaign.

The cookie carries the campaign's slug next to the id, so a cookie from one arena is worth nothing in
another, and the signature's salt names this purpose, so no other signed value of the app (the session
cookie) can pass for it. A tampered, expired or foreign cookie reads as no voter: the caller issues a
new one.
"""

import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.config import get_settings

SALT = "preflab.arena.anonymous-voter"


def _serializer(secret_key: str | None) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key or get_settings().secret_key, salt=SALT)


def issue_voter(*, campaign: str, secret_key: str | None = None) -> tuple[str, str]:
    """A new anonymous voter for `campaign` (its slug): (voter id, signed cookie value)."""
    voter_id = secrets.token_urlsafe(16)
    return voter_id, _serializer(secret_key).dumps({"campaign": campaign, "voter": voter_id})


def read_voter(
    value: str | None, *, campaign: str, max_age_s: int | None = None, secret_key: str | None = None
) -> str | None:
    """The voter id in a cookie issued for `campaign` no longer than `max_age_s` ago (default: the
    setting `arena_anonymous_max_age_s`), else None."""
    if not value:
        return None
    max_age = get_settings().arena_anonymous_max_age_s if max_age_s is None else max_age_s
    try:
        payload = _serializer(secret_key).loads(value, max_age=max_age)
    except BadSignature:  # also SignatureExpired, and values that are not ours at all
        return None
    if not isinstance(payload, dict) or payload.get("campaign") != campaign:
        return None
    voter = payload.get("voter")
    return voter if isinstance(voter, str) and voter else None
