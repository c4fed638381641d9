"""Quality control on the vote path: who may get work, which known-answer unit comes next, scoring.

The voting service calls `admit` and `known_answer_unit` from `next_assignment`, and `after_vote` from
`cast_vote`, only when the campaign's `quality` is not `{}`. Gold and qualification units have no open
slots (see items.service): every annotator may get each once, apart from the overlap the data needs.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, cast, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.models import User
from app.campaigns.models import Campaign, TaskKind
from app.db import utcnow
from app.errors import Forbidden, NotFound
from app.items.models import Candidate, Comparison, Item
from app.qc.models import AnnotatorStatus, CampaignAnnotator, ItemRole, QualificationStatus
from app.qc.schemas import AnnotatorRead, QualityConfig, QualitySummary, quality_config, stored_quality
from app.voting.models import Assignment, Outcome, Vote

# Seeded in tests to check the mixing rate; a SystemRandom would leak nothing more, as the pick
# only chooses between units the annotator could get anyway.
rng = random.Random()

NOT_READY_MESSAGE = "This campaign's qualification test is not ready yet; please come back later."


@dataclass(frozen=True)
class Admission:
    config: QualityConfig
    standing: CampaignAnnotator


def standing_of(session: Session, *, campaign_id: int, annotator_id: int) -> CampaignAnnotator:
    """The annotator's row for the campaign, made on first use (a concurrent first use is harmless)."""
    row = session.scalar(
        select(CampaignAnnotator).where(
            CampaignAnnotator.campaign_id == campaign_id, CampaignAnnotator.annotator_id == annotator_id
        )
    )
    if row is not None:
        return row
    now = utcnow()
    dialect = session.get_bind().dialect.name
    values = {
        "campaign_id": campaign_id,
        "annotator_id": annotator_id,
        "status": AnnotatorStatus.active,
        "paused_reason": "",
        "qualification_status": QualificationStatus.pending,
        "qualification_answered": 0,
        "qualification_correct": 0,
        "gold_answered": 0,
        "gold_correct": 0,
        "data_votes": 0,
        "created_at": now,
        "updated_at": now,
    }
    make_insert = postgres_insert if dialect == "postgresql" else sqlite_insert
    session.execute(make_insert(CampaignAnnotator).values(values).on_conflict_do_nothing())
    return session.scalars(
        select(CampaignAnnotator)
        .where(CampaignAnnotator.campaign_id == campaign_id, CampaignAnnotator.annotator_id == annotator_id)
        .execution_options(populate_existing=True)
    ).one()


def admit(session: Session, *, campaign: Campaign, annotator: User) -> Admission:
    """Raises Forbidden (with the message the annotator reads) when they may not get work here."""
    config = quality_config(campaign)
    standing = standing_of(session, campaign_id=campaign.id, annotator_id=annotator.id)
    if standing.status == AnnotatorStatus.paused:
        raise Forbidden(standing.paused_reason or config.pause_message)
    if config.qualification_required and standing.qualification_status == QualificationStatus.failed:
        raise Forbidden(config.qualification_message)
    return Admission(config=config, standing=standing)


def quota_reached(admission: Admission) -> bool:
    quota = admission.config.quota
    return quota is not None and admission.standing.data_votes >= quota


def _unseen_units(session: Session, *, campaign_id: int, annotator_id: int, role: ItemRole) -> list[int]:
    seen = select(Assignment.comparison_id).where(
        Assignment.annotator_id == annotator_id, Assignment.campaign_id == campaign_id
    )
    return list(
        session.scalars(
            select(Comparison.id)
            .join(Item, Item.id == Comparison.item_id)
            .where(
                Comparison.campaign_id == campaign_id,
                Item.role == role.value,
                Comparison.id.not_in(seen),
            )
            .order_by(Comparison.id)
        )
    )


def _count_units(session: Session, *, campaign_id: int, role: ItemRole) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Comparison)
            .join(Item, Item.id == Comparison.item_id)
            .where(Comparison.campaign_id == campaign_id, Item.role == role.value)
        )
        or 0
    )


def known_answer_unit(
    session: Session,
    *,
    campaign: Campaign,
    annotator: User,
    admission: Admission,
    data_left: Callable[[], bool],
) -> int | None:
    """The qualification or gold comparison to lease next, or None for an ordinary one.

    Raises Forbidden when a required test is failed now or has no items yet. `data_left()` says
    whether an ordinary unit is open for the annotator: gold alone is never served, so that an
    annotator cannot tell gold by its being the only thing left.
    """
    config, standing = admission.config, admission.standing
    if config.qualification_required and standing.qualification_status == QualificationStatus.pending:
        unseen = _unseen_units(
            session, campaign_id=campaign.id, annotator_id=annotator.id, role=ItemRole.qualification
        )
        if unseen:
            return unseen[0]
        _judge_qualification(session, config=config, standing=standing, campaign_id=campaign.id)
    if config.gold_rate > 0 and rng.random() < config.gold_rate and data_left():
        unseen = _unseen_units(
            session, campaign_id=campaign.id, annotator_id=annotator.id, role=ItemRole.gold
        )
        if unseen:
            return rng.choice(unseen)
    return None


def _judge_qualification(
    session: Session, *, config: QualityConfig, standing: CampaignAnnotator, campaign_id: int
) -> None:
    """Every qualification unit was handed out: pass or fail (an unanswered one counts as wrong)."""
    total = _count_units(session, campaign_id=campaign_id, role=ItemRole.qualification)
    if total == 0:
        raise Forbidden(NOT_READY_MESSAGE)
    _verdict(standing, config=config, total=total)
    session.flush()
    if standing.qualification_status == QualificationStatus.failed:
        raise Forbidden(config.qualification_message)


def _verdict(standing: CampaignAnnotator, *, config: QualityConfig, total: int) -> None:
    score = standing.qualification_correct / total
    standing.qualification_score = score
    passed = score >= config.qualification_min_accuracy
    standing.qualification_status = QualificationStatus.passed if passed else QualificationStatus.failed


def after_vote(session: Session, *, campaign: Campaign, vote: Vote, now: datetime) -> None:
    """Counts the vote for the quota, or scores it against the known answer and applies the rules."""
    role, gold_answer, item_id = session.execute(
        select(Item.role, Item.gold_answer, Item.id)
        .join(Comparison, Comparison.item_id == Item.id)
        .where(Comparison.id == vote.comparison_id)
    ).one()
    standing = standing_of(session, campaign_id=campaign.id, annotator_id=vote.annotator_id)
    if role == ItemRole.data.value:
        standing.data_votes += 1
        session.flush()
        return
    systems = dict(
        session.execute(select(Candidate.id, Candidate.system).where(Candidate.item_id == item_id)).all()
    )
    public = dict(
        session.execute(
            select(Candidate.public_id, Candidate.system).where(Candidate.item_id == item_id)
        ).all()
    )
    correct = score_vote(campaign.task_kind, gold_answer or {}, vote=vote, systems=systems, public=public)
    vote.gold_correct = correct
    config = quality_config(campaign)
    if role == ItemRole.qualification.value:
        standing.qualification_answered += 1
        standing.qualification_correct += int(correct)
        total = _count_units(session, campaign_id=campaign.id, role=ItemRole.qualification)
        if (
            standing.qualification_status == QualificationStatus.pending
            and standing.qualification_answered >= total
        ):
            # Judged here, in the vote's transaction, so the verdict is stored (a refused `next` rolls
            # back); `known_answer_unit` judges only when a lease on a test unit expired unanswered.
            _verdict(standing, config=config, total=total)
        session.flush()
        return
    standing.gold_answered += 1
    standing.gold_correct += int(correct)
    if (
        standing.status == AnnotatorStatus.active
        and config.min_gold_accuracy is not None
        and standing.gold_answered >= config.min_gold_answers
        and standing.gold_correct / standing.gold_answered < config.min_gold_accuracy
    ):
        standing.status = AnnotatorStatus.paused
        standing.paused_reason = config.pause_message
        standing.paused_at = now
    session.flush()


def score_vote(
    kind: TaskKind, gold: dict[str, Any], *, vote: Vote, systems: dict[int, str], public: dict[str, str]
) -> bool:
    """Whether the vote matches the known answer. `systems` maps candidate ids, `public` public ids,
    to system names."""
    answer = vote.answer or {}
    if kind in (TaskKind.pairwise, TaskKind.arena):
        if "winner" in gold:
            return (
                vote.outcome == Outcome.preference
                and vote.winner_candidate_id is not None
                and systems.get(vote.winner_candidate_id) == gold["winner"]
            )
        return vote.outcome is not None and vote.outcome.value == gold.get("outcome")
    if kind == TaskKind.single:
        return answer.get("thumb") == gold.get("thumb")
    if kind == TaskKind.checklist:
        given = answer.get("checklist") or {}
        return all(given.get(qid) == expected for qid, expected in (gold.get("answers") or {}).items())
    if kind == TaskKind.rating:
        tolerance = int(gold.get("tolerance", 1))
        rated = answer.get("ratings") or {}
        if not rated:
            return False
        return all(
            aspect in values and abs(values[aspect] - expected) <= tolerance
            for values in rated.values()
            for aspect, expected in (gold.get("ratings") or {}).items()
        )
    if kind == TaskKind.ranking:
        ranking = answer.get("ranking") or []
        return bool(ranking) and len(ranking[0]) == 1 and public.get(ranking[0][0]) == gold.get("best")
    return False


# --- researcher and admin side ------------------------------------------------------------------


def summary(session: Session, *, campaign: Campaign) -> QualitySummary:
    return QualitySummary(
        config=quality_config(campaign),
        gold_items=_count_items(session, campaign_id=campaign.id, role=ItemRole.gold),
        qualification_items=_count_items(session, campaign_id=campaign.id, role=ItemRole.qualification),
    )


def _count_items(session: Session, *, campaign_id: int, role: ItemRole) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Item)
            .where(Item.campaign_id == campaign_id, Item.role == role.value)
        )
        or 0
    )


def set_config(
    session: Session, *, campaign: Campaign, config: QualityConfig, by: User | None = None
) -> QualitySummary:
    campaign.quality = stored_quality(config)
    audit.record(
        session,
        actor=by,
        action="qc.settings",
        target_type="campaign",
        target_id=campaign.slug,
        details={"quality": campaign.quality},
    )
    session.flush()
    return summary(session, campaign=campaign)


def list_annotators(session: Session, *, campaign: Campaign) -> list[AnnotatorRead]:
    """Everyone who voted or asked for work in the campaign, with gold accuracy and standing."""
    config = quality_config(campaign)
    counts = {
        annotator_id: (votes, gold_votes or 0, gold_right or 0)
        for annotator_id, votes, gold_votes, gold_right in session.execute(
            select(
                Vote.annotator_id,
                func.count(Vote.id),
                func.count(Vote.gold_correct),
                func.sum(cast(Vote.gold_correct, Integer)),
            )
            .where(Vote.campaign_id == campaign.id)
            .group_by(Vote.annotator_id)
        ).all()
    }
    standings = {
        row.annotator_id: row
        for row in session.scalars(
            select(CampaignAnnotator).where(CampaignAnnotator.campaign_id == campaign.id)
        )
    }
    ids = sorted(set(counts) | set(standings))
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    rows = []
    for annotator_id in ids:
        user = users[annotator_id]
        votes, gold_votes, gold_right = counts.get(annotator_id, (0, 0, 0))
        standing = standings.get(annotator_id)
        window_votes = standing.gold_answered if standing else 0
        rows.append(
            AnnotatorRead(
                pseudonym=user.pseudonym,
                kind=user.kind.value,
                status=standing.status.value if standing else AnnotatorStatus.active.value,
                paused_reason=standing.paused_reason if standing else "",
                paused_at=standing.paused_at if standing else None,
                resumed_at=standing.resumed_at if standing else None,
                votes=votes,
                data_votes=standing.data_votes if standing else votes - gold_votes,
                quota=config.quota,
                gold_votes=gold_votes,
                gold_correct=gold_right,
                gold_accuracy=gold_right / gold_votes if gold_votes else None,
                window_gold_votes=window_votes,
                window_gold_accuracy=standing.gold_correct / window_votes
                if standing and window_votes
                else None,
                qualification_status=(
                    (standing.qualification_status.value if standing else QualificationStatus.pending.value)
                    if config.qualification_required
                    else None
                ),
                qualification_score=standing.qualification_score if standing else None,
            )
        )
    return rows


def resume(session: Session, *, campaign: Campaign, pseudonym: str, by: User) -> CampaignAnnotator:
    """Lets a paused annotator work again. The pause rule then judges only gold votes from here on:
    the window counts restart at zero (the lifetime accuracy, from the votes, is kept)."""
    annotator_id = session.scalar(select(User.id).where(User.pseudonym == pseudonym))
    standing = (
        session.scalar(
            select(CampaignAnnotator).where(
                CampaignAnnotator.campaign_id == campaign.id, CampaignAnnotator.annotator_id == annotator_id
            )
        )
        if annotator_id is not None
        else None
    )
    if standing is None:
        raise NotFound(f"no annotator '{pseudonym}' in campaign '{campaign.slug}'")
    if standing.status != AnnotatorStatus.paused:
        return standing
    session.execute(
        update(CampaignAnnotator)
        .where(CampaignAnnotator.id == standing.id)
        .values(
            status=AnnotatorStatus.active,
            paused_reason="",
            resumed_at=utcnow(),
            resumed_by_id=by.id,
            gold_answered=0,
            gold_correct=0,
        )
        .execution_options(synchronize_session="fetch")
    )
    session.refresh(standing)
    audit.record(
        session,
        actor=by,
        action="qc.resume",
        target_type="campaign_annotator",
        target_id=standing.id,
        details={"campaign": campaign.slug, "annotator": pseudonym},
    )
    return standing
