"""Live selection latency: how long the assignment service takes to pick and lease the next comparison
of an active-selection campaign, with 100 systems and 10,000 comparisons (one per item, random system
pairs), after a few thousand votes.

Measures, on a throwaway database (SQLite in a temp folder by default, or --database-url):
- `choose_pair_key` with the posterior cached (what most requests pay: refresh_s = 2 s),
- the same when the posterior is rebuilt from the votes' counts (once per process and refresh period),
- `next_assignment` end to end (pick, claim, lease, render), each rolled back so the pool stays as it
  was. Seeded votes are random (latency does not depend on who wins).
Prints a Markdown table of p50/p99 in milliseconds.

    .venv/bin/python benchmarks/selection_live.py [--picks 300] [--votes 3000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _ms(times: list[float]) -> list[str]:
    ordered = sorted(times)
    return [f"{1000 * ordered[len(ordered) // 2]:.2f}", f"{1000 * ordered[int(len(ordered) * 0.99) - 1]:.2f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--systems", type=int, default=100)
    parser.add_argument("--comparisons", type=int, default=10_000)
    parser.add_argument("--votes", type=int, default=3_000)
    parser.add_argument("--picks", type=int, default=300)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="preflab-selection-")
    os.environ["PREFLAB_DATA_DIR"] = folder
    os.environ["PREFLAB_DATABASE_URL"] = args.database_url or f"sqlite:///{folder}/bench.db"

    from app.campaigns.models import Campaign
    from app.cli import upgrade_database
    from app.db import session_scope
    from app.items.service import import_items
    from app.selection import live
    from app.selection.config import SelectionConfig
    from app.voting import service
    from app.voting.schemas import VoteCreate
    from tests.factories import make_campaign, make_user

    upgrade_database()
    rng = random.Random(0)
    lines = []
    for i in range(args.comparisons):
        a, b = rng.sample(range(args.systems), 2)
        lines.append(
            json.dumps(
                {
                    "id": f"q{i}",
                    "prompt": f"prompt {i}",
                    "candidates": [
                        {"system": f"sys{a:03d}", "content": f"a{i}"},
                        {"system": f"sys{b:03d}", "content": f"b{i}"},
                    ],
                }
            )
        )
    config = SelectionConfig(strategy="active", uniform_fraction=0.1, refresh_s=2.0)
    with session_scope() as session:
        campaign = make_campaign(session, slug="bench", overlap=3, selection=config.model_dump())
        import_items(session, campaign=campaign, lines=lines)
        voters = [make_user(session, f"voter{k}@bench.test") for k in range(3)]
        reader = make_user(session, "reader@bench.test")
        campaign_id = campaign.id
    started = time.perf_counter()
    with session_scope() as session:
        campaign = session.get(Campaign, campaign_id)
        for k in range(args.votes):
            voter = voters[k % len(voters)]
            task = service.next_assignment(session, campaign=campaign, annotator=voter)
            if task is None:
                break
            service.cast_vote(
                session,
                assignment_id=task.assignment_id,
                annotator=voter,
                data=VoteCreate(outcome="a" if rng.random() < 0.5 else "b"),
                idempotency_key=None,
            )
            if k % 200 == 0:
                session.commit()
    seeded_s = time.perf_counter() - started

    rows = []
    with session_scope() as session:
        campaign = session.get(Campaign, campaign_id)
        user = session.merge(reader)
        times = []
        for _ in range(args.picks):
            start = time.perf_counter()
            live.choose_pair_key(session, campaign=campaign, config=config)
            times.append(time.perf_counter() - start)
        rows.append(["choose_pair_key, posterior cached", *_ms(times)])
        times = []
        for _ in range(max(20, args.picks // 10)):
            live.forget(campaign.id)
            start = time.perf_counter()
            live.choose_pair_key(session, campaign=campaign, config=config)
            times.append(time.perf_counter() - start)
        rows.append(["choose_pair_key, posterior rebuilt from the votes", *_ms(times)])
    times = []
    for _ in range(args.picks):
        with session_scope() as session:
            campaign = session.get(Campaign, campaign_id)
            user = session.merge(reader)
            start = time.perf_counter()
            service.next_assignment(session, campaign=campaign, annotator=user)
            times.append(time.perf_counter() - start)
            session.rollback()
    rows.append(["next_assignment end to end (pick, claim, lease, render)", *_ms(times)])

    backend = "postgres" if args.database_url else "sqlite"
    print(
        f"\n{args.systems} systems, {args.comparisons:,} comparisons, {args.votes:,} votes seeded in "
        f"{seeded_s:.0f} s, {backend}\n"
    )
    print("| what | p50 ms | p99 ms |\n|---|---|---|")
    for row in rows:
        print(f"| {row[0]} | {row[1]} | {row[2]} |")


if __name__ == "__main__":
    main()
