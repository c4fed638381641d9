"""Release benchmark: a campaign with N votes (1M by default), released as `votes` and as `pairwise`,
each in a fresh process, timed and with its peak resident memory.

    .venv/bin/python benchmarks/export_votes.py [--votes 1000000] [--database-url URL] [--weights none]

The database (a SQLite file in a temporary folder unless --database-url names an empty migrated or
new database) is filled with plain bulk inserts (executemany, not the voting service): N/3 pairwise
comparisons, three votes each by 30 annotators (27 people, 3 LM judges), 80% preferences, 10% ties,
10% both bad, random side order. Then each release runs `app.releases.service.create_release` in
its own child process (so memory is measured per release, from interpreter start), which reports its
wall time and peak RSS (`getrusage` ru_maxrss); the script prints a Markdown table.

BLAS runs on one thread (as in benchmarks/leaderboard.py): the reliability fit behind the votes
format's annotator_weight is numpy.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CHUNK = 50_000
ANNOTATORS = 30
MODELS = 3  # the last three annotators are LM judges
SLUG = "bench"


def _fill(url: str, n_votes: int, seed: int) -> None:
    from sqlalchemy import create_engine, insert

    import app.models  # noqa: F401  (every table)
    from app.db import Base

    t = Base.metadata.tables
    rng = random.Random(seed)
    engine = create_engine(url)
    n_comparisons = max(1, -(-n_votes // 3))  # the last one may have fewer than three votes
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(t["user"]),
            [
                {
                    "id": 1000 + i,
                    "email": f"bench{i}@example.org",
                    "password_hash": "!",
                    "role": "annotator",
                    "kind": "model" if i >= ANNOTATORS - MODELS else "human",
                    "pseudonym": f"ann_bench{i:03d}",
                    "is_active": True,
                    "created_at": now,
                }
                for i in range(ANNOTATORS)
            ],
        )
        conn.execute(
            insert(t["campaign"]),
            [
                {
                    "id": 1,
                    "slug": SLUG,
                    "name": "Benchmark",
                    "task_kind": "pairwise",
                    "modality": "text",
                    "overlap": 3,
                    "license": "cc-by-4.0",
                    "status": "active",
                }
            ],
        )

        def chunks(rows):  # type: ignore[no-untyped-def]
            batch = []
            for row in rows:
                batch.append(row)
                if len(batch) >= CHUNK:
                    yield batch
                    batch = []
            if batch:
                yield batch

        items = (
            {
                "id": c + 1,
                "campaign_id": 1,
                "external_id": f"i{c}",
                "prompt": f"Question {c}: explain topic {c}.",
            }
            for c in range(n_comparisons)
        )
        for batch in chunks(items):
            conn.execute(insert(t["item"]), batch)
        candidates = (
            {
                "id": 2 * c + k + 1,
                "public_id": f"c{2 * c + k + 1:012x}",
                "item_id": c + 1,
                "system": ("alpha-7b", "beta-13b")[k],
                "content": f"Answer {k} to question {c}: " + "word " * (5 + 3 * k),
            }
            for c in range(n_comparisons)
            for k in (0, 1)
        )
        for batch in chunks(candidates):
            conn.execute(insert(t["candidate"]), batch)
        comparisons = (
            {
                "id": c + 1,
                "campaign_id": 1,
                "item_id": c + 1,
                "candidate_a_id": 2 * c + 1,
                "candidate_b_id": 2 * c + 2,
                "open_slots": 0,
                "vote_count": 3,
            }
            for c in range(n_comparisons)
        )
        for batch in chunks(comparisons):
            conn.execute(insert(t["comparison"]), batch)

        def plan():  # type: ignore[no-untyped-def]
            for n in range(n_votes):
                c = n // 3
                yield n + 1, c, 1000 + (c + n % 3) % ANNOTATORS

        assignments = []
        votes = []
        for vote_id, c, annotator in plan():
            a, b = 2 * c + 1, 2 * c + 2
            left, right = (a, b) if rng.random() < 0.5 else (b, a)
            roll = rng.random()
            outcome = "preference" if roll < 0.8 else ("tie" if roll < 0.9 else "both_bad")
            winner = loser = None
            if outcome == "preference":
                winner, loser = (b, a) if rng.random() < 0.7 else (a, b)
            at = now + timedelta(seconds=vote_id)
            assignments.append(
                {
                    "id": vote_id,
                    "public_id": f"a{vote_id:031x}",
                    "campaign_id": 1,
                    "comparison_id": c + 1,
                    "annotator_id": annotator,
                    "left_candidate_id": left,
                    "right_candidate_id": right,
                    "status": "completed",
                    "leased_at": at,
                    "lease_expires_at": at + timedelta(minutes=10),
                    "completed_at": at,
                }
            )
            votes.append(
                {
                    "id": vote_id,
                    "public_id": f"v{vote_id:031x}",
                    "assignment_id": vote_id,
                    "campaign_id": 1,
                    "comparison_id": c + 1,
                    "annotator_id": annotator,
                    "outcome": outcome,
                    "winner_candidate_id": winner,
                    "loser_candidate_id": loser,
                    "strength": rng.randint(1, 3) if winner else None,
                    "rationale": "",
                    "flags": {},
                    "answer": {},
                    "time_on_task_ms": rng.randint(2000, 60000),
                    "created_at": at,
                }
            )
            if len(votes) >= CHUNK:
                conn.execute(insert(t["assignment"]), assignments)
                conn.execute(insert(t["vote"]), votes)
                assignments, votes = [], []
        if votes:
            conn.execute(insert(t["assignment"]), assignments)
            conn.execute(insert(t["vote"]), votes)
        if conn.dialect.name == "postgresql":
            for table in ("user", "campaign", "item", "candidate", "comparison", "assignment", "vote"):
                sequence = f"pg_get_serial_sequence('\"{table}\"', 'id')"
                conn.exec_driver_sql(f'SELECT setval({sequence}, (SELECT max(id) FROM "{table}"))')
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("COMMIT")
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def _filled(url: str) -> bool:
    """True when the database already holds the benchmark campaign (a rerun with --database-url)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT count(*) FROM campaign WHERE slug = :slug"), {"slug": SLUG}
        ).scalar()
    engine.dispose()
    return bool(found)


def _release_child(fmt: str, weights: str) -> None:
    """Runs in a fresh interpreter: one release, then a JSON line with time and peak memory."""
    from app.campaigns.service import get_campaign
    from app.db import session_scope
    from app.releases import service
    from app.releases.schemas import ReleaseCreate

    started = time.perf_counter()
    with session_scope() as session:
        campaign = get_campaign(session, slug=SLUG)
        data = ReleaseCreate.model_validate({"formats": [fmt], "filters": {"annotator_weights": weights}})
        release, _ = service.create_release(session, campaign=campaign, data=data, user=None)
        files = {f["name"]: f for f in release.files}
    elapsed = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(
        json.dumps(
            {
                "format": fmt,
                "seconds": round(elapsed, 1),
                "peak_rss_mb": round(peak_kib / 1024, 1),
                "rows": files[f"{fmt}.parquet"]["rows"],
                "parquet_mb": round(files[f"{fmt}.parquet"]["bytes"] / 1e6, 1),
                "jsonl_mb": round(files[f"{fmt}.jsonl"]["bytes"] / 1e6, 1),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--votes", type=int, default=1_000_000)
    parser.add_argument(
        "--database-url",
        default="",
        help="an empty database, or one an earlier run filled (reused as it is); default: a new SQLite file",
    )
    parser.add_argument("--data-dir", default="", help="where the releases go (default: a temporary folder)")
    parser.add_argument(
        "--weights", default="dawid_skene", help="votes format's annotator_weight model, or none"
    )
    parser.add_argument("--formats", default="votes,pairwise")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _release_child(args.child, args.weights)
        return

    work = Path(tempfile.mkdtemp(prefix="preflab-export-bench-"))
    url = args.database_url or f"sqlite:///{work / 'bench.db'}"
    env = {**os.environ, "PREFLAB_DATABASE_URL": url, "PREFLAB_DATA_DIR": args.data_dir or str(work / "data")}
    os.environ.update(env)
    from app.cli import upgrade_database
    from app.config import get_settings

    get_settings.cache_clear()
    upgrade_database()
    backend = "postgres" if url.startswith("postgresql") else "sqlite"
    if _filled(url):
        print(f"reusing the benchmark campaign in {url}", file=sys.stderr)
    else:
        started = time.perf_counter()
        _fill(url, args.votes, args.seed)
        fill_s = time.perf_counter() - started
        print(f"filled {backend} with {args.votes:,} votes in {fill_s:.0f} s ({url})", file=sys.stderr)
    results = []
    for fmt in args.formats.split(","):
        argv = [sys.executable, __file__, "--child", fmt, "--weights", args.weights]
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"release of {fmt} failed:\n{done.stderr[-3000:]}")
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"\n{args.votes:,} votes on {backend}, annotator_weight: {args.weights}\n")
    print("| format | rows | time (s) | peak RSS (MB) | parquet (MB) | jsonl (MB) |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['format']} | {r['rows']:,} | {r['seconds']} | {r['peak_rss_mb']} | {r['parquet_mb']} | "
            f"{r['jsonl_mb']} |"
        )


if __name__ == "__main__":
    main()
