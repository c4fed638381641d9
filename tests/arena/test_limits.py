import logging
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from limits.storage import MemoryStorage, RedisStorage
from starlette.requests import Request

from app.arena.errors import RateLimitExceeded
from app.arena.limits import ActionLimits, RateLimiter, address_bucket, client_ip
from app.config import Settings
from app.errors import DomainError
from tests.conftest import REDIS_URL, free_port

LIMITS = {"battle": ActionLimits(per_user=3, per_ip=5), "vote": ActionLimits(per_user=2, per_ip=0)}


@pytest.fixture
def shared_redis() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_URL} ({exc}): the shared-limit tests need it")
    return REDIS_URL


@pytest.fixture
def key_prefix() -> str:
    return f"preflab-test-{uuid.uuid4().hex[:12]}"


def battle(
    limiter: RateLimiter, user: str | None = "user:1", ip: str | None = "203.0.113.7", **kw: int
) -> None:
    limiter.check("battle", user_key=user, ip=ip, campaign="arena", **kw)


def test_the_voter_over_the_limit_is_refused_with_a_429_and_when_to_retry() -> None:
    limiter = RateLimiter(LIMITS)
    for _ in range(3):
        battle(limiter)
    with pytest.raises(RateLimitExceeded) as refused:
        battle(limiter)
    error = refused.value
    assert isinstance(error, DomainError) and error.status_code == 429
    assert error.scope == "user" and error.action == "battle"
    assert 1 <= error.retry_after <= 60
    assert "too many battles from this voter: at most 3 a minute" in error.message


def test_the_address_limit_holds_across_voters_and_a_refusal_costs_the_voter_nothing() -> None:
    limiter = RateLimiter(LIMITS)
    for n in range(5):
        battle(limiter, user=f"anon:{n}")
    with pytest.raises(RateLimitExceeded) as refused:
        battle(limiter, user="user:9")
    assert refused.value.scope == "ip" and "this network address" in refused.value.message
    # user:9 was refused by the address's limit: its own three battles are still there elsewhere.
    for _ in range(3):
        battle(limiter, user="user:9", ip="198.51.100.1")


def test_actions_campaigns_and_overrides_count_apart() -> None:
    limiter = RateLimiter(LIMITS)
    for _ in range(3):
        battle(limiter)
    limiter.check("battle", user_key="user:1", ip=None, campaign="other", per_minute=1)
    with pytest.raises(RateLimitExceeded):
        limiter.check("battle", user_key="user:1", ip=None, campaign="other", per_minute=1)
    for _ in range(2):
        limiter.check("vote", user_key="user:1", ip="203.0.113.7", campaign="arena")
    with pytest.raises(RateLimitExceeded, match="too many votes"):
        limiter.check("vote", user_key="user:1", ip="203.0.113.7", campaign="arena")
    # 0 turns a limit off; so does knowing neither the voter nor the address.
    for _ in range(10):
        limiter.check("vote", user_key="user:2", ip="203.0.113.7", campaign="arena", per_minute=0)
        limiter.check("battle", user_key=None, ip=None, campaign="arena")


def test_unknown_action_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown rate-limited action 'upload'; known: battle, vote"):
        RateLimiter(LIMITS).check("upload", user_key="user:1", ip=None, campaign="arena")


def test_the_window_moves_on() -> None:
    limiter = RateLimiter({"battle": ActionLimits(1, 0)}, window_s=1)
    battle(limiter)
    with pytest.raises(RateLimitExceeded, match="at most 1 in 1 s") as refused:
        battle(limiter)
    assert refused.value.retry_after == 1
    time.sleep(1.1)
    battle(limiter)


def test_ipv6_clients_are_counted_by_their_64() -> None:
    assert address_bucket("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert address_bucket("::ffff:203.0.113.7") == "203.0.113.7"
    assert address_bucket("not-an-address") == "not-an-address"
    limiter = RateLimiter({"battle": ActionLimits(0, 2)})
    battle(limiter, user="user:1", ip="2001:db8:1:2::1")
    battle(limiter, user="user:2", ip="2001:db8:1:2:ffff::9")
    with pytest.raises(RateLimitExceeded):
        battle(limiter, user="user:3", ip="2001:db8:1:2::abcd")
    battle(limiter, user="user:3", ip="2001:db8:1:3::1")


def test_from_settings_stores_counts_in_redis_when_configured() -> None:
    assert isinstance(RateLimiter.from_settings(Settings(redis_url="")).storage, MemoryStorage)
    limiter = RateLimiter.from_settings(Settings(redis_url=REDIS_URL, arena_votes_per_minute_ip=7))
    assert isinstance(limiter.storage, RedisStorage)
    assert limiter.limits["vote"] == ActionLimits(per_user=30, per_ip=7)


@pytest.fixture
def two_processes(shared_redis: str, key_prefix: str) -> Iterator[tuple[RateLimiter, RateLimiter]]:
    """Two limiters on one Redis, as two web processes behind a load balancer would have."""
    first = RateLimiter(LIMITS, storage_uri=shared_redis, key_prefix=key_prefix)
    second = RateLimiter(LIMITS, storage_uri=shared_redis, key_prefix=key_prefix)
    yield first, second
    first.reset()


def test_two_web_processes_share_one_limit_through_redis(
    two_processes: tuple[RateLimiter, RateLimiter],
) -> None:
    first, second = two_processes
    battle(first)
    battle(second)
    battle(first)
    with pytest.raises(RateLimitExceeded) as refused:
        battle(second)
    assert refused.value.scope == "user" and 1 <= refused.value.retry_after <= 60
    # A limiter of its own (another prefix, another deployment) starts from nothing.
    battle(RateLimiter(LIMITS, storage_uri=REDIS_URL, key_prefix=f"{uuid.uuid4().hex}"), user="user:1")


def test_concurrent_requests_across_processes_never_exceed_the_limit(
    two_processes: tuple[RateLimiter, RateLimiter],
) -> None:
    limiter_of = {0: two_processes[0], 1: two_processes[1]}
    allowed: list[int] = []
    start = threading.Barrier(40)

    def attempt(n: int) -> None:
        start.wait()
        try:
            limiter_of[n % 2].check(
                "battle", user_key=None, ip="203.0.113.50", campaign="arena", per_minute_ip=7
            )
            allowed.append(n)
        except RateLimitExceeded:
            pass

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 7


def test_redis_down_fails_open_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    limiter = RateLimiter(LIMITS, storage_uri=f"redis://127.0.0.1:{free_port()}/0")
    caplog.set_level(logging.WARNING, logger="preflab.arena")
    started = time.monotonic()
    for _ in range(20):
        battle(limiter)  # far over the limit of 3: nothing is counted, nothing is refused
    assert time.monotonic() - started < 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "arena rate limits are off: Redis does not answer" in warnings[0]


def request(peer: str | None, *forwarded: str) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return Request(
        {
            "type": "http",
            "method": "POST",
            "path": "/",
            "headers": headers,
            "client": (peer, 50000) if peer else None,
        }
    )


def test_client_ip_ignores_forwarded_for_unless_the_peer_is_a_trusted_proxy() -> None:
    assert client_ip(request("203.0.113.7", "198.51.100.1")) == "203.0.113.7"
    assert client_ip(request("203.0.113.7", "198.51.100.1"), ["10.0.0.0/8"]) == "203.0.113.7"
    assert client_ip(request(None)) is None
    assert client_ip(request("testclient")) == "testclient"


def test_client_ip_reads_forwarded_for_right_to_left_through_trusted_proxies() -> None:
    trusted = ["10.0.0.0/8", "192.0.2.1"]
    assert client_ip(request("10.1.1.1", "198.51.100.1"), trusted) == "198.51.100.1"
    # The client wrote "1.2.3.4" itself; our proxies appended the address they saw.
    assert client_ip(request("10.1.1.1", "1.2.3.4, 198.51.100.1, 192.0.2.1"), trusted) == "198.51.100.1"
    assert client_ip(request("10.1.1.1", "1.2.3.4", "198.51.100.1"), trusted) == "198.51.100.1"
    assert client_ip(request("::ffff:10.1.1.1", "2001:db8::7"), trusted) == "2001:db8::7"
    # Nothing but our own proxies: the farthest one is all we know.
    assert client_ip(request("10.1.1.1", "10.2.2.2"), trusted) == "10.2.2.2"
    assert client_ip(request("10.1.1.1"), trusted) == "10.1.1.1"
    assert client_ip(request("10.1.1.1", "garbage, 10.2.2.2"), trusted) == "10.2.2.2"


def test_settings_refuse_a_trusted_proxy_that_is_not_an_address() -> None:
    assert Settings(trusted_proxies=[" 10.0.0.0/8", "::1"]).trusted_proxies == ["10.0.0.0/8", "::1"]
    with pytest.raises(ValueError, match=r"PREFLAB_TRUSTED_PROXIES: 'proxy\.local' is not an IP address"):
        Settings(trusted_proxies=["proxy.local"])
