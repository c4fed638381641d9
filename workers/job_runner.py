"""Runs a job's body inside a Celery task: status changes, throttled progress, cancellation, errors.

A task redelivered after a worker crash (acks late) finds its job still `running` and starts it
again; one that finds it finished or cancelled does nothing.
"""

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.jobs import service
from app.jobs.models import JobStatus

log = logging.getLogger("preflab.jobs")
REPORT_EVERY_S = 0.5


class JobCancelled(Exception):
    """Raised inside a job body when someone asked to cancel it."""


class JobFailed(Exception):
    """A failure whose message is for people (bad input, an endpoint that refused), not a crash."""


@dataclass
class JobContext:
    job_id: str
    params: dict[str, Any]
    campaign_id: int | None
    _last_report: float = field(default=0.0)
    _cancelled: bool = field(default=False)

    def progress(self, fraction: float, message: str, point: dict[str, Any] | None = None) -> None:
        """Reports progress (at most every REPORT_EVERY_S unless a curve point comes with it)."""
        now = time.monotonic()
        if point is None and now - self._last_report < REPORT_EVERY_S:
            return
        self._last_report = now
        self._cancelled = service.report(self.job_id, progress=fraction, message=message, point=point)
        if self._cancelled:
            raise JobCancelled

    def should_stop(self) -> bool:
        now = time.monotonic()
        if not self._cancelled and now - self._last_report >= REPORT_EVERY_S:
            self._last_report = now
            self._cancelled = service.cancel_requested(self.job_id)
        return self._cancelled


def run_job(job_id: str, body: Callable[[JobContext], tuple[dict[str, Any], str]]) -> dict[str, Any]:
    """Runs `body` (returning (result, final message)) and records how it ended."""
    started = service.start(job_id)
    if started is None:
        return {"skipped": True}
    context = JobContext(job_id=job_id, params=started["params"], campaign_id=started["campaign_id"])
    try:
        result, message = body(context)
    except JobCancelled:
        service.finish(job_id, status=JobStatus.cancelled, message="cancelled")
        return {"cancelled": True}
    except JobFailed as exc:
        service.finish(job_id, status=JobStatus.failed, message="failed", error=str(exc))
        return {"failed": str(exc)}
    except Exception as exc:
        log.exception("job %s crashed", job_id)
        detail = "".join(traceback.format_exception_only(exc)).strip()
        service.finish(job_id, status=JobStatus.failed, message="failed", error=detail[-4000:])
        return {"failed": detail}
    service.finish(job_id, status=JobStatus.succeeded, message=message, result=result)
    return result
