"""A real Celery worker on real Redis, against the test's database."""

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def worker(cli_env: dict[str, str], redis_url: str, tmp_path: Path):
    env = {**cli_env, "PREFLAB_REDIS_URL": redis_url}
    log = (tmp_path / "worker.log").open("w")
    proc = subprocess.Popen(
        [
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
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield env
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
