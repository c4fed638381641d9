"""The Celery application. Without PREFLAB_REDIS_URL, tasks run in-process (the embedded default)."""

from pathlib import Path

from celery import Celery
from kombu import Queue

from app.config import Settings, get_settings

QUEUES = ("default", "cpu", "gpu")
# Every module that defines tasks; workers import them all at start.
TASK_MODULES = (
    "workers.tasks.maintenance",
    "workers.tasks.rewards",
    "workers.tasks.generation",
    "workers.tasks.arena",
    "workers.tasks.judging",
    "workers.tasks.selection",
    "workers.tasks.routing",
)


def make_celery(settings: Settings | None = None) -> Celery:
    settings = settings or get_settings()
    app = Celery("preflab", include=list(TASK_MODULES))
    app.conf.update(
        broker_url=settings.redis_url or "memory://",
        result_backend=settings.redis_url or None,
        task_always_eager=not settings.redis_url,
        task_eager_propagates=True,
        task_queues=[Queue(name) for name in QUEUES],
        task_default_queue="default",
        # A task is acknowledged only once it finished, so a crashed worker's task runs again;
        # every task is written to be safe to rerun.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        beat_schedule={
            "reclaim-expired-leases": {
                "task": "preflab.maintenance.reclaim_expired_leases",
                "schedule": settings.reclaim_leases_every_s,
            },
            "refresh-due-leaderboards": {
                "task": "preflab.arena.refresh_due_leaderboards",
                "schedule": settings.refresh_leaderboards_every_s,
            },
        },
        # Beat keeps its last-run times with the instance's data, not in whatever directory it started in.
        beat_schedule_filename=str(Path(settings.data_dir) / "celerybeat-schedule"),
        timezone="UTC",
    )
    return app


celery_app = make_celery()


_by_broker: dict[str, Celery] = {}


def celery_for(settings: Settings) -> Celery:
    """The app for these settings: the module's own unless the broker changed since import (tests)."""
    if celery_app.conf.broker_url == (settings.redis_url or "memory://"):
        return celery_app
    if settings.redis_url not in _by_broker:
        _by_broker[settings.redis_url] = make_celery(settings)
    return _by_broker[settings.redis_url]
