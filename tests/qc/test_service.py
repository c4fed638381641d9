"""Gold mixing, scoring, pauses, qualification and quotas through the voting service."""

import json
import math
from collections import Counter

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign
from app.errors import Forbidden, ImportRejected
from app.items.models import Comparison, Item
from app.items.service import import_items
from app.qc import service as qc_service
from app.qc.models import AnnotatorStatus, CampaignAnnotator, QualificationStatus
from app.qc.schemas import QualityConfig
from app.voting import service as voting_service
from app.voting.models import Vote
from app.voting.schemas import VoteCreate
from tests.factories import SYSTEMS, make_campaign, make_user
from tests.qc.helpers import BETTER, WORSE, answer_loop, pair_line, prefer


def _campaign(
    session: Session, *, data: int, gold: int = 0, qualification: int = 0, **quality: object
) -> Campaign:
    campaign = make_campaign(session, slug="qc")
    lines = [pair_line(f"qual{i}", "qualification") for i in range(qualification)]
    lines += [pair_line(f"d{i}") for i in range(data)]
    lines += [pair_line(f"g{i}", "gold") for i in range(gold)]
    import_items(session, campaign=campaign, lines=lines)
    if quality:
        qc_service.set_config(session, campaign=campaign, config=QualityConfig.model_validate(quality))
    session.commit()
    return campaign


def _role_of(session: Session, comparison_public: str) -> str:
    from app.voting.models import Assignment

    return (
        session.scalar(
            select(Item.role)
            .join(Comparison, Comparison.item_id == Item.id)
            .join(Assignment, Assignment.comparison_id == Comparison.id)
            .where(Assignment.public_id == comparison_public)
        )
        or ""
    )


def _standing(session: Session, campaign: Campaign, user_id: int) -> CampaignAnnotator:
    session.expire_all()
    return session.scalars(
        select(CampaignAnnotator).where(
            CampaignAnnotator.campaign_id == campaign.id, CampaignAnnotator.annotator_id == user_id
        )
    ).one()


def test_import_stores_role_and_checked_answer_and_gold_takes_no_open_slots(session: Session) -> None:
    campaign = _campaign(session, data=2, gold=1)
    gold = session.scalars(select(Item).where(Item.role == "gold")).one()
    assert gold.gold_answer == {"winner": BETTER}
    slots = dict(
        session.execute(
            select(Item.role, Comparison.open_slots).join(Item, Item.id == Comparison.item_id)
        ).all()
    )
    assert slots == {"data": 1, "gold": 0}
    assert campaign.quality == {}


@pytest.mark.parametrize(
    ("kind", "line", "message"),
    [
        ("pairwise", {"role": "gold"}, "needs its known answer"),
        ("pairwise", {"gold_answer": {"winner": "alpha-7b"}}, "goes with role"),
        ("pairwise", {"role": "gold", "gold_answer": {"winner": "nobody"}}, "not one of this item's systems"),
        ("pairwise", {"role": "gold", "gold_answer": {"thumb": "up"}}, "gold_answer"),
        ("pairwise", {"role": "gold", "gold_answer": {"winner": "alpha-7b", "outcome": "tie"}}, "either"),
        ("single", {"role": "gold", "gold_answer": {"thumb": "sideways"}}, "gold_answer.thumb"),
        ("checklist", {"role": "gold", "gold_answer": {"answers": {"zz": True}}}, "unknown question"),
        ("rating", {"role": "gold", "gold_answer": {"ratings": {"nope": 2}}}, "unknown aspect"),
        ("rating", {"role": "gold", "gold_answer": {"ratings": {"helpfulness": 9}}}, "must be 0 to 4"),
        ("segment", {"role": "gold", "gold_answer": {"winner": "x"}}, "take no gold"),
    ],
)
def test_bad_gold_lines_are_rejected_with_their_line_number(
    session: Session, kind: str, line: dict, message: str
) -> None:
    campaign = make_campaign(session, slug="bad", task_kind=kind)
    good = json.loads(pair_line("ok"))
    bad = json.loads(pair_line("bad")) | line
    if kind == "checklist":
        for item in (good, bad):
            item["questions"] = [{"id": "q1", "text": "Is it polite?"}]
    with pytest.raises(ImportRejected) as caught:
        import_items(session, campaign=campaign, lines=[json.dumps(good), json.dumps(bad)])
    assert message in caught.value.message
    assert caught.value.line == 2
    assert session.scalar(select(Item.id).where(Item.campaign_id == campaign.id)) is None


def test_gold_is_mixed_in_at_the_rate_never_twice_and_counts_for_no_slot(session: Session) -> None:
    qc_service.rng.seed(7)
    campaign = _campaign(session, data=300, gold=150, gold_rate=0.3)
    annotators = [make_user(session, f"a{i}@example.org") for i in range(2)]
    session.commit()
    for user in annotators:
        tasks = answer_loop(session, campaign=campaign, annotator=user, choose=lambda _: "a", limit=200)
        roles = Counter(_role_of(session, t.assignment_id) for t in tasks)
        # Binomial(200, 0.3): mean 60, sd 6.5; 4 sd either side.
        assert abs(roles["gold"] - 60) <= 4 * math.sqrt(200 * 0.3 * 0.7), roles
    # Both annotators got gold: it is not used up by the first, and nobody saw a unit twice.
    per_user = session.execute(select(Vote.annotator_id, Vote.comparison_id)).all()
    assert len(per_user) == len(set(per_user))
    gold_votes = session.execute(
        select(Vote.annotator_id, Vote.gold_correct).where(Vote.gold_correct.is_not(None))
    ).all()
    assert {annotator for annotator, _ in gold_votes} == {u.id for u in annotators}
    assert (
        session.scalar(
            select(Comparison.open_slots)
            .join(Item, Item.id == Comparison.item_id)
            .where(Item.role == "gold")
            .limit(1)
        )
        == 0
    )


def test_gold_is_not_served_when_the_data_is_done(session: Session) -> None:
    campaign = _campaign(session, data=3, gold=20, gold_rate=1.0)
    user = make_user(session, "a@example.org")
    session.commit()
    tasks = answer_loop(session, campaign=campaign, annotator=user, choose=lambda _: "a")
    roles = Counter(_role_of(session, t.assignment_id) for t in tasks)
    assert roles["data"] == 3
    assert voting_service.next_assignment(session, campaign=campaign, annotator=user) is None


def test_wrong_gold_answers_pause_the_annotator_and_an_admin_resumes(session: Session) -> None:
    campaign = _campaign(
        session,
        data=40,
        gold=20,
        gold_rate=0.5,
        min_gold_accuracy=0.7,
        min_gold_answers=3,
        pause_message="Paused: please reread the guidelines.",
    )
    user = make_user(session, "a@example.org")
    admin = make_user(session, "admin@example.org")
    session.commit()
    answer_loop(session, campaign=campaign, annotator=user, choose=prefer(session, WORSE), limit=60)
    standing = _standing(session, campaign, user.id)
    assert standing.status == AnnotatorStatus.paused
    assert standing.gold_answered == 3 and standing.gold_correct == 0
    with pytest.raises(Forbidden, match="reread the guidelines"):
        voting_service.next_assignment(session, campaign=campaign, annotator=user)
    session.rollback()
    rows = {r.pseudonym: r for r in qc_service.list_annotators(session, campaign=campaign)}
    row = rows[user.pseudonym]
    assert row.status == "paused" and row.gold_votes == 3 and row.gold_accuracy == 0.0

    qc_service.resume(session, campaign=campaign, pseudonym=user.pseudonym, by=admin)
    session.commit()
    standing = _standing(session, campaign, user.id)
    assert standing.status == AnnotatorStatus.active and standing.resumed_by_id == admin.id
    assert standing.gold_answered == 0  # the window restarts; the lifetime accuracy stays in the votes
    from app.audit.models import AuditEvent

    assert session.scalars(select(AuditEvent.action).where(AuditEvent.action == "qc.resume")).all() == [
        "qc.resume"
    ]
    assert voting_service.next_assignment(session, campaign=campaign, annotator=user) is not None


def test_a_vote_on_a_lease_held_when_paused_still_counts(session: Session) -> None:
    campaign = _campaign(session, data=5, gold=3, min_gold_accuracy=0.9, min_gold_answers=1)
    user = make_user(session, "a@example.org")
    session.commit()
    task = voting_service.next_assignment(session, campaign=campaign, annotator=user)
    assert task is not None
    # Paused meanwhile (say, by a gold vote on another tab): the lease in hand still takes its vote.
    standing = _standing(session, campaign, user.id)
    standing.status = AnnotatorStatus.paused
    session.commit()
    voting_service.cast_vote(
        session,
        assignment_id=task.assignment_id,
        annotator=user,
        data=VoteCreate(outcome="a"),
        idempotency_key=None,
    )
    session.commit()
    assert session.scalars(select(Vote.annotator_id)).all() == [user.id]
    assert _standing(session, campaign, user.id).data_votes == 1


def test_qualification_comes_first_in_import_order_then_pass_or_fail(session: Session) -> None:
    campaign = _campaign(
        session,
        data=4,
        qualification=3,
        qualification_required=True,
        qualification_min_accuracy=0.6,
        qualification_message="Sorry, not this time.",
    )
    good, bad = make_user(session, "good@example.org"), make_user(session, "bad@example.org")
    session.commit()

    tasks = answer_loop(session, campaign=campaign, annotator=good, choose=prefer(session, BETTER))
    prompts = [t.prompt for t in tasks]
    assert prompts[:3] == ["Prompt qual0", "Prompt qual1", "Prompt qual2"]
    assert len(tasks) == 7
    standing = _standing(session, campaign, good.id)
    assert standing.qualification_status == QualificationStatus.passed and standing.qualification_score == 1.0

    # Two of three wrong: 0.33 < 0.6.
    answers = iter([WORSE, WORSE, BETTER])
    answer_loop(
        session, campaign=campaign, annotator=bad, choose=lambda t: prefer(session, next(answers))(t), limit=3
    )
    with pytest.raises(Forbidden, match="not this time"):
        voting_service.next_assignment(session, campaign=campaign, annotator=bad)
    session.rollback()
    standing = _standing(session, campaign, bad.id)
    assert standing.qualification_status == QualificationStatus.failed
    assert standing.qualification_score == pytest.approx(1 / 3)
    with pytest.raises(Forbidden):
        voting_service.next_assignment(session, campaign=campaign, annotator=bad)


def test_quota_ends_the_work_like_an_empty_pool(session: Session) -> None:
    campaign = _campaign(session, data=10, gold=5, gold_rate=0.5, quota=4)
    user = make_user(session, "a@example.org")
    session.commit()
    tasks = answer_loop(session, campaign=campaign, annotator=user, choose=lambda _: "a")
    roles = Counter(_role_of(session, t.assignment_id) for t in tasks)
    assert roles["data"] == 4
    assert voting_service.next_assignment(session, campaign=campaign, annotator=user) is None
    # Another annotator still gets work.
    other = make_user(session, "b@example.org")
    session.commit()
    assert voting_service.next_assignment(session, campaign=campaign, annotator=other) is not None


def test_no_quality_control_leaves_no_rows(session: Session) -> None:
    campaign = _campaign(session, data=3, gold=2)
    user = make_user(session, "a@example.org")
    session.commit()
    tasks = answer_loop(session, campaign=campaign, annotator=user, choose=lambda _: "a")
    assert len(tasks) == 3  # gold units are never handed out while quality control is off
    assert session.scalar(select(CampaignAnnotator.id)) is None
    assert SYSTEMS  # the factories' systems name the candidates


def _vote(**fields: object) -> Vote:
    return Vote(**fields)


def test_scoring_per_kind() -> None:
    systems = {1: "good", 2: "bad"}
    public = {"p1": "good", "p2": "bad"}
    from app.campaigns.models import TaskKind
    from app.voting.models import Outcome

    def score(kind: TaskKind, gold: dict, **vote: object) -> bool:
        return qc_service.score_vote(kind, gold, vote=_vote(**vote), systems=systems, public=public)

    pref = {"outcome": Outcome.preference}
    assert score(TaskKind.pairwise, {"winner": "good"}, **pref, winner_candidate_id=1)
    assert not score(TaskKind.pairwise, {"winner": "good"}, **pref, winner_candidate_id=2)
    assert not score(TaskKind.pairwise, {"winner": "good"}, outcome=Outcome.tie)
    assert score(TaskKind.pairwise, {"outcome": "tie"}, outcome=Outcome.tie)
    assert not score(TaskKind.pairwise, {"outcome": "both_bad"}, outcome=Outcome.tie)
    assert score(TaskKind.single, {"thumb": "up"}, answer={"thumb": "up"})
    assert not score(TaskKind.single, {"thumb": "up"}, answer={"thumb": "down"})
    checklist = {"answers": {"q1": True, "q2": False}}
    assert score(TaskKind.checklist, checklist, answer={"checklist": {"q1": True, "q2": False, "q3": True}})
    assert not score(TaskKind.checklist, checklist, answer={"checklist": {"q1": True, "q2": True}})
    rating = {"ratings": {"helpfulness": 3}, "tolerance": 1}
    assert score(TaskKind.rating, rating, answer={"ratings": {"p1": {"helpfulness": 4, "verbosity": 0}}})
    assert not score(TaskKind.rating, rating, answer={"ratings": {"p1": {"helpfulness": 1}}})
    assert not score(
        TaskKind.rating,
        {"ratings": {"helpfulness": 3}, "tolerance": 0},
        answer={"ratings": {"p1": {"helpfulness": 4}}},
    )
    assert score(TaskKind.ranking, {"best": "good"}, answer={"ranking": [["p1"], ["p2"]]})
    assert not score(TaskKind.ranking, {"best": "good"}, answer={"ranking": [["p1", "p2"]]})
    assert not score(TaskKind.ranking, {"best": "good"}, answer={"ranking": [["p2"], ["p1"]]})
