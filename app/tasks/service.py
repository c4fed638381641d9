"""Rubric versions and what a task page is told about its campaign's task kind."""

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign, TaskKind
from app.errors import Invalid
from app.tasks.config import task_config
from app.tasks.models import Rubric
from app.tasks.schemas import HELPSTEER2, Aspect, ChecklistQuestion, RubricRead, RubricSpec, TaskView


def current_rubric(session: Session, *, campaign_id: int) -> Rubric | None:
    return session.scalar(
        select(Rubric).where(Rubric.campaign_id == campaign_id).order_by(Rubric.version.desc()).limit(1)
    )


def rubric_in_use(session: Session, *, rubric: Rubric) -> bool:
    from app.voting.models import Vote  # voting imports this module

    return bool(session.scalar(select(exists().where(Vote.rubric_id == rubric.id))))


def set_rubric(session: Session, *, campaign: Campaign, spec: RubricSpec) -> Rubric:
    """Makes `spec` the campaign's rubric. The current version is edited in place while no vote has
    used it; once one has, it is frozen and the change becomes the next version."""
    if campaign.task_kind not in (TaskKind.rating, TaskKind.pairwise):
        raise Invalid(
            f"a {campaign.task_kind.value} campaign takes no rubric; rating and pairwise campaigns do",
            field="aspects",
        )
    aspects = [a.model_dump(mode="json") for a in spec.aspects]
    current = current_rubric(session, campaign_id=campaign.id)
    if current is not None and current.aspects == aspects:
        return current
    if current is not None and not rubric_in_use(session, rubric=current):
        current.aspects = aspects
        session.flush()
        return current
    version = (
        session.scalar(select(func.max(Rubric.version)).where(Rubric.campaign_id == campaign.id)) or 0
    ) + 1
    rubric = Rubric(campaign_id=campaign.id, version=version, aspects=aspects)
    session.add(rubric)
    session.flush()
    return rubric


def default_rubric(campaign: Campaign) -> RubricSpec | None:
    """Rating campaigns start with HelpSteer2's five aspects; pairwise ones rate only when asked."""
    return HELPSTEER2 if campaign.task_kind == TaskKind.rating else None


def rubric_read(session: Session, *, rubric: Rubric) -> RubricRead:
    return RubricRead(
        version=rubric.version,
        aspects=[Aspect.model_validate(a) for a in rubric.aspects],
        in_use=rubric_in_use(session, rubric=rubric),
    )


def rubric_versions(session: Session, *, campaign_id: int) -> list[Rubric]:
    return list(
        session.scalars(select(Rubric).where(Rubric.campaign_id == campaign_id).order_by(Rubric.version))
    )


def task_view(campaign: Campaign, *, rubric: Rubric | None, questions: list[dict[str, str]]) -> TaskView:
    config = task_config(campaign)
    return TaskView(
        kind=campaign.task_kind.value,
        rubric_version=rubric.version if rubric else None,
        aspects=[Aspect.model_validate(a) for a in rubric.aspects] if rubric else [],
        rate=config.rate,
        segment_mode=config.segment_mode,
        window_s=config.window_s,
        taxonomy=config.taxonomy if campaign.task_kind == TaskKind.segment else [],
        min_listen_s=config.min_listen_s,
        questions=[ChecklistQuestion.model_validate(q) for q in questions],
    )
