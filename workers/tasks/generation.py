"""Candidate generation jobs: for a campaign's items x chosen systems, n samples each."""

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign
from app.config import get_settings
from app.db import session_scope
from app.errors import DomainError, Unavailable
from app.generation.requests import GenerateRequest
from app.items import service as items_service
from app.items.models import Candidate, Item
from app.media import service as media_service
from app.media.models import MediaFile
from app.rewards import flows as rewards_flows
from app.rewards import service as rewards_service
from workers.celery_app import celery_app
from workers.job_runner import JobContext, JobFailed, run_job

if TYPE_CHECKING:
    from app.generation import Generation

BATCH = 8


@celery_app.task(name="preflab.generation.generate")
def generate(job_id: str) -> dict[str, Any]:
    return run_job(job_id, _generate)


def _generate(ctx: JobContext) -> tuple[dict[str, Any], str]:
    from app.generation import GenerationError, Message, make_provider

    request = GenerateRequest.model_validate(ctx.params)
    settings = get_settings()
    with session_scope() as session:
        campaign = session.get(Campaign, ctx.campaign_id)
        if campaign is None:
            raise JobFailed("the campaign was deleted")
        query = (
            select(Item.id, Item.external_id, Item.prompt)
            .where(Item.campaign_id == campaign.id)
            .order_by(Item.id)
        )
        if request.item_ids is not None:
            query = query.where(Item.external_id.in_(request.item_ids))
        items = session.execute(query).all()
        # Samples this job already stored (a rerun after a crash starts where it stopped).
        done = {
            (item_id, meta.get("system_spec"), meta.get("sample"))
            for item_id, meta in session.execute(
                select(Candidate.item_id, Candidate.meta).join(Item).where(Item.campaign_id == campaign.id)
            )
            if isinstance(meta, dict) and meta.get("job") == ctx.job_id
        }
    if not items:
        raise JobFailed("no items to generate for (check item_ids)")

    total = len(items) * len(request.systems)
    finished = added = comparisons = dropped = 0
    for spec in request.systems:
        try:
            # Media outputs are written beside the store, so that they need no copy across filesystems.
            provider = make_provider(spec.provider, output_dir=media_service.scratch_dir(settings))
        except GenerationError as exc:
            raise JobFailed(f"{spec.name}: {exc}") from exc
        for start in range(0, len(items), BATCH):
            batch = [it for it in items[start : start + BATCH] if (it.id, spec.name, 0) not in done]
            if batch:
                conversations = [[Message(role="user", content=it.prompt)] for it in batch]
                try:
                    outputs = provider.generate_batch(conversations, request.params)
                except GenerationError as exc:
                    raise JobFailed(f"{spec.name}: {exc}") from exc
                try:
                    with session_scope() as session:
                        campaign = session.get_one(Campaign, ctx.campaign_id)
                        for it, samples in zip(batch, outputs, strict=True):
                            item = session.get_one(Item, it.id)
                            rows = _candidates(session, samples, job_id=ctx.job_id, system=spec.name)
                            new, pairs = items_service.add_candidates(
                                session, campaign=campaign, item=item, candidates=rows
                            )
                            added, comparisons, dropped = (
                                added + new,
                                comparisons + pairs,
                                dropped + len(samples) - new,
                            )
                finally:
                    for samples in outputs:
                        for g in samples:
                            if g.media_path is not None:
                                media_service.discard(g.media_path)
            finished += len(items[start : start + BATCH])
            ctx.progress(finished / total, f"{spec.name}: {finished} of {total} item-system pairs")
    result: dict[str, Any] = {"candidates": added, "comparisons": comparisons, "duplicates_dropped": dropped}
    message = f"{added} candidates, {comparisons} new comparisons ({dropped} duplicates dropped)"
    if added:
        scoring = _score_with_active_model(ctx)
        if scoring is not None:
            result["scoring_job"] = scoring
            message += "; scoring them with the active reward model"
    return result, message


def _candidates(
    session: Session, samples: list["Generation"], *, job_id: str, system: str
) -> list[items_service.NewCandidate]:
    """A provider's outputs as candidates: text as content, a media file stored (once per content) and
    attached. Outputs with neither are dropped like duplicates."""
    settings = get_settings()
    rows = []
    for k, g in enumerate(samples):
        media: tuple[MediaFile, ...] = ()
        if g.media_path is not None:
            try:
                media = (media_service.store_path(session, path=g.media_path, settings=settings),)
            except DomainError as exc:
                raise JobFailed(f"{system}: sample {k}: {exc.message}") from exc
        if not g.content and not media:
            continue
        meta = _metadata(g, job_id=job_id, system=system, sample=k)
        rows.append(
            items_service.NewCandidate(system=system, content=g.content or "", meta=meta, media=media)
        )
    return rows


def _score_with_active_model(ctx: JobContext) -> str | None:
    """New candidates get the campaign's active reward model's scores, in a job of their own."""
    with session_scope() as session:
        active = rewards_service.active_version(session, campaign_id=ctx.campaign_id or 0)
        if active is None:
            return None
        try:
            job = rewards_flows.start_scoring(session, model=active, user=None)
        except Unavailable:
            # The candidates are stored; the scoring job is on the jobs page, failed, to retry.
            return None
        return job.public_id


def _metadata(generation: Any, *, job_id: str, system: str, sample: int) -> dict[str, Any]:
    return {
        "job": job_id,
        "system_spec": system,
        "sample": sample,
        "generation": {
            "provider": generation.provider,
            "model": generation.model,
            "params": generation.params,
            "latency_ms": generation.latency_ms,
            "prompt_tokens": generation.prompt_tokens,
            "completion_tokens": generation.completion_tokens,
            "seed": generation.seed,
            "finish_reason": generation.finish_reason,
        },
    }
