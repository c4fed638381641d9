"""Live hybrid routing: a campaign's plan, its calibration slice, fitting the router on the slice's two
labels, and sending each judged pair to people or to the judge. No HTTP here; callers commit.

The labels compared are the ones in the data: the judge's is the label of its vote on the pair (the
judgement that cast it), a human one is the plurality of the votes of annotators of kind human, with a
split counted as a tie and "both bad" as a tie too (neither side preferred; the judge cannot say more).
A pair routed to the judge leaves the human queue by having no open slots; one that goes back to people
gets overlap minus its live human assignments again (a judge's own assignment never took a slot).
"""

import math
import random
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import numpy as np
from sqlalchemy import case, delete, func, select, update
from sqlalchemy.orm import Session

from app.auth.models import User, UserKind
from app.campaigns.models import Campaign
from app.db import utcnow
from app.errors import Conflict, Invalid, NotFound
from app.items.models import Comparison, Item
from app.jobs import service as jobs_service
from app.jobs.models import Job
from app.judging.models import JudgeLabel, Judgement, LMJudge
from app.rewards import service as rewards_service
from app.routing.models import PlanStatus, Route, RoutingDecision, RoutingPlan
from app.routing.router import FeatureEncoder, InstanceFeatures, Router, fit_router, route
from app.routing.schemas import (
    MIN_CALIBRATION,
    Agreement,
    Budget,
    Coverage,
    FittedRouter,
    PlanCreate,
    PlanRead,
    RouterRead,
    RoutingRead,
    SwapConsistency,
)
from app.tasks.units import unit_size
from app.voting.models import Assignment, AssignmentStatus, Outcome, Vote

_rng = random.SystemRandom()


@dataclass(frozen=True)
class JudgedPair:
    comparison_id: int
    label: JudgeLabel
    features: InstanceFeatures


# --- plans ------------------------------------------------------------------------------------------


def find_plan(session: Session, *, campaign: Campaign) -> RoutingPlan | None:
    return session.scalar(select(RoutingPlan).where(RoutingPlan.campaign_id == campaign.id))


def get_plan(session: Session, *, campaign: Campaign) -> RoutingPlan:
    plan = find_plan(session, campaign=campaign)
    if plan is None:
        raise NotFound(f"campaign '{campaign.slug}' has no routing plan; create one with its judge first")
    return plan


def fit_job(session: Session, *, plan: RoutingPlan) -> Job | None:
    return session.get(Job, plan.fit_job_id) if plan.fit_job_id is not None else None


def fitting(session: Session, *, plan: RoutingPlan) -> bool:
    job = fit_job(session, plan=plan)
    return job is not None and not job.status.finished


def _campaign_judge(session: Session, *, campaign: Campaign, public_id: str) -> LMJudge:
    judge = session.scalar(select(LMJudge).where(LMJudge.public_id == public_id))
    if judge is None:
        raise Invalid(f"no judge '{public_id}'; create one on the campaign's judges page", field="judge")
    if judge.campaign_id != campaign.id:
        raise Invalid(f"judge '{public_id}' belongs to another campaign", field="judge")
    return judge


def _pair_ids(session: Session, *, campaign: Campaign) -> list[int]:
    return list(
        session.scalars(
            select(Comparison.id)
            .where(Comparison.campaign_id == campaign.id, Comparison.candidate_b_id.is_not(None))
            .order_by(Comparison.id)
        )
    )


def save_plan(
    session: Session,
    *,
    campaign: Campaign,
    data: PlanCreate,
    user: User | None,
    rng: random.Random | None = None,
) -> RoutingPlan:
    """Creates the campaign's plan or changes it, and draws (or resizes) the calibration slice at random
    among its pairs. A new judge undoes the routing of the old one: its pairs go back to people."""
    if unit_size(campaign) != "pair":
        raise Invalid(
            f"a {campaign.task_kind.value} campaign has no pairs for a judge or for people to route",
            field="campaign",
        )
    judge = _campaign_judge(session, campaign=campaign, public_id=data.judge)
    pairs = _pair_ids(session, campaign=campaign)
    if data.calibration_size > len(pairs):
        raise Invalid(
            f"campaign '{campaign.slug}' has {len(pairs)} pairs; the calibration slice can hold at most that",
            field="calibration_size",
        )
    plan = find_plan(session, campaign=campaign)
    if plan is None:
        plan = RoutingPlan(
            campaign_id=campaign.id, judge_id=judge.id, created_by_id=user.id if user else None
        )
        session.add(plan)
    elif fitting(session, plan=plan):
        raise Conflict("the plan is being fitted; change it once its fit job has finished")
    elif plan.judge_id != judge.id:
        _undo_routing(session, plan=plan)
    settings = {
        "judge_id": judge.id,
        "human_budget": data.human_budget,
        "alpha": data.alpha,
        "calibration_size": data.calibration_size,
    }
    if any(getattr(plan, name) != value for name, value in settings.items()):
        for name, value in settings.items():
            setattr(plan, name, value)
        plan.updated_at = utcnow()
    session.flush()
    _resize_slice(session, plan=plan, pairs=pairs, rng=rng or _rng)
    return plan


def _undo_routing(session: Session, *, plan: RoutingPlan) -> None:
    """Forgets every decision but the slice (the slice's human votes serve any judge)."""
    to_judge = _decided(session, plan=plan, routes=(Route.judge,))
    session.execute(
        delete(RoutingDecision).where(
            RoutingDecision.plan_id == plan.id, RoutingDecision.route != Route.calibration
        )
    )
    _reopen(session, plan=plan, comparison_ids=to_judge)
    plan.router = None
    plan.status = PlanStatus.draft


def _decided(session: Session, *, plan: RoutingPlan, routes: Collection[Route]) -> list[int]:
    return list(
        session.scalars(
            select(RoutingDecision.comparison_id).where(
                RoutingDecision.plan_id == plan.id, RoutingDecision.route.in_(routes)
            )
        )
    )


def _resize_slice(session: Session, *, plan: RoutingPlan, pairs: list[int], rng: random.Random) -> None:
    decisions = {
        d.comparison_id: d
        for d in session.scalars(select(RoutingDecision).where(RoutingDecision.plan_id == plan.id))
    }
    slice_ids = [c for c, d in decisions.items() if d.route == Route.calibration]
    missing = plan.calibration_size - len(slice_ids)
    if missing > 0:
        taken = set(slice_ids)
        drawn = rng.sample([c for c in pairs if c not in taken], missing)
        reopened = [c for c in drawn if c in decisions and decisions[c].route == Route.judge]
        for comparison_id in drawn:
            if comparison_id in decisions:
                decisions[comparison_id].route = Route.calibration
            else:
                session.add(
                    RoutingDecision(comparison_id=comparison_id, plan_id=plan.id, route=Route.calibration)
                )
        session.flush()
        _reopen(session, plan=plan, comparison_ids=reopened)
    elif missing < 0:
        # Keep the pairs people have voted on: their labels are what the fit needs.
        votes = Counter(comparison_id for comparison_id, _ in _human_votes(session, plan=plan, ids=slice_ids))
        keys = {c: (votes[c], rng.random()) for c in slice_ids}
        dropped = sorted(slice_ids, key=keys.__getitem__)[:-missing]
        session.execute(delete(RoutingDecision).where(RoutingDecision.comparison_id.in_(dropped)))
    session.flush()


# --- labels -----------------------------------------------------------------------------------------


def judged_pairs(session: Session, *, plan: RoutingPlan) -> dict[int, JudgedPair]:
    """The plan's judge's label and the router's features for each pair it voted on."""
    rows = session.execute(
        select(
            Judgement.comparison_id,
            Judgement.label,
            Judgement.confidence,
            Judgement.swap_consistent,
            Comparison.candidate_a_id,
            Comparison.candidate_b_id,
            Item.prompt,
            Item.tags,
        )
        .join(Comparison, Comparison.id == Judgement.comparison_id)
        .join(Item, Item.id == Comparison.item_id)
        .where(
            Judgement.judge_id == plan.judge_id,
            Judgement.vote_id.is_not(None),
            Judgement.label.is_not(None),
        )
        .order_by(Judgement.comparison_id)
    ).all()
    scores = rewards_service.scores_for_candidates(
        session,
        campaign_id=plan.campaign_id,
        candidate_ids=sorted({c for row in rows for c in (row.candidate_a_id, row.candidate_b_id)}),
    )
    judged: dict[int, JudgedPair] = {}
    for row in rows:
        a, b = scores.get(row.candidate_a_id), scores.get(row.candidate_b_id)
        judged[row.comparison_id] = JudgedPair(
            comparison_id=row.comparison_id,
            label=row.label,
            features=InstanceFeatures(
                judge_confidence=row.confidence if row.confidence is not None else 0.0,
                swap_consistent=bool(row.swap_consistent),
                judge_tie=row.label == JudgeLabel.tie,
                rm_margin=a - b if a is not None and b is not None else None,
                prompt_length=len(row.prompt),
                tags=tuple(row.tags or ()),
            ),
        )
    return judged


def _human_votes(
    session: Session, *, plan: RoutingPlan, ids: Iterable[int] | None = None
) -> list[tuple[int, JudgeLabel]]:
    """(comparison, label as a, b or tie) per human vote on the campaign's pairs."""
    query = (
        select(Vote.comparison_id, Vote.outcome, Vote.winner_candidate_id, Comparison.candidate_a_id)
        .join(User, User.id == Vote.annotator_id)
        .join(Comparison, Comparison.id == Vote.comparison_id)
        .where(
            Vote.campaign_id == plan.campaign_id,
            User.kind == UserKind.human,
            Comparison.candidate_b_id.is_not(None),
            Vote.outcome.is_not(None),
        )
    )
    if ids is not None:
        query = query.where(Vote.comparison_id.in_(list(ids)))
    labels = []
    for comparison_id, outcome, winner, candidate_a in session.execute(query):
        if outcome == Outcome.preference:
            labels.append((comparison_id, JudgeLabel.a if winner == candidate_a else JudgeLabel.b))
        else:
            labels.append((comparison_id, JudgeLabel.tie))
    return labels


def human_labels(session: Session, *, plan: RoutingPlan) -> dict[int, JudgeLabel]:
    """Each voted pair's human label: the plurality of its human votes; a split is a tie."""
    by_pair: dict[int, Counter[JudgeLabel]] = {}
    for comparison_id, label in _human_votes(session, plan=plan):
        by_pair.setdefault(comparison_id, Counter())[label] += 1
    labels = {}
    for comparison_id, counts in by_pair.items():
        (first, n_first), *rest = counts.most_common(2)
        labels[comparison_id] = first if not rest or rest[0][1] < n_first else JudgeLabel.tie
    return labels


def _agreement(ids: Iterable[int], judged: dict[int, JudgedPair], humans: dict[int, JudgeLabel]) -> Agreement:
    both = [c for c in ids if c in judged and c in humans]
    agreed = sum(judged[c].label == humans[c] for c in both)
    return Agreement(pairs=len(both), agreed=agreed, rate=agreed / len(both) if both else None)


# --- fitting and routing ----------------------------------------------------------------------------


def check_fit(session: Session, *, plan: RoutingPlan) -> None:
    """Refuses a fit that cannot work: one already running, or too few pairs of the slice labelled by both."""
    if fitting(session, plan=plan):
        raise Conflict("a fit job of this plan is already queued or running; wait for it to finish")
    _calibration(
        session, plan=plan, judged=judged_pairs(session, plan=plan), humans=human_labels(session, plan=plan)
    )


def _calibration(
    session: Session, *, plan: RoutingPlan, judged: dict[int, JudgedPair], humans: dict[int, JudgeLabel]
) -> list[int]:
    slice_ids = _decided(session, plan=plan, routes=(Route.calibration,))
    labelled = [c for c in slice_ids if c in judged and c in humans]
    if len(labelled) >= MIN_CALIBRATION:
        return sorted(labelled)
    judge = session.get_one(LMJudge, plan.judge_id)
    n_judged = sum(c in judged for c in slice_ids)
    if not n_judged:
        raise Conflict(
            f"judge '{judge.name}' has labelled none of the {len(slice_ids)} calibration pairs; run it first "
            f"(POST /api/v1/judges/{judge.public_id}/run)"
        )
    raise Conflict(
        f"{len(labelled)} of the {len(slice_ids)} calibration pairs have both the judge's label and a human "
        f"vote ({n_judged} judged, {sum(c in humans for c in slice_ids)} voted on by people); the router "
        f"needs at least {MIN_CALIBRATION}"
    )


def begin_fit(session: Session, *, plan: RoutingPlan) -> None:
    plan.status = PlanStatus.calibrating
    session.flush()


def end_failed_fit(session: Session, *, plan: RoutingPlan) -> None:
    """Back to what was in place: the previous routing, or none."""
    plan.status = PlanStatus.routed if plan.router is not None else PlanStatus.draft
    session.flush()


def fit_and_route(session: Session, *, plan: RoutingPlan) -> dict[str, object]:
    """Fits the router on the slice, then routes every judged pair outside it: the human budget's
    lowest P(agree) to people, the rest to the judge. Returns the counts and the router's numbers."""
    judged = judged_pairs(session, plan=plan)
    humans = human_labels(session, plan=plan)
    calibration = _calibration(session, plan=plan, judged=judged, humans=humans)
    router = fit_router(
        [judged[c].features for c in calibration],
        [judged[c].label == humans[c] for c in calibration],
        alpha=plan.alpha,
    )
    slice_ids = set(_decided(session, plan=plan, routes=(Route.calibration,)))
    routed = [c for c in judged if c not in slice_ids]
    p_agree = router.predict([judged[c].features for c in routed])
    routing = route(p_agree, human_budget=plan.human_budget, threshold=router.threshold)
    routes = {routed[k]: Route.human for k in routing.to_human} | {
        routed[k]: Route.judge for k in routing.to_judge
    }
    p_by_pair = dict(zip(routed, p_agree.tolist(), strict=True))
    p_by_pair |= dict(
        zip(calibration, router.predict([judged[c].features for c in calibration]).tolist(), strict=True)
    )

    was_judge = set(_decided(session, plan=plan, routes=(Route.judge,)))
    for decision in session.scalars(select(RoutingDecision).where(RoutingDecision.plan_id == plan.id)).all():
        comparison_id = decision.comparison_id
        if decision.route == Route.calibration:
            decision.p_agree = p_by_pair.get(comparison_id)
        elif comparison_id in routes:
            decision.route, decision.p_agree = routes.pop(comparison_id), p_by_pair[comparison_id]
        else:
            session.delete(decision)
    now = utcnow()
    session.add_all(
        RoutingDecision(comparison_id=c, plan_id=plan.id, route=r, p_agree=p_by_pair[c], created_at=now)
        for c, r in routes.items()
    )
    session.flush()
    now_judge = set(_decided(session, plan=plan, routes=(Route.judge,)))
    _reopen(session, plan=plan, comparison_ids=sorted(was_judge - now_judge))
    session.execute(
        update(Comparison)
        .where(
            Comparison.id.in_(
                select(RoutingDecision.comparison_id).where(
                    RoutingDecision.plan_id == plan.id, RoutingDecision.route == Route.judge
                )
            )
        )
        .values(open_slots=0)
    )
    plan.router = _stored(router, human_share_for_alpha=routing.human_share_for_alpha).model_dump(mode="json")
    plan.status = PlanStatus.routed
    session.flush()
    return {
        "calibration": len(calibration),
        "to_human": len(routing.to_human),
        "to_judge": len(routing.to_judge),
        "below_threshold": len(routing.below_threshold),
        "threshold": _finite(router.threshold),
        "calibration_agreement": router.calibration_agreement,
        "accepted_share": router.accepted_share,
        "accepted_agreement": _finite(router.accepted_agreement),
    }


def _reopen(session: Session, *, plan: RoutingPlan, comparison_ids: Collection[int]) -> None:
    """Gives pairs back to people: overlap minus the human assignments still live on each."""
    if not comparison_ids:
        return
    overlap = session.get_one(Campaign, plan.campaign_id).overlap
    live = (
        select(func.count(Assignment.id))
        .where(
            Assignment.comparison_id == Comparison.id,
            Assignment.status != AssignmentStatus.expired,
            Assignment.annotator_id.not_in(select(LMJudge.user_id)),
        )
        .scalar_subquery()
    )
    session.execute(
        update(Comparison)
        .where(Comparison.id.in_(list(comparison_ids)))
        .values(open_slots=case((live < overlap, overlap - live), else_=0))
        .execution_options(synchronize_session=False)
    )


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _stored(router: Router, *, human_share_for_alpha: float) -> FittedRouter:
    return FittedRouter(
        numeric=router.encoder.numeric,
        tags=router.encoder.tags,
        mean=router.encoder.mean.tolist(),
        scale=router.encoder.scale.tolist(),
        weights=router.weights.tolist(),
        threshold=_finite(router.threshold),
        alpha=router.alpha,
        calibration_size=router.calibration_size,
        calibration_agreement=router.calibration_agreement,
        accepted_share=router.accepted_share,
        accepted_agreement=_finite(router.accepted_agreement),
        human_share_for_alpha=human_share_for_alpha,
        fitted_at=utcnow(),
    )


def stored_router(plan: RoutingPlan) -> Router | None:
    """The plan's fitted router, rebuilt so that it can score pairs judged since."""
    if plan.router is None:
        return None
    fitted = FittedRouter.model_validate(plan.router)
    encoder = FeatureEncoder(fitted.numeric, fitted.tags, np.array(fitted.mean), np.array(fitted.scale))
    return Router(
        encoder=encoder,
        weights=np.array(fitted.weights),
        threshold=fitted.threshold if fitted.threshold is not None else math.inf,
        alpha=fitted.alpha,
        calibration_size=fitted.calibration_size,
        calibration_agreement=fitted.calibration_agreement,
        accepted_share=fitted.accepted_share,
        accepted_agreement=fitted.accepted_agreement if fitted.accepted_agreement is not None else math.nan,
    )


# --- the dashboard ----------------------------------------------------------------------------------


def plan_read(session: Session, *, plan: RoutingPlan) -> PlanRead:
    campaign = session.get_one(Campaign, plan.campaign_id)
    judge = session.get_one(LMJudge, plan.judge_id)
    job = fit_job(session, plan=plan)
    fitted_at = FittedRouter.model_validate(plan.router).fitted_at if plan.router else None
    return PlanRead(
        campaign=campaign.slug,
        judge=judge.public_id,
        judge_name=judge.name,
        human_budget=plan.human_budget,
        alpha=plan.alpha,
        calibration_size=plan.calibration_size,
        status=plan.status,
        stale=fitted_at is not None and plan.updated_at > fitted_at,
        fit_job=jobs_service.to_read(session, job) if job else None,
        created_at=plan.created_at,
        updated_at=plan.updated_at,
    )


def dashboard(session: Session, *, plan: RoutingPlan) -> RoutingRead:
    campaign = session.get_one(Campaign, plan.campaign_id)
    judged = judged_pairs(session, plan=plan)
    humans = human_labels(session, plan=plan)
    decisions = dict(
        session.execute(
            select(RoutingDecision.comparison_id, RoutingDecision.route).where(
                RoutingDecision.plan_id == plan.id
            )
        ).all()
    )
    by_route = {r: [c for c, d in decisions.items() if d == r] for r in Route}
    n_pairs = len(_pair_ids(session, campaign=campaign))
    for_people = by_route[Route.calibration] + by_route[Route.human]
    planned = campaign.overlap * len(for_people)
    cast = len(_human_votes(session, plan=plan, ids=for_people)) if for_people else 0
    consistent = sum(p.features.swap_consistent for p in judged.values())
    return RoutingRead(
        plan=plan_read(session, plan=plan),
        agreement_calibration=_agreement(by_route[Route.calibration], judged, humans),
        agreement_all=_agreement(judged, judged, humans),
        coverage=Coverage(
            pairs=n_pairs,
            judged=len(judged),
            calibration=len(by_route[Route.calibration]),
            human=len(by_route[Route.human]),
            judge=len(by_route[Route.judge]),
            not_routed=sum(c not in decisions for c in judged),
            not_judged=n_pairs - len(judged),
        ),
        budget=Budget(
            share=plan.human_budget,
            pairs=len(for_people),
            votes_planned=planned,
            votes_cast=cast,
            spent=cast / planned if planned else None,
        ),
        swap_consistency=SwapConsistency(
            judged=len(judged), consistent=consistent, rate=consistent / len(judged) if judged else None
        ),
        router=_router_read(session, plan=plan),
    )


def _router_read(session: Session, *, plan: RoutingPlan) -> RouterRead | None:
    router = stored_router(plan)
    if router is None or plan.router is None:
        return None
    fitted = FittedRouter.model_validate(plan.router)
    below = 0
    if fitted.threshold is not None:
        below = (
            session.scalar(
                select(func.count(RoutingDecision.id)).where(
                    RoutingDecision.plan_id == plan.id,
                    RoutingDecision.route == Route.judge,
                    RoutingDecision.p_agree < fitted.threshold,
                )
            )
            or 0
        )
    else:
        below = len(_decided(session, plan=plan, routes=(Route.judge,)))
    accepted = fitted.accepted_agreement
    return RouterRead(
        threshold=fitted.threshold,
        alpha=fitted.alpha,
        calibration_size=fitted.calibration_size,
        calibration_agreement=fitted.calibration_agreement,
        accepted_share=fitted.accepted_share,
        accepted_agreement=accepted,
        meets_bound=accepted is not None and accepted >= 1 - fitted.alpha - 1e-9,
        human_share_for_alpha=fitted.human_share_for_alpha,
        below_threshold=below,
        coefficients=router.coefficients(),
        fitted_at=fitted.fitted_at,
    )
