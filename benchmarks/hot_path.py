"""Hot-path benchmark: N concurrent simulated annotators (next + vote) against a real server on Postgres.

What it does, start to end (loopback only, bounded in time and in count):

1. creates a throwaway Postgres database `preflab_bench_<hex>` (or uses --database-url) and runs
   `preflab db upgrade`;
2. creates 1 admin and N annotators with one API token each, in-process through app.auth.service
   (the CLI would pay a process start and an argon2 hash per user);
3. starts `preflab serve --workers W` on a free 127.0.0.1 port, creates the campaign through
   POST /api/v1/campaigns, and imports a generated JSON Lines file of --comparisons items with two
   candidates each (one comparison per item) through `preflab import` (timed, reported), then
   VACUUM ANALYZE;
4. runs N annotator loops in one asyncio process (or split over --client-procs processes) for
   --duration seconds: GET /campaigns/{slug}/next, then POST /assignments/{id}/vote with a fresh
   Idempotency-Key; ~2% of the votes are sent a second time with the same key and must come back 200
   with the same vote id; a vote whose request failed in transit is retried with its key. By default
   the loop is closed (no think time); --rate paces the annotators to an offered number of votes/s;
5. stops the load, reads GET /progress, stops the server, and checks in the database that every
   acknowledged vote is stored (lost), none is stored twice (duplicated), no comparison got more than
   `overlap` votes or live assignments (over-assigned) and the per-comparison counters agree;
6. prints a Markdown table: votes/s, p50/p95/p99 per request kind, errors by status, CPU per vote split
   into server / Postgres / client / everything else (this machine is shared: the last column says how
   much other work ran meanwhile), Postgres connections opened, and the checks. Exits 1 if anything
   was lost, duplicated, over-assigned, inconsistent, or a replay did not return the stored vote.
   The server is always stopped and the database dropped (unless --keep).

In a closed loop latency and throughput are tied by Little's law: mean latency = annotators /
requests per second, so 64 annotators at 300 votes/s (600 requests/s) wait 107 ms per request on
average. Use --rate to measure latency at a given offered load.

Run (about 2 minutes on a 2-core machine, most of it the 100k import):

    .venv/bin/python benchmarks/hot_path.py --annotators 64 --duration 30 --server-workers 2

Needs: a Postgres reachable as postgres@127.0.0.1:5432 with CREATEDB (or --database-url), and the
`preflab` command in the same virtual environment as this interpreter. --py-spy DIR records the
server workers with py-spy (pip install py-spy) during the load.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
PASSWORD = "bench-password-" + "x" * 12
OUTCOMES = ("a", "b", "tie", "both_bad")
TARGET_VOTES_S, TARGET_P99_MS = 300, 100  # the target at 64 annotators on a 2-core machine
SYSTEMS = ("system-one", "system-two")
_TEXT = (
    "the answer depends on context and the question asks for a short explanation of how water moves "
    "through soil roots leaves and air while plants regulate their temperature during warm afternoons "
    "a careful reader would check the units first then compare each step against the original claim "
    "because small errors early in a derivation tend to compound later when several estimates are "
    "multiplied together in practice engineers prefer simple models that can be tested quickly and "
    "replaced when new measurements disagree with them history offers many examples where a tidy "
    "theory survived for decades until an instrument improved enough to reveal its limits so it is "
    "worth keeping notes about assumptions sources and the date each figure was observed"
)
WORDS = _TEXT.split()


# --------------------------------------------------------------------------------------------- setup


def _psycopg_url(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


def create_database(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_psycopg_url(server_url) + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_psycopg_url(server_url) + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def preflab_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("preflab")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("preflab")
    if found:
        return [found]
    return [sys.executable, "-c", "from app.cli import main; main()"]


def create_users(annotators: int) -> tuple[str, list[str]]:
    """(admin token, annotator tokens), created in-process through the app's own services."""
    from app.auth.models import Role
    from app.auth.service import create_token, create_user
    from app.db import get_engine, session_scope

    run = secrets.token_hex(3)
    with session_scope() as session:
        admin = create_user(
            session, email=f"bench-admin-{run}@bench.local", password=PASSWORD, role=Role.admin
        )
        admin_token = create_token(session, user=admin, name="bench")
        tokens = []
        for i in range(annotators):
            user = create_user(
                session, email=f"bench-ann-{run}-{i}@bench.local", password=PASSWORD, role=Role.annotator
            )
            tokens.append(create_token(session, user=user, name="bench"))
    get_engine().dispose()
    return admin_token, tokens


def write_items(path: Path, comparisons: int, seed: int) -> None:
    """One item per comparison, two candidates each; content 300-800 characters, no system names."""
    rng = random.Random(seed)
    corpus = " ".join(rng.choices(WORDS, k=60_000))
    limit = len(corpus) - 900

    def text(low: int, high: int) -> str:
        start = corpus.find(" ", rng.randrange(limit)) + 1
        end = corpus.find(" ", start + rng.randint(low, high))
        return corpus[start:end].capitalize() + "."

    with path.open("w", encoding="utf-8") as out:
        for i in range(comparisons):
            line = {
                "id": f"q{i:07d}",
                "prompt": f"Question {i}: " + text(60, 200) + "?",
                "candidates": [{"system": s, "content": text(300, 800)} for s in SYSTEMS],
            }
            out.write(json.dumps(line) + "\n")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(env: dict[str, str], port: int, workers: int, log_path: Path) -> subprocess.Popen[bytes]:
    log = log_path.open("wb")
    cmd = [*preflab_cmd(), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    return subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def wait_ready(base_url: str, proc: subprocess.Popen[bytes], log_path: Path, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(base_url + "/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"server not ready after {timeout:.0f}s:\n{log_path.read_text()[-3000:]}")


# ------------------------------------------------------------------------------------ CPU accounting

CLK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_stat(pid: int) -> tuple[int, float, float] | None:
    """(parent pid, CPU seconds used, CPU seconds of its exited children) of a live process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (
        int(fields[1]),
        (int(fields[11]) + int(fields[12])) / CLK,
        (int(fields[13]) + int(fields[14])) / CLK,
    )


def _all_pids() -> list[int]:
    return [int(d) for d in os.listdir("/proc") if d.isdigit()] if Path("/proc").is_dir() else []


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def process_tree(root: int) -> list[int]:
    parents = {pid: st[0] for pid in _all_pids() if (st := _proc_stat(pid))}
    tree, grew = {root}, True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return sorted(tree & set(parents))


@dataclass
class CpuSnapshot:
    """CPU seconds used so far: the whole machine, the server's process tree, every Postgres process.

    A process that exits between two snapshots is still counted: the kernel adds its CPU to its
    parent's (the server's or the postmaster's) children time.
    """

    wall: float
    busy: float
    server: float
    postgres: float


def cpu_snapshot(server_pid: int) -> CpuSnapshot:
    busy = 0.0
    with contextlib.suppress(OSError):
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        busy = (sum(values[:8]) - values[3] - values[4]) / CLK  # all but idle and iowait
    stats = {pid: st for pid in _all_pids() if (st := _proc_stat(pid))}
    server = sum(stats[p][1] for p in process_tree(server_pid)) + stats.get(server_pid, (0, 0.0, 0.0))[2]
    pg = {pid for pid in stats if _comm(pid) == "postgres"}
    postgres = sum(stats[p][1] for p in pg) + sum(stats[p][2] for p in pg if stats[p][0] not in pg)
    return CpuSnapshot(time.time(), busy, server, postgres)


def pg_sessions(db_url: str) -> int:
    """Connections ever opened to this database (Postgres 14+), to spot connection churn."""
    import psycopg

    with psycopg.connect(_psycopg_url(db_url)) as conn:
        try:
            return int(
                conn.execute(
                    "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
                ).fetchone()[0]
            )
        except psycopg.Error:
            return -1


def pg_max_connections(db_url: str) -> int:
    import psycopg

    with psycopg.connect(_psycopg_url(db_url)) as conn:
        return int(conn.execute("SHOW max_connections").fetchone()[0])


# ---------------------------------------------------------------------------------------------- load


@dataclass
class ShardResult:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"next": [], "vote": [], "replay": []})
    errors: Counter[str] = field(default_factory=Counter)
    acked: dict[str, str] = field(default_factory=dict)  # vote id -> idempotency key
    in_doubt: list[str] = field(default_factory=list)  # keys sent without a final answer
    replays_ok: int = 0
    replays_bad: int = 0
    recovered: int = 0  # votes acknowledged on a retry after a failure in transit
    exhausted: int = 0  # annotators that got 204
    first_start: float = 0.0
    last_end: float = 0.0
    client_cpu: float = 0.0  # CPU seconds the client process(es) used during the load
    requests: int = 0  # answered requests, warm-up included
    measure_from: float = 0.0  # perf_counter time from which latencies are kept (--warmup)
    acked_steady: int = 0  # votes acknowledged whose request started after the warm-up

    def record(self, kind: str, started: float, ended: float) -> None:
        self.requests += 1
        if started >= self.measure_from:
            self.latencies[kind].append((ended - started) * 1000)


class TransportError(Exception):
    """The request failed in transit (connection refused or reset, timeout, malformed response)."""


class RawClient:
    """One keep-alive HTTP/1.1 connection on asyncio streams: about 0.1 ms of client CPU per request.

    httpx.AsyncClient costs 2-6 ms of CPU per request on a 2-core VM (see the README), which on this
    box would take more CPU than the server under test; this client only speaks what the server sends
    back (Content-Length or chunked bodies, keep-alive).
    """

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None = None
    ) -> tuple[int, bytes]:
        try:
            async with asyncio.timeout(self.timeout):
                return await self._request(method, path, headers, body)
        except (
            OSError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            TimeoutError,
            ValueError,
        ) as exc:
            await self.close()
            raise TransportError(type(exc).__name__) from exc

    async def _request(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""))
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        fields = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                fields[name.strip().lower()] = value.strip()
        if fields.get("transfer-encoding", "").lower() == "chunked":
            data = b""
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                data += (await self.reader.readexactly(size + 2))[:-2]
            await self.reader.readuntil(b"\r\n")
        else:
            data = await self.reader.readexactly(int(fields.get("content-length", "0")))
        if fields.get("connection", "").lower() == "close":
            await self.close()
        return status, data

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None


class HttpxClient:
    """The same interface over a shared httpx.AsyncClient (--client httpx), to cross-check RawClient."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None = None
    ) -> tuple[int, bytes]:
        import httpx

        if body is not None:
            headers = {**headers, "Content-Type": "application/json"}
        try:
            r = await self.client.request(method, path, headers=headers, content=body)
        except httpx.HTTPError as exc:
            raise TransportError(type(exc).__name__) from exc
        return r.status_code, r.content

    async def close(self) -> None:
        pass


async def _annotator(
    client: RawClient | HttpxClient,
    token: str,
    slug: str,
    deadline: float,
    res: ShardResult,
    rng: random.Random,
    replay: float,
    period: float,
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    next_url = f"/api/v1/campaigns/{slug}/next"
    clock = time.perf_counter
    start = clock() + rng.random() * period  # paced (--rate): one next + vote every `period` seconds
    cycle = 0
    try:
        while clock() < deadline:
            if period:
                wait = start + cycle * period - clock()
                cycle += 1
                if wait > 0:
                    await asyncio.sleep(wait)
                    if clock() >= deadline:
                        break
            t0 = clock()
            try:
                status, data = await client.request("GET", next_url, headers)
            except TransportError as exc:
                res.errors[f"next {exc}"] += 1
                await asyncio.sleep(0.05)
                continue
            res.record("next", t0, clock())
            if status == 204:
                res.exhausted += 1
                return
            if status != 200:
                res.errors[f"next {status}"] += 1
                await asyncio.sleep(0.05)
                continue
            assignment = json.loads(data)["assignment_id"]
            outcome = rng.choice(OUTCOMES)
            vote: dict[str, Any] = {"outcome": outcome}
            if outcome in ("a", "b"):
                vote["strength"] = rng.randint(1, 3)
            if rng.random() < 0.1:
                vote["rationale"] = "the chosen answer is clearer and checks its units"
            body = json.dumps(vote).encode()
            key = secrets.token_hex(12)
            vote_headers = {**headers, "Idempotency-Key": key}
            vote_url = f"/api/v1/assignments/{assignment}/vote"
            vote_id = None
            for attempt in range(3):  # a failure in transit is retried with the same key, as a client would
                t0 = clock()
                try:
                    status, data = await client.request("POST", vote_url, vote_headers, body)
                except TransportError as exc:
                    res.errors[f"vote {exc}"] += 1
                    continue
                res.record("vote", t0, clock())
                if status in (200, 201):
                    vote_id = json.loads(data)["id"]
                    res.recovered += attempt > 0
                    res.acked_steady += t0 >= res.measure_from
                    break
                res.errors[f"vote {status}"] += 1
                if status < 500:
                    break
            if vote_id is None:
                res.in_doubt.append(key)
                continue
            res.acked[vote_id] = key
            if rng.random() < replay:
                t0 = clock()
                try:
                    status, data = await client.request("POST", vote_url, vote_headers, body)
                except TransportError as exc:
                    res.errors[f"replay {exc}"] += 1
                    continue
                res.record("replay", t0, clock())
                if status == 200 and json.loads(data)["id"] == vote_id:
                    res.replays_ok += 1
                else:
                    res.replays_bad += 1
                    res.errors[f"replay {status}"] += 1
    finally:
        await client.close()


async def _run_shard(
    base_url: str,
    slug: str,
    tokens: list[str],
    start_at: float,
    duration: float,
    grace: float,
    seed: int,
    replay: float,
    client_kind: str,
    period: float,
    warmup: float,
) -> ShardResult:
    import httpx

    res = ShardResult()
    n = len(tokens)
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n, keepalive_expiry=120)
    timeout = httpx.Timeout(30.0, connect=10.0)
    host, port = base_url.removeprefix("http://").split(":")
    async with httpx.AsyncClient(base_url=base_url, http2=False, limits=limits, timeout=timeout) as shared:
        clients: list[RawClient | HttpxClient] = [
            HttpxClient(shared) if client_kind == "httpx" else RawClient(host, int(port), timeout=30.0)
            for _ in tokens
        ]
        await asyncio.sleep(max(0.0, start_at - time.time()))
        res.first_start = time.time()
        cpu0 = time.process_time()
        deadline = time.perf_counter() + duration
        res.measure_from = deadline - duration + warmup
        tasks = [
            asyncio.create_task(
                _annotator(c, t, slug, deadline, res, random.Random(seed + i), replay, period)
            )
            for i, (c, t) in enumerate(zip(clients, tokens, strict=True))
        ]
        done, pending = await asyncio.wait(tasks, timeout=duration + grace)
        for task in pending:
            task.cancel()
        res.errors["annotator cancelled at the hard time limit"] += len(pending)
        for task in done:
            if task.exception() is not None:
                res.errors[f"client {type(task.exception()).__name__}: {task.exception()}"] += 1
        res.last_end = time.time()
        res.client_cpu = time.process_time() - cpu0
    return res


def run_shard(*params: Any) -> ShardResult:
    with contextlib.suppress(ImportError):
        import uvloop

        return uvloop.run(_run_shard(*params))
    return asyncio.run(_run_shard(*params))


def run_load(args: argparse.Namespace, base_url: str, slug: str, tokens: list[str]) -> ShardResult:
    procs = max(1, min(args.client_procs, len(tokens)))
    shards = [tokens[i::procs] for i in range(procs)]
    start_at = time.time() + (3.0 if procs > 1 else 0.2)
    params = (start_at, args.duration, args.grace)
    period = len(tokens) / args.rate if args.rate else 0.0
    if procs == 1:
        return run_shard(
            base_url, slug, shards[0], *params, args.seed, args.replay, args.client, period, args.warmup
        )
    total = ShardResult()
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=procs, mp_context=ctx) as pool:
        futures = [
            pool.submit(
                run_shard,
                base_url,
                slug,
                shard,
                *params,
                args.seed + 1000 * i,
                args.replay,
                args.client,
                period,
                args.warmup,
            )
            for i, shard in enumerate(shards)
        ]
        parts = [f.result() for f in futures]
    total.first_start = min(p.first_start for p in parts)
    total.last_end = max(p.last_end for p in parts)
    for p in parts:
        for kind, values in p.latencies.items():
            total.latencies[kind] += values
        total.errors.update(p.errors)
        total.acked.update(p.acked)
        total.in_doubt += p.in_doubt
        total.replays_ok += p.replays_ok
        total.replays_bad += p.replays_bad
        total.recovered += p.recovered
        total.exhausted += p.exhausted
        total.client_cpu += p.client_cpu
        total.requests += p.requests
        total.acked_steady += p.acked_steady
    return total


def cpu_breakdown(before: CpuSnapshot, after: CpuSnapshot, client: float) -> dict[str, float]:
    """CPU seconds used during the load by the server, Postgres, the client and everything else."""
    server_s = after.server - before.server
    postgres_s = after.postgres - before.postgres
    busy = after.busy - before.busy
    wall = max(after.wall - before.wall, 1e-9)
    return {
        "server": server_s,
        "postgres": postgres_s,
        "client": client,
        "other": max(busy - server_s - postgres_s - client, 0.0),
        "busy_pct": 100 * busy / (wall * (os.cpu_count() or 1)),
    }


def start_py_spy(out_dir: str, server_pid: int, duration: float) -> list[subprocess.Popen[bytes]]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    workers = [
        pid for pid in process_tree(server_pid) if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ] or [server_pid]
    print(f"py-spy on server worker(s) {workers}, output in {out_dir}", flush=True)
    return [
        subprocess.Popen(
            [
                spy,
                "record",
                "-p",
                str(pid),
                "-d",
                str(int(duration)),
                "-r",
                "100",
                "-f",
                "raw",
                "-o",
                str(Path(out_dir) / f"worker-{pid}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in workers
    ]


# ------------------------------------------------------------------------------------------- checking


def pg_server_version(db_url: str) -> str:
    import psycopg

    with psycopg.connect(_psycopg_url(db_url)) as conn:
        return "PostgreSQL " + conn.execute("SHOW server_version").fetchone()[0].split()[0]


def check_database(db_url: str, slug: str, overlap: int, res: ShardResult) -> dict[str, int]:
    import psycopg

    with psycopg.connect(_psycopg_url(db_url)) as conn:
        campaign_id = conn.execute("SELECT id FROM campaign WHERE slug = %s", (slug,)).fetchone()[0]
        stored = dict(
            conn.execute(
                "SELECT public_id, idempotency_key FROM vote WHERE campaign_id = %s", (campaign_id,)
            ).fetchall()
        )
        one = lambda sql: conn.execute(sql, {"c": campaign_id, "k": overlap}).fetchone()[0]  # noqa: E731
        duplicated = one(
            "SELECT (count(*) - count(DISTINCT assignment_id))"
            " + (count(*) - count(DISTINCT (comparison_id, annotator_id)))"
            " + (count(*) - count(DISTINCT (annotator_id, idempotency_key)))"
            " FROM vote WHERE campaign_id = %(c)s"
        )
        over_voted = one(
            "SELECT count(*) FROM (SELECT comparison_id FROM vote WHERE campaign_id = %(c)s"
            " GROUP BY comparison_id HAVING count(*) > %(k)s) x"
        )
        over_leased = one(
            "SELECT count(*) FROM (SELECT comparison_id FROM assignment WHERE campaign_id = %(c)s"
            " AND status IN ('leased', 'completed') GROUP BY comparison_id HAVING count(*) > %(k)s) x"
        )
        # open_slots = overlap - live assignments, vote_count = votes, completed assignment <=> vote
        counters = one(
            "SELECT count(*) FROM comparison c"
            " LEFT JOIN (SELECT comparison_id, count(*) AS n FROM vote WHERE campaign_id = %(c)s"
            "            GROUP BY comparison_id) v ON v.comparison_id = c.id"
            " LEFT JOIN (SELECT comparison_id, count(*) AS n FROM assignment WHERE campaign_id = %(c)s"
            "            AND status IN ('leased', 'completed') GROUP BY comparison_id) a"
            "   ON a.comparison_id = c.id"
            " WHERE c.campaign_id = %(c)s"
            "   AND (c.vote_count <> coalesce(v.n, 0) OR c.open_slots <> %(k)s - coalesce(a.n, 0))"
        )
        completed_without_vote = one(
            "SELECT count(*) FROM assignment a WHERE a.campaign_id = %(c)s AND (a.status = 'completed')"
            " <> EXISTS (SELECT 1 FROM vote v WHERE v.assignment_id = a.id)"
        )
    in_doubt = set(res.in_doubt)
    unacked = [vid for vid in stored if vid not in res.acked]
    return {
        "stored": len(stored),
        "lost": sum(1 for vid in res.acked if vid not in stored),
        "duplicated": duplicated,
        "over_assigned": over_voted + over_leased,
        "counter_mismatch": counters + completed_without_vote,
        "stored_in_doubt": sum(1 for vid in unacked if stored[vid] in in_doubt),
        "stored_unexplained": sum(1 for vid in unacked if stored[vid] not in in_doubt),
    }


def p99(values: list[float]) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values), 99))


def pct(values: list[float]) -> str:
    if not values:
        return "n/a"
    import numpy as np

    p50, p95, p99 = np.percentile(np.asarray(values), [50, 95, 99])
    return f"{p50:.1f} / {p95:.1f} / {p99:.1f}"


# ---------------------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--annotators", type=int, default=64, help="concurrent simulated annotators")
    p.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    p.add_argument("--grace", type=float, default=30.0, help="hard limit after --duration for in-flight work")
    p.add_argument(
        "--warmup",
        type=float,
        default=0.0,
        help="seconds at the start whose requests are left out of the latency percentiles (they still "
        "count for votes/s and for the checks)",
    )
    p.add_argument("--comparisons", type=int, default=100_000, help="comparisons in the campaign")
    p.add_argument("--overlap", type=int, default=1, help="distinct annotators per comparison")
    p.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="offered votes/s for all annotators together (open loop: each annotator starts a next + vote "
        "every annotators/rate seconds); 0: closed loop, every annotator as fast as it can",
    )
    p.add_argument("--server-workers", type=int, default=2, help="uvicorn worker processes")
    p.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the server, e.g. PREFLAB_DB_POOL_SIZE=8 (repeatable)",
    )
    p.add_argument("--client-procs", type=int, default=1, help="processes the annotators are split over")
    p.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="raw: one keep-alive asyncio HTTP/1.1 connection per annotator (lean); httpx: one shared "
        "httpx.AsyncClient (costs ~30x more client CPU per request)",
    )
    p.add_argument("--replay", type=float, default=0.02, help="share of votes sent twice with the same key")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--database-url",
        help="an existing, empty Postgres database (SQLAlchemy URL); default: a throwaway "
        f"preflab_bench_<hex> on {DEFAULT_SERVER}",
    )
    p.add_argument("--server-url", default=DEFAULT_SERVER, help="Postgres server for the throwaway database")
    p.add_argument("--keep", action="store_true", help="keep the throwaway database (its URL is printed)")
    p.add_argument(
        "--py-spy",
        metavar="DIR",
        help="record each server worker with py-spy (raw collapsed stacks) into DIR during the load",
    )
    args = p.parse_args(argv)
    if not 1 <= args.annotators <= 1000 or not 1 <= args.comparisons <= 5_000_000:
        p.error("need 1 <= --annotators <= 1000 and 1 <= --comparisons <= 5000000")
    if not 0 < args.duration <= 3600 or not 0 <= args.grace <= 600 or not 0 <= args.warmup < args.duration:
        p.error("need 0 < --duration <= 3600, 0 <= --grace <= 600 and 0 <= --warmup < --duration")
    if args.rate < 0:
        p.error("--rate must be >= 0")
    if any("=" not in item for item in args.server_env):
        p.error("--server-env takes NAME=VALUE")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="preflab-bench-"))
    created_db = None
    if args.database_url:
        db_url = args.database_url
    else:
        created_db = f"preflab_bench_{secrets.token_hex(4)}"
        db_url = f"{args.server_url}/{created_db}"
    env = {**os.environ, "PREFLAB_DATABASE_URL": db_url, "PREFLAB_DATA_DIR": str(tmp / "data")}
    server_env = dict(item.split("=", 1) for item in args.server_env)
    os.environ.update(PREFLAB_DATABASE_URL=db_url, PREFLAB_DATA_DIR=str(tmp / "data"))
    server = None
    rows: list[tuple[str, str]] = []
    failed = True
    try:
        import httpx

        if created_db:
            create_database(args.server_url, created_db)
        print(f"database {db_url}", flush=True)
        subprocess.run([*preflab_cmd(), "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
        t = time.perf_counter()
        admin_token, tokens = create_users(args.annotators)
        print(f"created 1 admin + {len(tokens)} annotators in {time.perf_counter() - t:.1f}s", flush=True)

        items = tmp / "items.jsonl"
        t = time.perf_counter()
        write_items(items, args.comparisons, args.seed)
        size_mb = items.stat().st_size / 1e6
        print(
            f"wrote {args.comparisons} items ({size_mb:.0f} MB) in {time.perf_counter() - t:.1f}s", flush=True
        )

        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        log_path = tmp / "server.log"
        server = start_server({**env, **server_env}, port, args.server_workers, log_path)
        wait_ready(base_url, server, log_path)
        slug = f"bench-{secrets.token_hex(3)}"
        admin = {"Authorization": f"Bearer {admin_token}"}
        campaign = {
            "slug": slug,
            "name": "hot path benchmark",
            "task_kind": "pairwise",
            "modality": "text",
            "overlap": args.overlap,
            "guidelines": "Pick the better answer.",
            "reveal_identities": False,
        }
        r = httpx.post(base_url + "/api/v1/campaigns", json=campaign, headers=admin, timeout=30)
        if r.status_code != 201:
            raise RuntimeError(f"creating the campaign: {r.status_code} {r.text}")

        t = time.perf_counter()
        subprocess.run(
            [*preflab_cmd(), "import", slug, str(items)], env=env, cwd=ROOT, check=True, capture_output=True
        )
        import_s = time.perf_counter() - t
        progress = httpx.get(
            base_url + f"/api/v1/campaigns/{slug}/progress", headers=admin, timeout=30
        ).json()
        if progress["comparisons"] != args.comparisons:
            raise RuntimeError(f"import made {progress['comparisons']} comparisons, not {args.comparisons}")
        print(f"imported {args.comparisons} comparisons in {import_s:.1f}s", flush=True)
        subprocess.run(
            ["psql", _psycopg_url(db_url), "-qc", "VACUUM ANALYZE"], check=False, capture_output=True
        )

        max_conn = pg_max_connections(db_url)
        pool = int(server_env.get("PREFLAB_DB_POOL_SIZE", 10)) + int(
            server_env.get("PREFLAB_DB_MAX_OVERFLOW", 20)
        )
        if args.server_workers * pool > max_conn - 10:
            print(
                f"warning: {args.server_workers} workers x {pool} pooled connections can exceed Postgres "
                f"max_connections={max_conn} (with other clients): expect 503s; see --server-env",
                flush=True,
            )
        spies = start_py_spy(args.py_spy, server.pid, args.duration) if args.py_spy else []
        sessions0 = pg_sessions(db_url)
        cpu0 = cpu_snapshot(server.pid)
        print(
            f"load: {args.annotators} annotators for {args.duration:.0f}s against {args.server_workers} "
            f"server worker(s), client in {args.client_procs} process(es)",
            flush=True,
        )
        res = run_load(args, base_url, slug, tokens)
        cpu1 = cpu_snapshot(server.pid)
        sessions = pg_sessions(db_url) - sessions0
        elapsed = res.last_end - res.first_start
        for spy in spies:
            spy.wait(timeout=args.duration + 60)
        progress = httpx.get(
            base_url + f"/api/v1/campaigns/{slug}/progress", headers=admin, timeout=30
        ).json()
        stop_server(server)
        check = check_database(db_url, slug, args.overlap, res)
        pg_version = pg_server_version(db_url)

        acked = len(res.acked)
        # Over the measured window only: ramp-up and the last cycles cut by the deadline left out.
        steady_rate = res.acked_steady / max(args.duration - args.warmup, 1e-9)
        requests = res.requests
        cpu = cpu_breakdown(cpu0, cpu1, res.client_cpu)
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(res.errors.items()) if v) or "none"
        rows = [
            (
                "setup",
                f"{args.comparisons} comparisons, overlap {args.overlap}, {args.annotators} annotators "
                + (f"offering {args.rate:g} votes/s, " if args.rate else "in a closed loop, ")
                + (f"latencies after a {args.warmup:g} s warm-up, " if args.warmup else "")
                + f"{args.server_workers} server worker(s), "
                f"{args.client} client in {args.client_procs} process(es)"
                + "".join(f", {k}={v}" for k, v in server_env.items()),
            ),
            (f"import {args.comparisons} comparisons (`preflab import`)", f"{import_s:.1f} s"),
            ("load time", f"{elapsed:.1f} s"),
            ("votes/s (acknowledged)", f"{acked / elapsed:.0f}"),
            ("votes/s after the warm-up", f"{steady_rate:.0f}"),
            ("requests/s (next + vote + replay)", f"{requests / elapsed:.0f}"),
            ("next p50 / p95 / p99 (ms)", pct(res.latencies["next"])),
            ("vote p50 / p95 / p99 (ms)", pct(res.latencies["vote"])),
            ("replay p50 / p95 / p99 (ms)", pct(res.latencies["replay"])),
            (
                f"target: >= {TARGET_VOTES_S} votes/s, p99 <= {TARGET_P99_MS} ms",
                "met"
                if steady_rate >= TARGET_VOTES_S
                and all(res.latencies[k] and p99(res.latencies[k]) <= TARGET_P99_MS for k in ("next", "vote"))
                else "missed",
            ),
            ("errors", errors),
            (
                "CPU per acknowledged vote (ms): server / postgres (all databases) / client / other",
                " / ".join(
                    f"{cpu[k] * 1000 / max(acked, 1):.1f}" for k in ("server", "postgres", "client", "other")
                ),
            ),
            ("server CPU per request (ms)", f"{cpu['server'] * 1000 / max(requests, 1):.1f}"),
            ("machine CPU busy during the load", f"{cpu['busy_pct']:.0f}% of {os.cpu_count()} cores"),
            ("Postgres connections opened during the load", str(sessions) if sessions >= 0 else "n/a"),
            ("replays returning the stored vote", f"{res.replays_ok} of {res.replays_ok + res.replays_bad}"),
            ("votes acknowledged after a retry", str(res.recovered)),
            ("annotators out of work (204)", str(res.exhausted)),
            ("acknowledged", str(acked)),
            ("stored", f"{check['stored']} (progress API: {progress['votes']})"),
            (
                "stored, never acknowledged",
                f"{check['stored_in_doubt']} in doubt, {check['stored_unexplained']} unexplained",
            ),
            ("lost", str(check["lost"])),
            ("duplicated", str(check["duplicated"])),
            ("over-assigned", str(check["over_assigned"])),
            ("counter mismatches", str(check["counter_mismatch"])),
        ]
        failed = bool(
            check["lost"]
            or check["duplicated"]
            or check["over_assigned"]
            or check["counter_mismatch"]
            or check["stored_unexplained"]
            or res.replays_bad
            or progress["votes"] != check["stored"]
        )
        print()
        print(
            f"Preflab hot path on {platform.node()}: {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, {pg_version}"
        )
        print()
        print("| metric | value |")
        print("|---|---|")
        for name, value in rows:
            print(f"| {name} | {value} |")
        print()
        if any(res.errors.values()):
            tail = log_path.read_text(errors="replace")[-2000:]
            print("server log tail:\n" + tail)
        print(
            "FAILED: votes lost, duplicated or over-assigned"
            if failed
            else "OK: every acknowledged vote stored once, no comparison over-assigned"
        )
    finally:
        if server is not None:
            stop_server(server)
        if created_db and not args.keep:
            with contextlib.suppress(Exception):
                drop_database(args.server_url, created_db)
        elif created_db:
            print(f"kept database {db_url}")
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
