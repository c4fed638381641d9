import time

import pytest

from app.arena.anonymous import issue_voter, read_voter
from app.config import get_settings

SECRET = "a-test-secret-that-is-long-enough-0123456789"


def test_an_issued_cookie_reads_back_as_its_voter() -> None:
    voter, cookie = issue_voter(campaign="arena", secret_key=SECRET)
    assert len(voter) >= 20  # 128 random bits
    assert read_voter(cookie, campaign="arena", secret_key=SECRET) == voter
    other, _ = issue_voter(campaign="arena", secret_key=SECRET)
    assert other != voter


def test_the_app_secret_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFLAB_SECRET_KEY", SECRET)
    get_settings.cache_clear()
    try:
        voter, cookie = issue_voter(campaign="arena")
        assert read_voter(cookie, campaign="arena", secret_key=SECRET) == voter
        assert read_voter(cookie, campaign="arena") == voter
    finally:
        get_settings.cache_clear()


def test_tampered_foreign_and_missing_cookies_read_as_nobody() -> None:
    _, cookie = issue_voter(campaign="arena", secret_key=SECRET)
    payload, stamp, signature = cookie.rsplit(".", 2)
    # Flip the first character: the last one of a base64 signature carries padding bits,
    # so changing it can decode to the same bytes and the cookie would still verify.
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert read_voter(f"{payload}.{stamp}.{flipped}", campaign="arena", secret_key=SECRET) is None
    assert read_voter(cookie, campaign="other-arena", secret_key=SECRET) is None
    assert read_voter(cookie, campaign="arena", secret_key=SECRET + "-rotated") is None
    for value in (None, "", "garbage", "a.b.c"):
        assert read_voter(value, campaign="arena", secret_key=SECRET) is None


def test_expired_cookies_read_as_nobody() -> None:
    _, cookie = issue_voter(campaign="arena", secret_key=SECRET)
    time.sleep(1.1)  # itsdangerous stamps whole seconds
    assert read_voter(cookie, campaign="arena", max_age_s=0, secret_key=SECRET) is None
    assert read_voter(cookie, campaign="arena", max_age_s=3600, secret_key=SECRET) is not None


def test_a_value_signed_for_another_purpose_is_not_a_voter() -> None:
    from itsdangerous import URLSafeTimedSerializer

    session_like = URLSafeTimedSerializer(SECRET, salt="cookie-session").dumps(
        {"campaign": "arena", "voter": "x"}
    )
    assert read_voter(session_like, campaign="arena", secret_key=SECRET) is None
