"""Real Celery worker processes on real Redis, against a test's database (the `worker` fixture in
tests/conftest.py, and `preflab worker` as a test starts it)."""

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def running(argv: list[str], env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A worker process for the length of the block; its output goes to log_path."""
    with log_path.open("w") as log:
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@contextmanager
def preflab_worker(env: dict[str, str], log_path: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """`preflab worker ...`, the command the README gives for worker hosts."""
    preflab = str(Path(sys.executable).parent / "preflab")
    with running([preflab, "worker", *args], env, log_path) as proc:
        yield proc


def solo_worker_argv() -> list[str]:
    """One solo-pool Celery worker on the default and cpu queues."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.celery_app",
        "worker",
        "--queues",
        "default,cpu",
        "--concurrency",
        "1",
        "--pool",
        "solo",
        "--loglevel",
        "INFO",
        "--hostname",
        f"test-{os.getpid()}@%h",
    ]
