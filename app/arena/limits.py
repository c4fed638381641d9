"""Rate limits on arena battles and votes, per voter and per client address, and who the client is.

The counts live in Redis when `redis_url` is set, so every web process behind the load balancer shares
one budget per voter; without Redis (the embedded demo) they live in this process. The window moves
(the `limits` package's moving window): a fixed window would let a voter spend twice the limit across
its edge.
"""

import logging
import math
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import Request

from app.arena.errors import RateLimitExceeded
from app.config import Settings, get_settings

log = logging.getLogger("preflab.arena")

WINDOW_S = 60
# A rate limit check sits on the request path: a Redis that does not answer must cost milliseconds.
REDIS_TIMEOUT_S = 0.25
# After Redis fails, leave it alone this long instead of making every request wait on it again.
REDIS_RETRY_S = 5.0
REDIS_WARNING_EVERY_S = 60.0
# One IPv6 subscriber usually holds a whole /64: counting single addresses would let one client rotate
# through billions of them.
IPV6_PREFIX = 64
NOUNS = {"battle": "battles", "vote": "votes"}
WHO = {"user": "this voter", "ip": "this network address"}

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network


@dataclass(frozen=True)
class ActionLimits:
    """How many requests of one action a window allows, per voter and per client address (0: no limit)."""

    per_user: int
    per_ip: int


class RateLimiter:
    """Counts battles and votes and refuses the one over the limit with `RateLimitExceeded`."""

    def __init__(
        self,
        limits: Mapping[str, ActionLimits],
        *,
        storage_uri: str = "",
        window_s: int = WINDOW_S,
        key_prefix: str = "preflab",
    ) -> None:
        """`storage_uri`: a redis:// URL, or empty for this process's memory. `window_s` is 60 outside
        tests; the per-minute numbers count per window."""
        self.limits = dict(limits)
        self.window_s = window_s
        self.key_prefix = key_prefix
        self.storage: Storage
        if storage_uri:
            self.storage = RedisStorage(
                storage_uri,
                key_prefix=key_prefix,
                wrap_exceptions=True,
                socket_connect_timeout=REDIS_TIMEOUT_S,
                socket_timeout=REDIS_TIMEOUT_S,
            )
        else:
            self.storage = MemoryStorage()
        self._strategy = MovingWindowRateLimiter(self.storage)
        self._skip_until = 0.0
        self._last_warning = -math.inf
        self._failing = False

    @classmethod
    def from_settings(cls, settings: Settings) -> "RateLimiter":
        return cls(
            {
                "battle": ActionLimits(
                    settings.arena_battles_per_minute_user, settings.arena_battles_per_minute_ip
                ),
                "vote": ActionLimits(
                    settings.arena_votes_per_minute_user, settings.arena_votes_per_minute_ip
                ),
            },
            storage_uri=settings.redis_url,
        )

    def check(
        self,
        action: str,
        *,
        user_key: str | None,
        ip: str | None,
        campaign: str,
        per_minute: int | None = None,
        per_minute_ip: int | None = None,
    ) -> None:
        """Counts one `action` ("battle" or "vote") in `campaign` for the voter and the client address,
        or raises `RateLimitExceeded` (nothing counted) when either is spent. `per_minute` and
        `per_minute_ip` are the campaign's overrides of the server's limits; 0 turns one off."""
        if action not in self.limits:
            raise ValueError(f"unknown rate-limited action {action!r}; known: {', '.join(self.limits)}")
        server = self.limits[action]
        wanted = [
            ("user", user_key, server.per_user if per_minute is None else per_minute),
            (
                "ip",
                address_bucket(ip) if ip else None,
                server.per_ip if per_minute_ip is None else per_minute_ip,
            ),
        ]
        buckets = [
            (scope, RateLimitItemPerSecond(amount, self.window_s), ("arena", action, campaign, scope, key))
            for scope, key, amount in wanted
            if key and amount > 0
        ]
        if not buckets or time.monotonic() < self._skip_until:
            return
        try:
            refused = self._count(buckets)
        except StorageError as exc:
            # Fail open: a Redis outage must not take the arena down with it (every battle and vote would
            # be a 500), and a few minutes without limits costs less than a few minutes without an arena.
            self._storage_failed(exc)
            return
        if self._failing:
            self._failing = False
            log.warning("arena rate limits: Redis answers again; limits are enforced")
        if refused is not None:
            scope, item, retry_after = refused
            window = "a minute" if self.window_s == 60 else f"in {self.window_s} s"
            raise RateLimitExceeded(
                f"too many {NOUNS.get(action, action)} from {WHO[scope]}: at most {item.amount} {window}; "
                f"try again in {retry_after} s",
                retry_after=retry_after,
                action=action,
                scope=scope,
            )

    def _count(
        self, buckets: list[tuple[str, RateLimitItem, tuple[str, ...]]]
    ) -> tuple[str, RateLimitItem, int] | None:
        """Hits every bucket, or none when one is spent: a voter refused for the address's limit keeps
        their own budget. Between the test and the hit another process may take the last slot; the hit
        itself is atomic, so the limit still holds."""
        for scope, item, identifiers in buckets:
            if not self._strategy.test(item, *identifiers):
                return scope, item, self._retry_after(item, identifiers)
        for scope, item, identifiers in buckets:
            if not self._strategy.hit(item, *identifiers):
                return scope, item, self._retry_after(item, identifiers)
        return None

    def _retry_after(self, item: RateLimitItem, identifiers: tuple[str, ...]) -> int:
        reset_at = self._strategy.get_window_stats(item, *identifiers).reset_time
        return max(1, math.ceil(reset_at - time.time()))

    def _storage_failed(self, exc: StorageError) -> None:
        now = time.monotonic()
        self._skip_until = now + REDIS_RETRY_S
        self._failing = True
        if now - self._last_warning >= REDIS_WARNING_EVERY_S:
            self._last_warning = now
            log.warning(
                "arena rate limits are off: Redis does not answer (%s); battles and votes go through "
                "unlimited until it does (next try in %.0f s)",
                exc.storage_error,
                REDIS_RETRY_S,
            )

    def reset(self) -> None:
        """Forgets every count (tests, or an admin clearing a false alarm)."""
        self.storage.reset()


_cached: tuple[Settings, RateLimiter] | None = None
_cache_lock = threading.Lock()


def get_limiter() -> RateLimiter:
    """The limiter for the current settings; a new one when the settings object changes (tests)."""
    global _cached
    settings = get_settings()
    with _cache_lock:
        if _cached is None or _cached[0] is not settings:
            _cached = (settings, RateLimiter.from_settings(settings))
        return _cached[1]


def _parse(value: str) -> Address | None:
    try:
        address = ip_address(value.strip())
    except ValueError:
        return None
    # An IPv4 client seen through a dual-stack socket arrives as ::ffff:a.b.c.d.
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@lru_cache(maxsize=16)
def _networks(trusted_proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ip_network(entry, strict=False) for entry in trusted_proxies)


def _trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address in network for network in networks)


def client_ip(request: Request, trusted_proxies: Sequence[str] = ()) -> str | None:
    """The client's address: the peer's, unless the peer is a trusted proxy; then the nearest address in
    X-Forwarded-For that is not one. The header is read right to left because each proxy appends the
    peer it saw: only the part our own proxies wrote can be believed, the rest is whatever the client
    sent."""
    peer = request.client.host if request.client else None
    networks = _networks(tuple(trusted_proxies))
    parsed_peer = _parse(peer) if peer else None
    if parsed_peer is None or not _trusted(parsed_peer, networks):
        return str(parsed_peer) if parsed_peer else peer
    client = parsed_peer
    hops = [hop for header in request.headers.getlist("x-forwarded-for") for hop in header.split(",")]
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            break  # not written by a proxy of ours: keep the last address one of them vouched for
        client = address
        if not _trusted(address, networks):
            break
    return str(client)


def address_bucket(ip: str) -> str:
    """What a client address is counted as: itself for IPv4, its /64 for IPv6."""
    address = _parse(ip)
    if isinstance(address, IPv6Address):
        return str(ip_network(f"{address}/{IPV6_PREFIX}", strict=False))
    return str(address) if address else ip
