"""Reward-model jobs: train a version on a campaign's votes, score a campaign's candidates."""

from pathlib import Path
from typing import Any

from sqlalchemy import exists, func, select

from app.campaigns.models import Campaign
from app.config import get_settings
from app.db import session_scope
from app.items.models import Candidate, Item
from app.jobs.models import Job
from app.media.models import CandidateMedia
from app.rewards import service, training_data
from app.rewards.models import RewardModel
from app.rewards.schemas import TrainRequest
from app.selection.config import prioritises_reward_data, selection_config
from app.selection.flows import start_prioritising
from workers.celery_app import celery_app
from workers.job_runner import JobContext, JobFailed, run_job

MIN_PAIRS = 10
SCORE_BATCH = 64


@celery_app.task(name="preflab.rewards.train")
def train(job_id: str) -> dict[str, Any]:
    return run_job(job_id, _train)


@celery_app.task(name="preflab.rewards.score")
def score(job_id: str) -> dict[str, Any]:
    return run_job(job_id, _score)


def _train(ctx: JobContext) -> tuple[dict[str, Any], str]:
    request = TrainRequest.model_validate({**ctx.params, "queue": "cpu"})
    with session_scope() as session:
        campaign = session.get(Campaign, ctx.campaign_id)
        if campaign is None:
            raise JobFailed("the campaign was deleted")
        rows = list(
            training_data.iter_preference_pairs(
                session,
                campaign=campaign,
                weight_by_strength=request.weight_by_strength,
                include_judge=request.include_judge,
                judge_weight=request.judge_weight,
                weighting=request.weighting,
            )
        )
        rated = (
            list(
                training_data.iter_rated_responses(
                    session, campaign=campaign, include_judge=request.include_judge
                )
            )
            if request.head != "bt"
            else []
        )
    if request.head != "bt" and not rated:
        raise JobFailed(f"the {request.head} head needs rated outputs; this campaign's votes have no ratings")
    if len(rows) < MIN_PAIRS:
        raise JobFailed(
            f"the campaign has {len(rows)} preference votes; at least {MIN_PAIRS} are needed to train"
        )
    # torch loads only once there is something to train.
    from workers.ml.reward import PreferencePair, RatedResponse, TrainConfig, split_by_prompt
    from workers.ml.reward import train as train_model

    pairs = [PreferencePair(**row) for row in rows]
    train_pairs, held_out = split_by_prompt(
        pairs, held_out_fraction=request.held_out_fraction, seed=request.seed
    )
    if not train_pairs or not held_out:
        raise JobFailed("the votes cover too few items to hold some out; collect votes on more items")
    config = TrainConfig(
        encoder=request.encoder,
        head=request.head,
        epochs=request.epochs,
        lr=request.lr,
        batch_size=request.batch_size,
        max_length=request.max_length,
        seed=request.seed,
        weight_by_strength=request.weight_by_strength,
        lora=request.lora,
        device=request.device,
    )
    out_dir = Path(get_settings().data_dir).resolve() / "reward_models" / ctx.job_id
    ctx.progress(0.02, f"training on {len(train_pairs)} pairs, {len(held_out)} held out")
    result = train_model(
        train_pairs,
        held_out,
        config,
        progress=lambda fraction, message, point: ctx.progress(0.02 + 0.96 * fraction, message, point),
        should_stop=ctx.should_stop,
        out_dir=out_dir,
        ratings=[RatedResponse(**row) for row in rated] or None,
    )
    data_snapshot = training_data.snapshot(rows) | {
        "n_train": len(train_pairs),
        "n_held_out": len(held_out),
        "n_rated": len(rated),
    }
    with session_scope() as session:
        job = session.scalar(select(Job).where(Job.public_id == ctx.job_id))
        model = service.record_version(
            session,
            campaign_id=ctx.campaign_id or 0,
            job=job,
            config=request.model_dump(exclude={"queue"}),
            data_snapshot=data_snapshot,
            metrics=dict(result.metrics),
            curve=list(result.curve),
            artifact_path=str(result.artifact_dir),
        )
        public_id, version = model.public_id, model.version
    accuracy = result.metrics.get("accuracy")
    summary = f"version {version} trained" + (
        f": held-out accuracy {accuracy:.3f}" if accuracy is not None else ""
    )
    return {"reward_model": public_id, "version": version, "metrics": dict(result.metrics)}, summary


def _score(ctx: JobContext) -> tuple[dict[str, Any], str]:
    from workers.ml.reward import load_reward_model

    with session_scope() as session:
        model = service.get_version(session, public_id=str(ctx.params["reward_model"]))
        artifact, model_id = model.artifact_path, model.id
        has_media = exists().where(CandidateMedia.candidate_id == Candidate.id)
        rows = session.execute(
            select(Candidate.id, Item.prompt, Candidate.content)
            .join(Item, Item.id == Candidate.item_id)
            # The reward models read text: a candidate that is an image or a clip gets no score.
            .where(Item.campaign_id == model.campaign_id, ~has_media)
            .order_by(Candidate.id)
        ).all()
        n_media = session.scalar(
            select(func.count())
            .select_from(Candidate)
            .join(Item, Item.id == Candidate.item_id)
            .where(Item.campaign_id == model.campaign_id, has_media)
        )
    if not Path(artifact).is_dir():
        raise JobFailed(f"the model's files are missing at {artifact}; retrain it")
    reward_model = load_reward_model(artifact)
    scores: dict[int, float] = {}
    for start in range(0, len(rows), SCORE_BATCH):
        batch = rows[start : start + SCORE_BATCH]
        values = reward_model.score([r.prompt for r in batch], [r.content for r in batch])
        scores.update({r.id: float(v) for r, v in zip(batch, values, strict=True)})
        ctx.progress(len(scores) / max(len(rows), 1), f"scored {len(scores)} of {len(rows)} candidates")
    with session_scope() as session:
        model_row = session.get_one(RewardModel, model_id)
        stored = service.store_scores(session, model=model_row, scores=scores)
        campaign = session.get(Campaign, model_row.campaign_id)
        follow_up = (
            campaign is not None
            and model_row.is_active
            and prioritises_reward_data(selection_config(campaign))
        )
    result: dict[str, Any] = {"scored": stored, "skipped_media": n_media or 0}
    if follow_up:
        # New scores move the margins the reward-data order rests on: order the open comparisons again.
        with session_scope() as session:
            campaign = session.get_one(Campaign, model_row.campaign_id)
            result["prioritise_job"] = start_prioritising(session, campaign=campaign, user=None).public_id
    skipped = f"; {n_media} media candidates skipped (the model reads text)" if n_media else ""
    return result, f"scored {stored} candidates{skipped}"
