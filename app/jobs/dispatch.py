"""Hands a job (or any named task) to Celery. Without Redis (the embedded default) the same Celery task
runs in this process, on one background thread, so a long job never holds up the request that started it."""

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from app.config import get_settings

log = logging.getLogger("preflab.jobs")
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _in_process_executor() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="preflab-job")
        return _executor


def dispatch(*, job_id: str, kind: str, queue: str) -> str:
    """Queues the task for the job; returns the Celery task id ("in-process" without Redis)."""
    return send_task(kind, args=[job_id], queue=queue)


def send_task(name: str, *, args: list[object], queue: str) -> str:
    """Sends a named Celery task; without Redis, runs it on this process's background thread."""
    from workers.celery_app import celery_app, celery_for

    settings = get_settings()
    if settings.redis_url:
        result = celery_for(settings).send_task(
            name,
            args=args,
            queue=queue,
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1},
        )
        return str(result.id)
    import workers.tasks  # noqa: F401  (registers every task with the app)

    task = celery_app.tasks[name]

    def run() -> None:
        try:
            task.apply(args=args, throw=False)
        except Exception:  # the task records its own failure; this only keeps the thread alive
            log.exception("in-process task %s%r crashed", name, args)

    _in_process_executor().submit(run)
    return "in-process"


def revoke(task_id: str) -> None:
    """Best effort: tells workers to drop a queued task (the task also checks the job when it starts)."""
    settings = get_settings()
    if not settings.redis_url or task_id == "in-process":
        return
    from workers.celery_app import celery_for

    try:
        celery_for(settings).control.revoke(task_id)
    except Exception as exc:  # the job row already says cancelled; the task will see it
        log.warning("could not revoke task %s: %s", task_id, exc)
