"""Agreement for every task kind on hand-made campaigns: votes cast through the voting service, alphas
checked against `metrics` on the same reliability matrix (coders x units) built here by hand."""

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.auth.models import Role, User, UserKind
from app.auth.service import create_user
from app.campaigns.models import Campaign
from app.items.service import import_items
from app.quality import metrics, service
from app.quality.answers import word_offsets
from app.tasks.schemas import TaskAnswer
from app.voting import service as voting
from app.voting.models import Vote
from app.voting.schemas import AssignmentRead, VoteCreate
from tests.factories import make_campaign, make_user

Answer = Callable[[User, AssignmentRead], dict[str, Any]]
ASPECTS = ["helpfulness", "correctness", "coherence", "complexity", "verbosity"]


def _vote_all(session: Session, campaign: Campaign, user: User, answer: Answer) -> int:
    n = 0
    while (task := voting.next_assignment(session, campaign=campaign, annotator=user)) is not None:
        body = answer(user, task)
        voting.cast_vote(
            session,
            assignment_id=task.assignment_id,
            annotator=user,
            data=VoteCreate(outcome=body.pop("outcome", None), answer=TaskAnswer.model_validate(body)),
            idempotency_key=None,
        )
        session.commit()
        n += 1
    return n


def _import(session: Session, campaign: Campaign, items: list[dict[str, Any]]) -> None:
    import_items(session, campaign=campaign, lines=[json.dumps(item) for item in items])


def _users(session: Session, n: int) -> list[User]:
    users = [make_user(session, f"u{i}@example.org") for i in range(n)]
    session.commit()
    return users


def _index(task: AssignmentRead, position: int = 0) -> int:
    """The item number each test writes at the end of every candidate's text."""
    return int(task.candidates[position].content.rsplit(" ", 1)[-1])


def _alpha(report: dict[str, Any], measure: str) -> float | None:
    return next(r["alpha"] for r in report["alphas"] if r["measure"] == measure)


def _by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["annotator"]: row for row in report["by_annotator"]}


def test_ratings_interval_alpha_per_aspect_and_pooled(session: Session) -> None:
    campaign = make_campaign(session, slug="rate", task_kind="rating", overlap=3)
    _import(
        session,
        campaign,
        [
            {"id": f"r{i}", "prompt": "P", "candidates": [{"system": "s", "content": f"answer {i}"}]}
            for i in range(4)
        ],
    )
    users = _users(session, 3)
    # helpfulness: u0 and u1 agree, u2 is off by one or two; every other aspect: all three give i.
    helpful = [[0, 1, 2, 4], [0, 1, 2, 4], [1, 3, 2, 2]]

    def rate(user: User, task: AssignmentRead) -> dict[str, Any]:
        i, u = _index(task), users.index(user)
        return {"ratings": {"a": {a: (helpful[u][i] if a == "helpfulness" else i) for a in ASPECTS}}}

    for user in users:
        assert _vote_all(session, campaign, user, rate) == 4
    report = service.campaign_quality(session, campaign=campaign)
    expected = metrics.krippendorff_alpha(helpful, level="interval")
    assert _alpha(report, "rating:helpfulness") == pytest.approx(expected, abs=1e-4)
    assert _alpha(report, "rating:correctness") == 1.0
    # Pooled: one unit per (output, aspect), the five aspects' columns side by side.
    pooled = [row + [i for _ in ASPECTS[1:] for i in range(4)] for row in helpful]
    assert _alpha(report, "ratings") == pytest.approx(
        metrics.krippendorff_alpha(pooled, level="interval"), abs=1e-4
    )
    assert report["primary_measure"] == "ratings" and report["kind"] == "rating"
    rows = _by_name(report)
    off = rows.pop(users[2].pseudonym)
    assert all(
        r["alpha_vs_rest_by_measure"]["rating:helpfulness"]
        > off["alpha_vs_rest_by_measure"]["rating:helpfulness"]
        for r in rows.values()
    )
    assert off["votes"] == 4 and off["alpha_vs_rest"] is not None
    # No A/B preference in a rating campaign: no side or length numbers.
    assert report["position_bias"]["n"] == 0 and report["votes"] == 12


def test_rankings_ordinal_alpha(session: Session) -> None:
    campaign = make_campaign(session, slug="rank", task_kind="ranking", overlap=2)
    _import(
        session,
        campaign,
        [
            {
                "id": f"k{i}",
                "prompt": "P",
                "candidates": [{"system": s, "content": f"{s} {i}"} for s in ("x", "y", "z")],
            }
            for i in range(3)
        ],
    )
    users = _users(session, 2)
    # Places of x, y, z per item and annotator (1 best); u1 swaps y and z on item 2 and ties on item 1.
    places = {0: {0: (1, 2, 3), 1: (1, 2, 3), 2: (1, 2, 3)}, 1: {0: (1, 2, 3), 1: (1, 2, 2), 2: (1, 3, 2)}}

    def rank(user: User, task: AssignmentRead) -> dict[str, Any]:
        i, u = _index(task), users.index(user)
        side = {c.content.split()[0]: "abc"[k] for k, c in enumerate(task.candidates)}
        by_place: dict[int, list[str]] = {}
        for system, place in zip("xyz", places[u][i], strict=True):
            by_place.setdefault(place, []).append(side[system])
        return {"ranking": [by_place[p] for p in sorted(by_place)]}

    for user in users:
        assert _vote_all(session, campaign, user, rank) == 3
    report = service.campaign_quality(session, campaign=campaign)
    matrix = [[p for i in range(3) for p in places[u][i]] for u in (0, 1)]
    assert _alpha(report, "ranking") == pytest.approx(
        metrics.krippendorff_alpha(matrix, level="ordinal"), abs=1e-4
    )
    assert report["alphas"][0]["level"] == "ordinal" and report["primary_measure"] == "ranking"


def test_spans_token_alpha_matches_span_token_alpha(session: Session) -> None:
    campaign = make_campaign(session, slug="spans", task_kind="segment", overlap=2)
    texts = ["Paris is the capital of France 0", "It has ten million cats today 1"]
    _import(
        session,
        campaign,
        [
            {"id": f"s{i}", "prompt": "P", "candidates": [{"system": "s", "content": t}]}
            for i, t in enumerate(texts)
        ],
    )
    users = _users(session, 2)
    # (text, user) -> [(first word, last word exclusive, label)]
    marks = {
        (0, 0): [(3, 4, "incorrect")],
        (0, 1): [(3, 5, "incorrect")],
        (1, 0): [(2, 4, "incorrect")],
        (1, 1): [],
    }

    def mark(user: User, task: AssignmentRead) -> dict[str, Any]:
        i, u = _index(task), users.index(user)
        words = word_offsets(task.candidates[0].content)
        return {
            "spans": [
                {"side": "a", "start": words[first][0], "end": words[last - 1][1], "label": label}
                for first, last, label in marks[(i, u)]
            ]
        }

    for user in users:
        assert _vote_all(session, campaign, user, mark) == 2
    report = service.campaign_quality(session, campaign=campaign)
    documents = [
        metrics.SpanDocument(n_tokens=len(word_offsets(t)), spans={u: marks[(i, u)] for u in (0, 1)})
        for i, t in enumerate(texts)
    ]
    assert _alpha(report, "spans") == pytest.approx(metrics.span_token_alpha(documents), abs=1e-4)
    assert _alpha(report, "spans_any") == pytest.approx(
        metrics.span_token_alpha(documents, ignore_labels=True), abs=1e-4
    )
    assert report["primary_measure"] == "spans"


def test_checklist_and_thumbs_nominal_and_a_judge_reported_apart(session: Session) -> None:
    checklist = make_campaign(session, slug="check", task_kind="checklist", overlap=3)
    questions = [{"id": "q1", "text": "Polite?"}, {"id": "q2", "text": "French?"}]
    _import(
        session,
        checklist,
        [
            {
                "id": f"c{i}",
                "prompt": "P",
                "questions": questions,
                "candidates": [{"system": "s", "content": f"hello {i}"}],
            }
            for i in range(3)
        ],
    )
    thumbs = make_campaign(session, slug="thumbs", task_kind="single", overlap=4)
    _import(
        session,
        thumbs,
        [
            {"id": f"t{i}", "prompt": "P", "candidates": [{"system": "s", "content": f"out {i}"}]}
            for i in range(4)
        ],
    )
    users = _users(session, 3)
    judge = create_user(
        session, email="judge@example.org", password=None, role=Role.annotator, kind=UserKind.model
    )
    session.commit()
    yes = {0: [(1, 0), (1, 1), (0, 0)], 1: [(1, 0), (1, 0), (0, 0)], 2: [(1, 0), (0, 1), (0, 1)]}

    def check(user: User, task: AssignmentRead) -> dict[str, Any]:
        q1, q2 = yes[users.index(user)][_index(task)]
        return {"checklist": {"q1": bool(q1), "q2": bool(q2)}}

    up = {0: "uudd", 1: "uudd", 2: "uddd"}

    def thumb(user: User, task: AssignmentRead) -> dict[str, Any]:
        pattern = "dduu" if user is judge else up[users.index(user)]
        return {"thumb": "up" if pattern[_index(task)] == "u" else "down"}

    for user in users:
        _vote_all(session, checklist, user, check)
        _vote_all(session, thumbs, user, thumb)
    assert _vote_all(session, thumbs, judge, thumb) == 4

    report = service.campaign_quality(session, campaign=checklist)
    matrix = [[("yes" if v else "no") for i in range(3) for v in yes[u][i]] for u in range(3)]
    assert _alpha(report, "checklist") == pytest.approx(metrics.krippendorff_alpha(matrix), abs=1e-4)

    report = service.campaign_quality(session, campaign=thumbs)
    matrix = [list(up[u]) for u in range(3)]
    assert _alpha(report, "thumb") == pytest.approx(metrics.krippendorff_alpha(matrix), abs=1e-4)
    # The judge's votes stay out of the people's numbers, and are compared with them.
    assert report["votes"] == 12 and report["annotators"] == 3
    assert judge.pseudonym not in _by_name(report)
    (entry,) = report["judges"]
    assert entry["annotator"] == judge.pseudonym and entry["votes"] == 4
    (thumbs_row,) = entry["measures"]
    # The people's majority is up, up, down, down; the judge says the opposite everywhere.
    assert thumbs_row["agrees_with_majority"]["k"] == 0 and thumbs_row["agrees_with_majority"]["n"] == 4
    assert thumbs_row["alpha_vs_humans"] < 0


def test_ratings_against_preferences_on_a_pairwise_campaign_with_a_rubric(session: Session) -> None:
    aspects = [{"name": "fluency", "min": 1, "max": 5}, {"name": "accuracy", "min": 1, "max": 5}]
    campaign = make_campaign(session, slug="pr", rubric={"aspects": aspects}, overlap=2)
    _import(
        session,
        campaign,
        [
            {
                "id": f"p{i}",
                "prompt": "P",
                "candidates": [
                    {"system": "s1", "content": f"one {i}"},
                    {"system": "s2", "content": f"two {i}"},
                ],
            }
            for i in range(6)
        ],
    )
    consistent, contrary = _users(session, 2)

    def vote(user: User, task: AssignmentRead) -> dict[str, Any]:
        # Both prefer A; one rates A higher, the other rates B higher on fluency only.
        b_fluency = 2 if user is consistent else 5
        return {
            "outcome": "a",
            "ratings": {"a": {"fluency": 4, "accuracy": 4}, "b": {"fluency": b_fluency, "accuracy": 2}},
        }

    for user in (consistent, contrary):
        assert _vote_all(session, campaign, user, vote) == 6
    report = service.campaign_quality(session, campaign=campaign)
    overall = report["rating_preference"]
    # Mean ratings: A 4 vs B 2 (agrees) for one annotator, A 4 vs B 3.5 (still agrees) for the other.
    assert overall["mean_rating"]["agreeing"]["k"] == 12 and overall["mean_rating"]["agreeing"]["n"] == 12
    assert overall["by_aspect"]["fluency"]["agreeing"] == overall["by_aspect"]["fluency"]["agreeing"] | {
        "k": 6,
        "n": 12,
    }
    assert overall["by_aspect"]["accuracy"]["agreeing"]["rate"] == 1.0
    rows = _by_name(report)
    assert rows[consistent.pseudonym]["rating_preference"]["agreeing"]["rate"] == 1.0
    assert {r["measure"] for r in report["alphas"]} >= {
        "preference",
        "ratings",
        "rating:fluency",
        "rating:accuracy",
    }
    assert any(line["check"] == "ratings_vs_preferences" for line in report["verdict"]["lines"])


def test_gold_accuracy_per_annotator_with_intervals_and_flag(session: Session) -> None:
    campaign = make_campaign(session, slug="gold", task_kind="single", overlap=2)
    campaign.quality = {"min_gold_accuracy": 0.8}
    _import(
        session,
        campaign,
        [
            {"id": f"g{i}", "prompt": "P", "candidates": [{"system": "s", "content": f"out {i}"}]}
            for i in range(10)
        ],
    )
    good, poor = _users(session, 2)
    for user in (good, poor):
        _vote_all(session, campaign, user, lambda user, task: {"thumb": "up"})
    # Pretend the first eight items were gold: good got all eight right, poor three of eight.
    votes = session.query(Vote).order_by(Vote.id).all()
    by_user: dict[int, list[Vote]] = {}
    for vote in votes:
        by_user.setdefault(vote.annotator_id, []).append(vote)
    for vote in by_user[good.id][:8]:
        vote.gold_correct = True
    for k, vote in enumerate(by_user[poor.id][:8]):
        vote.gold_correct = k < 3
    session.commit()
    report = service.campaign_quality(session, campaign=campaign)
    assert report["gold"]["k"] == 11 and report["gold"]["n"] == 16 and report["gold"]["threshold"] == 0.8
    low, high = metrics.wilson_interval(3, 8)
    rows = _by_name(report)
    assert rows[poor.pseudonym]["gold"]["rate"] == 0.375
    assert rows[poor.pseudonym]["gold"]["low"] == pytest.approx(low, abs=1e-4)
    assert rows[poor.pseudonym]["gold"]["high"] == pytest.approx(high, abs=1e-4)
    assert [f["code"] for f in rows[poor.pseudonym]["flags"]] == ["gold"]
    assert rows[good.pseudonym]["gold"]["rate"] == 1.0 and rows[good.pseudonym]["flags"] == []
    gold_line = next(line for line in report["verdict"]["lines"] if line["check"] == "gold")
    assert gold_line["status"] == "bad" and report["verdict"]["overall"] == "not trusted"
    # Half the votes come from a flagged annotator.
    flagged = next(line for line in report["verdict"]["lines"] if line["check"] == "flagged_annotators")
    assert flagged["value"] == 0.5 and flagged["status"] == "bad"
    session.execute(update(Vote).values(gold_correct=None))
    session.commit()
    assert service.campaign_quality(session, campaign=campaign)["gold"]["n"] == 0
