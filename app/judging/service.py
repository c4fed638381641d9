"""LM judges: creating one (and the model annotator it votes as), prompt versions, the pairs left to
judge, and storing a judgement with its vote. No HTTP here; callers commit.

A judge's vote is written here rather than through voting.service: the judge labels the pairs a run
names (not the next one in the queue), must not take the slots that campaign overlap keeps for people,
and has been shown both orders, not one under a lease. It is still an ordinary Vote, on a completed
Assignment of the judge's own user (so one vote per judge and comparison, by the assignment's unique
key), and everything downstream flags it by that user's kind.
"""

from datetime import datetime

from pydantic import TypeAdapter
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased

from app.auth.models import Role, User, UserKind
from app.auth.service import create_user
from app.campaigns.models import Campaign
from app.db import utcnow
from app.errors import Conflict, Invalid, NotFound
from app.items.models import Candidate, Comparison, Item
from app.judging import prompts
from app.judging.models import JudgeLabel, Judgement, JudgePrompt, LMJudge, ShownVerdict, new_judge_id
from app.judging.providers import Answer, Pair
from app.judging.schemas import (
    JudgeCreate,
    JudgementPage,
    JudgementRead,
    JudgeProvider,
    JudgeRead,
    JudgeSampling,
    OrderRead,
    PromptRead,
    RewardModelJudgeConfig,
    RunRequest,
)
from app.media.models import CandidateMedia
from app.rewards import service as rewards_service
from app.routing.judge import combine
from app.tasks.units import unit_size
from app.voting.models import Assignment, AssignmentStatus, Outcome, Vote

_providers: TypeAdapter[JudgeProvider] = TypeAdapter(JudgeProvider)


def provider_config(judge: LMJudge) -> JudgeProvider:
    return _providers.validate_python(judge.provider)


def queue_for(provider: JudgeProvider) -> str:
    """A local model on a GPU worker unless it is told to use the CPU; everything else is light."""
    if provider.kind == "transformers" and provider.device != "cpu":
        return "gpu"
    return "cpu"


# --- judges -----------------------------------------------------------------------------------------


def create_judge(
    session: Session, *, campaign: Campaign, data: JudgeCreate, created_by: User | None
) -> LMJudge:
    if unit_size(campaign) != "pair":
        raise Invalid(
            f"a {campaign.task_kind.value} campaign has no pairs to judge; LM judges label pairwise units",
            field="campaign",
        )
    if session.scalar(
        select(LMJudge.id).where(LMJudge.campaign_id == campaign.id, LMJudge.name == data.name)
    ):
        raise Conflict(f"campaign '{campaign.slug}' already has a judge named '{data.name}'")
    if isinstance(data.provider, RewardModelJudgeConfig) and data.provider.reward_model is not None:
        _reward_model(session, campaign=campaign, public_id=data.provider.reward_model)
    judge = LMJudge(
        public_id=new_judge_id(),
        campaign_id=campaign.id,
        name=data.name,
        provider=data.provider.model_dump(mode="json"),
        sampling=data.sampling.model_dump(mode="json"),
        created_by_id=created_by.id if created_by else None,
    )
    # The judge's votes are an annotator's: one of kind model that never signs in.
    judge.user = create_user(
        session,
        email=f"judge-{judge.public_id}@judges.preflab.invalid",
        password=None,
        role=Role.annotator,
        kind=UserKind.model,
    )
    session.add(judge)
    session.flush()
    session.add(JudgePrompt(judge_id=judge.id, version=1, template=data.template or prompts.DEFAULT_TEMPLATE))
    session.flush()
    return judge


def list_judges(session: Session, *, campaign: Campaign) -> list[LMJudge]:
    return list(
        session.scalars(select(LMJudge).where(LMJudge.campaign_id == campaign.id).order_by(LMJudge.id))
    )


def get_judge(session: Session, *, public_id: str) -> LMJudge:
    judge = session.scalar(select(LMJudge).where(LMJudge.public_id == public_id))
    if judge is None:
        raise NotFound(f"no judge '{public_id}'")
    return judge


def to_read(session: Session, judge: LMJudge) -> JudgeRead:
    campaign = session.get_one(Campaign, judge.campaign_id)
    return JudgeRead(
        id=judge.public_id,
        campaign=campaign.slug,
        name=judge.name,
        annotator=judge.user.pseudonym,
        provider=judge.provider,
        sampling=JudgeSampling.model_validate(judge.sampling),
        queue=queue_for(provider_config(judge)),
        prompt_version=current_prompt(session, judge=judge).version,
        created_at=judge.created_at,
    )


# --- prompt versions --------------------------------------------------------------------------------


def current_prompt(session: Session, *, judge: LMJudge) -> JudgePrompt:
    return session.scalars(
        select(JudgePrompt).where(JudgePrompt.judge_id == judge.id).order_by(JudgePrompt.version.desc())
    ).first()  # type: ignore[return-value]  # every judge is created with version 1


def prompt_versions(session: Session, *, judge: LMJudge) -> list[JudgePrompt]:
    return list(
        session.scalars(
            select(JudgePrompt).where(JudgePrompt.judge_id == judge.id).order_by(JudgePrompt.version)
        )
    )


def get_prompt(session: Session, *, judge: LMJudge, version: int) -> JudgePrompt:
    prompt = session.scalar(
        select(JudgePrompt).where(JudgePrompt.judge_id == judge.id, JudgePrompt.version == version)
    )
    if prompt is None:
        raise NotFound(f"judge '{judge.public_id}' has no prompt version {version}")
    return prompt


def prompt_in_use(session: Session, *, prompt: JudgePrompt) -> bool:
    return session.scalar(select(Judgement.id).where(Judgement.prompt_id == prompt.id).limit(1)) is not None


def set_prompt(session: Session, *, judge: LMJudge, template: str) -> JudgePrompt:
    """Makes `template` the judge's prompt: the current version is edited in place while no judgement
    used it; once one has, it is frozen and the change becomes the next version."""
    try:
        prompts.check_template(template)
    except ValueError as exc:
        raise Invalid(str(exc), field="template") from exc
    current = current_prompt(session, judge=judge)
    if current.template == template:
        return current
    if not prompt_in_use(session, prompt=current):
        current.template = template
        session.flush()
        return current
    prompt = JudgePrompt(judge_id=judge.id, version=current.version + 1, template=template)
    session.add(prompt)
    session.flush()
    return prompt


def prompt_read(session: Session, *, prompt: JudgePrompt) -> PromptRead:
    return PromptRead(
        version=prompt.version,
        template=prompt.template,
        in_use=prompt_in_use(session, prompt=prompt),
        created_at=prompt.created_at,
    )


# --- runs -------------------------------------------------------------------------------------------


def _reward_model(session: Session, *, campaign: Campaign, public_id: str | None) -> str:
    if public_id is None:
        active = rewards_service.active_version(session, campaign_id=campaign.id)
        if active is None:
            raise Invalid(
                f"campaign '{campaign.slug}' has no active reward model; train and activate one, or name a "
                "version in the provider's reward_model",
                field="provider.reward_model",
            )
        return active.public_id
    model = rewards_service.get_version(session, public_id=public_id)
    if model.campaign_id != campaign.id:
        raise Invalid(
            f"reward model '{public_id}' belongs to another campaign", field="provider.reward_model"
        )
    return model.public_id


def run_params(session: Session, *, judge: LMJudge, request: RunRequest) -> dict[str, object]:
    """What a run's job is told, checked now so that a bad request is a 422 and starts nothing. The
    prompt version (and a reward model judge's version) is pinned: edits made while it runs do not
    change what it asks."""
    campaign = session.get_one(Campaign, judge.campaign_id)
    if request.comparison_ids is not None:
        wanted = set(request.comparison_ids)
        found = set(
            session.scalars(
                select(Comparison.id).where(
                    Comparison.campaign_id == campaign.id,
                    Comparison.id.in_(wanted),
                    Comparison.candidate_b_id.is_not(None),
                )
            )
        )
        missing = sorted(wanted - found)
        if missing:
            shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
            raise Invalid(
                f"not pairs of campaign '{campaign.slug}': comparison ids {shown}", field="comparison_ids"
            )
    params: dict[str, object] = {
        "judge": judge.public_id,
        "prompt_version": current_prompt(session, judge=judge).version,
        "limit": request.limit,
        "comparison_ids": sorted(set(request.comparison_ids)) if request.comparison_ids else None,
    }
    provider = provider_config(judge)
    if isinstance(provider, RewardModelJudgeConfig):
        params["reward_model"] = _reward_model(session, campaign=campaign, public_id=provider.reward_model)
    return params


def pairs_to_judge(
    session: Session,
    *,
    judge: LMJudge,
    prompt: JudgePrompt,
    comparison_ids: list[int] | None = None,
    limit: int | None = None,
) -> list[Pair]:
    """The campaign's text pairs without a successful judgement under this prompt version, in id order
    (failed ones are asked again). Pairs with a media candidate are left out: the judges read text."""
    campaign = session.get_one(Campaign, judge.campaign_id)
    a, b = aliased(Candidate), aliased(Candidate)
    judged = (
        select(Judgement.id)
        .where(
            Judgement.comparison_id == Comparison.id,
            Judgement.judge_id == judge.id,
            Judgement.prompt_id == prompt.id,
            Judgement.label.is_not(None),
        )
        .exists()
    )
    has_media = (
        select(CandidateMedia.candidate_id).where(CandidateMedia.candidate_id.in_([a.id, b.id])).exists()
    )
    query = (
        select(Comparison.id, Item.prompt, a.id, a.content, b.id, b.content)
        .join(Item, Item.id == Comparison.item_id)
        .join(a, a.id == Comparison.candidate_a_id)
        .join(b, b.id == Comparison.candidate_b_id)
        .where(
            Comparison.campaign_id == campaign.id,
            Comparison.candidate_b_id.is_not(None),
            ~judged,
            ~has_media,
        )
        .order_by(Comparison.id)
    )
    if comparison_ids is not None:
        query = query.where(Comparison.id.in_(comparison_ids))
    if limit is not None:
        query = query.limit(limit)
    return [
        Pair(
            comparison_id=c,
            prompt=p,
            guidelines=campaign.guidelines or "",
            a_id=ai,
            a_text=at,
            b_id=bi,
            b_text=bt,
        )
        for c, p, ai, at, bi, bt in session.execute(query)
    ]


def record_judgement(
    session: Session,
    *,
    judge: LMJudge,
    prompt: JudgePrompt,
    pair: Pair,
    forward: Answer | None,
    backward: Answer | None,
    error: str = "",
    forward_output: str = "",
    backward_output: str = "",
    now: datetime | None = None,
) -> Judgement:
    """Stores the judgement of one pair (a failed one when either order is missing) and, for a judged
    pair the judge has not voted on yet, its vote. A failed judgement of the pair is replaced."""
    now = now or utcnow()
    judgement = session.scalar(
        select(Judgement).where(
            Judgement.comparison_id == pair.comparison_id,
            Judgement.judge_id == judge.id,
            Judgement.prompt_id == prompt.id,
        )
    )
    if judgement is None:
        judgement = Judgement(comparison_id=pair.comparison_id, judge_id=judge.id, prompt_id=prompt.id)
        session.add(judgement)
    elif judgement.label is not None:
        return judgement  # judged already (a concurrent run): never twice
    judgement.created_at = now
    judgement.forward_output = (forward.output if forward else forward_output)[:4000]
    judgement.backward_output = (backward.output if backward else backward_output)[:4000]
    if forward is None or backward is None:
        judgement.error = error or "the judge gave no verdict"
        judgement.forward_verdict = ShownVerdict(forward.verdict.choice) if forward else None
        judgement.backward_verdict = ShownVerdict(backward.verdict.choice) if backward else None
        session.flush()
        return judgement
    combined = combine(forward.verdict, backward.verdict)
    judgement.forward_verdict = ShownVerdict(forward.verdict.choice)
    judgement.backward_verdict = ShownVerdict(backward.verdict.choice)
    judgement.forward_confidence = _own_confidence(forward)
    judgement.backward_confidence = _own_confidence(backward)
    judgement.label = JudgeLabel(combined.label)
    judgement.confidence = combined.confidence
    judgement.swap_consistent = combined.swap_consistent
    judgement.error = ""
    session.flush()
    judgement.vote_id = _vote(
        session, judge=judge, pair=pair, answers=(forward, backward), label=combined.label, now=now
    )
    session.flush()
    return judgement


def _own_confidence(answer: Answer) -> float | None:
    """The judge's probability for the side it named in this order, when it gives probabilities."""
    p_first = answer.verdict.p_first
    if p_first is None:
        return None
    if answer.verdict.choice == "first":
        return p_first
    if answer.verdict.choice == "second":
        return 1.0 - p_first
    return 1.0 - abs(2 * p_first - 1.0)


def _vote(
    session: Session, *, judge: LMJudge, pair: Pair, answers: tuple[Answer, Answer], label: str, now: datetime
) -> int | None:
    """The judge's vote on the pair (None when it voted on it already, under an earlier prompt)."""
    voted = session.scalar(
        select(Assignment.id).where(
            Assignment.comparison_id == pair.comparison_id, Assignment.annotator_id == judge.user_id
        )
    )
    if voted is not None:
        return None
    assignment = Assignment(
        campaign_id=judge.campaign_id,
        comparison_id=pair.comparison_id,
        annotator_id=judge.user_id,
        left_candidate_id=pair.a_id,  # it was shown both orders; the stored one is a first
        right_candidate_id=pair.b_id,
        status=AssignmentStatus.completed,
        leased_at=now,
        lease_expires_at=now,
        completed_at=now,
    )
    session.add(assignment)
    session.flush()
    if label == "tie":
        outcome, winner, loser = Outcome.tie, None, None
    else:
        outcome = Outcome.preference
        winner, loser = (pair.a_id, pair.b_id) if label == "a" else (pair.b_id, pair.a_id)
    vote = Vote(
        assignment_id=assignment.id,
        campaign_id=judge.campaign_id,
        comparison_id=pair.comparison_id,
        annotator_id=judge.user_id,
        outcome=outcome,
        winner_candidate_id=winner,
        loser_candidate_id=loser,
        strength=None,
        rationale=prompts.reasoning(answers[0].output),
        flags={},
        answer={},
        time_on_task_ms=sum(a.latency_ms for a in answers),
        created_at=now,
    )
    session.add(vote)
    session.execute(
        update(Comparison)
        .where(Comparison.id == pair.comparison_id)
        .values(vote_count=Comparison.vote_count + 1)
    )
    session.flush()
    return vote.id


# --- reading judgements -----------------------------------------------------------------------------


def list_judgements(session: Session, *, judge: LMJudge, limit: int = 100, offset: int = 0) -> JudgementPage:
    a, b = aliased(Candidate), aliased(Candidate)
    total = (
        session.scalar(select(func.count()).select_from(Judgement).where(Judgement.judge_id == judge.id)) or 0
    )
    rows = session.execute(
        select(Judgement, JudgePrompt.version, Item.external_id, a.system, b.system, Vote.public_id)
        .join(JudgePrompt, JudgePrompt.id == Judgement.prompt_id)
        .join(Comparison, Comparison.id == Judgement.comparison_id)
        .join(Item, Item.id == Comparison.item_id)
        .join(a, a.id == Comparison.candidate_a_id)
        .join(b, b.id == Comparison.candidate_b_id)
        .outerjoin(Vote, Vote.id == Judgement.vote_id)
        .where(Judgement.judge_id == judge.id)
        .order_by(Judgement.id)
        .limit(limit)
        .offset(offset)
    ).all()
    judgements = [
        JudgementRead(
            id=j.public_id,
            comparison_id=j.comparison_id,
            item_id=item_id,
            system_a=system_a,
            system_b=system_b,
            prompt_version=version,
            forward=OrderRead(
                verdict=j.forward_verdict, confidence=j.forward_confidence, output=j.forward_output
            ),
            backward=OrderRead(
                verdict=j.backward_verdict, confidence=j.backward_confidence, output=j.backward_output
            ),
            label=j.label,
            confidence=j.confidence,
            swap_consistent=j.swap_consistent,
            error=j.error,
            vote_id=vote_id,
            created_at=j.created_at,
        )
        for j, version, item_id, system_a, system_b, vote_id in rows
    ]
    more = offset + len(judgements) < total
    return JudgementPage(
        judgements=judgements, total=total, next_offset=offset + len(judgements) if more else None
    )
