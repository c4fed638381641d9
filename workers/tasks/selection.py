"""Reward-data selection: order a campaign's open comparisons by what a label on each would teach the
active reward model (app/selection/reward_data.py), and hand that order to the assignment service as
priorities, which it already serves highest first."""

from typing import Any

import numpy as np
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import aliased

from app.campaigns.models import Campaign
from app.db import session_scope
from app.items.models import Candidate, Comparison, Item
from app.rewards import service as rewards_service
from app.rewards.models import CandidateScore
from app.selection.config import prioritises_reward_data, selection_config
from app.selection.reward_data import CandidatePool, next_candidate
from workers.celery_app import celery_app
from workers.job_runner import JobContext, JobFailed, run_job

# Comparisons ordered per run; the rest keep priority 0 and follow in import order. Greedy picks cost
# O(m d) each, so this bounds a run to seconds on 100k open comparisons.
MAX_RANKED = 2000
_a, _b = aliased(Candidate), aliased(Candidate)


@celery_app.task(name="preflab.selection.prioritise")
def prioritise(job_id: str) -> dict[str, Any]:
    return run_job(job_id, _prioritise)


def _prioritise(ctx: JobContext) -> tuple[dict[str, Any], str]:
    from workers.ml.reward.sketch import sketch  # the model's own features, folded small

    with session_scope() as session:
        campaign = session.get(Campaign, ctx.campaign_id)
        if campaign is None:
            raise JobFailed("the campaign was deleted")
        config = selection_config(campaign)
        if not prioritises_reward_data(config):
            raise JobFailed("the campaign's selection no longer asks for reward-model data")
        rows = session.execute(
            select(
                Comparison.id,
                Comparison.open_slots,
                Comparison.vote_count,
                Item.prompt,
                _a.id,
                _a.content,
                _b.id,
                _b.content,
            )
            .join(Item, Item.id == Comparison.item_id)
            .join(_a, _a.id == Comparison.candidate_a_id)
            .join(_b, _b.id == Comparison.candidate_b_id)
            .where(Comparison.campaign_id == campaign.id, Comparison.pair_key.is_not(None))
            .order_by(Comparison.id)
        ).all()
        active = rewards_service.active_version(session, campaign_id=campaign.id)
        scores: dict[int, float] = {}
        if active is not None:
            scores = dict(
                session.execute(
                    select(CandidateScore.candidate_id, CandidateScore.score).where(
                        CandidateScore.reward_model_id == active.id
                    )
                ).all()
            )
        version = active.version if active is not None else None
    open_rows = [r for r in rows if r.open_slots > 0]
    labelled = [r for r in rows if r.vote_count > 0]
    if not open_rows:
        return {"prioritised": 0, "open": 0}, "no open comparisons to order"
    ctx.progress(0.1, f"{len(open_rows)} open comparisons, {len(labelled)} labelled")

    def features(batch: list[Any]) -> np.ndarray:
        return np.array([sketch(r.prompt, r[5]) - sketch(r.prompt, r[7]) for r in batch])

    def margins(batch: list[Any]) -> np.ndarray | None:
        if not scores:
            return None
        # Unscored pairs count as a toss-up: the model knows nothing of them yet.
        return np.array([scores.get(r[4], 0.0) - scores.get(r[6], 0.0) for r in batch])

    pool = CandidatePool.build(
        features(open_rows),
        margins=margins(open_rows),
        extra_features=features(labelled) if labelled else None,
        extra_margins=margins(labelled) if labelled else None,
    )
    rng = np.random.default_rng()
    order: list[int] = []
    for _ in range(min(MAX_RANKED, len(open_rows))):
        row = next_candidate(pool, uniform_fraction=config.uniform_fraction, rng=rng)
        if row is None:
            break
        order.append(row)
        if ctx.should_stop():
            break
    ctx.progress(0.8, f"ordered {len(order)}; writing priorities")
    priority_of = {open_rows[row][0]: len(order) - rank for rank, row in enumerate(order)}
    with session_scope() as session:
        session.execute(
            update(Comparison)
            .where(Comparison.campaign_id == ctx.campaign_id, Comparison.open_slots > 0)
            .values(priority=0)
        )
        if priority_of:
            table = Comparison.__table__
            session.connection().execute(
                update(table).where(table.c.id == bindparam("b_id")).values(priority=bindparam("b_priority")),
                [{"b_id": cid, "b_priority": p} for cid, p in priority_of.items()],
            )
    uniform = int(pool.uniform.sum())
    result = {
        "prioritised": len(order),
        "open": len(open_rows),
        "labelled": len(labelled),
        "uniform": uniform,
        "reward_model_version": version,
        "first": [open_rows[row][0] for row in order[:20]],
    }
    model = f"reward model v{version}" if version is not None else "no reward model yet (features only)"
    return result, f"ordered {len(order)} of {len(open_rows)} open comparisons ({uniform} uniform) by {model}"
