"""Housekeeping tasks run by Celery beat."""

from app.db import session_scope
from app.voting.service import reclaim_expired_leases as reclaim
from workers.celery_app import celery_app


@celery_app.task(name="preflab.maintenance.reclaim_expired_leases")
def reclaim_expired_leases() -> int:
    """Returns expired leases' slots to the pool in every campaign (requests also do it lazily)."""
    with session_scope() as session:
        return reclaim(session)
