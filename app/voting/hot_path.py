"""The two hot requests end to end, each in its own transaction, in the calling (worker) thread.

On Postgres the fast path (fast_path.py, one statement each) answers the common case; whatever it
leaves, and everything on SQLite, goes through the reference service (service.py) in an ORM session.
"""

import asyncio
import functools
import random
import weakref
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from anyio import CapacityLimiter, to_thread

from app.auth.models import Role
from app.campaigns import service as campaigns_service
from app.config import get_settings
from app.db import get_engine, session_scope, utcnow
from app.deps import Identity, ensure_role, resolve_user
from app.voting import fast_path, service
from app.voting.schemas import AssignmentRead, VoteCreate

_rng = random.SystemRandom()
_P = ParamSpec("_P")
_T = TypeVar("_T")
# One per event loop: a limiter's waiters belong to the loop they wait in (tests run several loops).
_limiters: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter]" = (
    weakref.WeakKeyDictionary()
)


async def run(func: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """Runs a hot request in a worker thread, at most as many at once as there are connections.

    Requests beyond that wait in the event loop rather than as threads blocked on the pool, where
    they would only compete for the GIL with the ones doing work.
    """
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = CapacityLimiter(max(get_settings().db_statement_pool_size, 1))
    return await to_thread.run_sync(functools.partial(func, *args, **kwargs), limiter=limiter)


def _fast_path_applies() -> bool:
    return get_engine().dialect.name == "postgresql"


def next_assignment(*, slug: str, identity: Identity) -> AssignmentRead | None:
    """The annotator's next task in the campaign; None when nothing is left for them."""
    if _fast_path_applies():
        shown = fast_path.next_assignment(
            slug=slug, identity=identity, now=utcnow(), flip=_rng.random() < 0.5
        )
        if shown is not None:
            return shown
    with session_scope() as session:
        user = ensure_role(resolve_user(session, identity), Role.annotator)
        campaign = campaigns_service.get_campaign(session, slug=slug)
        return service.next_assignment(session, campaign=campaign, annotator=user)


def cast_vote(
    *, assignment_id: str, identity: Identity, data: VoteCreate, idempotency_key: str | None
) -> service.VoteResult:
    """Stores the vote; committed before this returns, so an acknowledged vote is a stored vote."""
    service.check_idempotency_key(idempotency_key)
    strength = service.check_strength(data)
    if _fast_path_applies():
        vote = fast_path.cast_vote(
            assignment_id=assignment_id,
            identity=identity,
            data=data,
            strength=strength,
            idempotency_key=idempotency_key,
            now=utcnow(),
        )
        if vote is not None:
            return service.VoteResult(vote=vote, replayed=False)
    with session_scope() as session:
        user = ensure_role(resolve_user(session, identity), Role.annotator)
        return service.cast_vote(
            session, assignment_id=assignment_id, annotator=user, data=data, idempotency_key=idempotency_key
        )
