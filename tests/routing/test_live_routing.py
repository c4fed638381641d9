"""Live hybrid routing end to end, jobs run in-process (no Redis): a rule-following judge labels 60 pairs
through the real judge job; people vote through the voting service, agreeing with it on "easy" items and
not on "hard" ones; the fit learns that from the tags, sends the least trusted pairs to people and takes
the rest out of the human queue. Then the dashboard's numbers, refusals, and a refit that reopens pairs."""

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.campaigns.models import Campaign
from app.items.models import Comparison, Item
from app.items.service import import_items
from app.jobs.models import Job
from app.routing.models import Route, RoutingDecision, RoutingPlan
from app.voting import service as voting_service
from app.voting.schemas import VoteCreate
from tests.api_helpers import bearer, sign_in, wait_for_job
from tests.factories import make_campaign, make_user
from tests.judging.judge_server import RuleJudge, serve_judge
from tests.support.openai_server import OpenAIServer

N_PAIRS = 60
OVERLAP = 2
PLAN = {"human_budget": 0.25, "alpha": 0.1, "calibration_size": 40}


def _lines(n: int) -> list[str]:
    """n items of one pair each, every other one tagged hard; b's answer is always the longer one."""
    return [
        json.dumps(
            {
                "id": f"q{i}",
                "prompt": f"Question {i} [{'hard' if i % 2 else 'easy'}]: explain topic {i}.",
                "tags": ["hard" if i % 2 else "easy"],
                "candidates": [
                    {"system": "alpha-7b", "content": f"Answer to question {i}: short."},
                    {"system": "beta-13b", "content": f"Answer to question {i}: longer, with more detail."},
                ],
            }
        )
        for i in range(n)
    ]


@pytest.fixture
def judge_server() -> Iterator[OpenAIServer]:
    with serve_judge(RuleJudge()) as server:  # prefers the longer answer: always b here
        yield server


@pytest.fixture
def campaign(session: Session) -> Campaign:
    campaign = make_campaign(session, slug="demo", overlap=OVERLAP)
    import_items(session, campaign=campaign, lines=_lines(N_PAIRS))
    session.commit()
    return campaign


@pytest.fixture
def researcher(session: Session) -> dict[str, str]:
    return bearer(session, "res@example.org", Role.researcher)


def _create_judge(client: TestClient, headers: dict[str, str], base_url: str, slug: str = "demo") -> str:
    body = {"name": "rule", "provider": {"kind": "openai", "base_url": base_url, "model": "rule-judge"}}
    r = client.post(f"/api/v1/campaigns/{slug}/judges", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _run_judge(client: TestClient, headers: dict[str, str], judge_id: str) -> None:
    r = client.post(f"/api/v1/judges/{judge_id}/run", json={}, headers=headers)
    assert r.status_code == 202, r.text
    job = wait_for_job(client, headers, r.json()["id"])
    assert job["status"] == "succeeded" and job["result"]["judged"] == N_PAIRS, job


def _fit(client: TestClient, headers: dict[str, str]) -> dict:
    r = client.post("/api/v1/campaigns/demo/routing/fit", headers=headers)
    assert r.status_code == 202, r.text
    job = wait_for_job(client, headers, r.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    return job


def _vote_everything(session: Session, campaign: Campaign, annotator: User) -> list[str]:
    """Votes every pair handed out, for the longer answer on easy items and the shorter on hard ones;
    returns the prompts it was given."""
    seen = []
    while (
        task := voting_service.next_assignment(session, campaign=campaign, annotator=annotator)
    ) is not None:
        first, second = task.candidates
        first_longer = len(first.content) > len(second.content)
        wants_longer = "[easy]" in task.prompt
        voting_service.cast_vote(
            session,
            assignment_id=task.assignment_id,
            annotator=annotator,
            data=VoteCreate(outcome="a" if first_longer == wants_longer else "b"),
            idempotency_key=None,
        )
        session.commit()
        seen.append(task.prompt)
    session.commit()
    return seen


@dataclass
class Routed:
    judge_id: str
    slots_before: dict[int, int]  # open slots per comparison just before the fit
    hard: set[int]  # comparisons of hard items


def _open_slots(session: Session) -> dict[int, int]:
    slots = dict(session.execute(select(Comparison.id, Comparison.open_slots)).all())
    session.commit()
    return slots


def _routes(session: Session) -> dict[int, tuple[Route, float | None]]:
    rows = session.execute(
        select(RoutingDecision.comparison_id, RoutingDecision.route, RoutingDecision.p_agree)
    ).all()
    session.commit()
    return {c: (r, p) for c, r, p in rows}


@pytest.fixture
def routed(
    client: TestClient,
    session: Session,
    campaign: Campaign,
    researcher: dict[str, str],
    judge_server: OpenAIServer,
) -> Routed:
    judge_id = _create_judge(client, researcher, judge_server.base_url)
    _run_judge(client, researcher, judge_id)
    r = client.post("/api/v1/campaigns/demo/routing", json={"judge": judge_id, **PLAN}, headers=researcher)
    assert r.status_code == 200, r.text
    assert r.json()["plan"]["status"] == "draft" and r.json()["coverage"]["calibration"] == 40
    annotator = make_user(session, "ann@example.org")
    session.commit()
    assert len(_vote_everything(session, campaign, annotator)) == N_PAIRS
    hard = set(
        session.scalars(
            select(Comparison.id)
            .join(Item, Item.id == Comparison.item_id)
            .where(Item.prompt.contains("[hard]"))
        )
    )
    session.commit()
    slots_before = _open_slots(session)
    assert set(slots_before.values()) == {OVERLAP - 1}
    _fit(client, researcher)
    return Routed(judge_id=judge_id, slots_before=slots_before, hard=hard)


def test_the_fit_sends_the_least_trusted_pairs_to_people_and_the_rest_to_the_judge(
    client: TestClient, session: Session, campaign: Campaign, researcher: dict[str, str], routed: Routed
) -> None:
    routes = _routes(session)
    by_route = {r: {c for c, (route, _) in routes.items() if route == r} for r in Route}
    assert len(routes) == N_PAIRS
    assert [len(by_route[r]) for r in (Route.calibration, Route.human, Route.judge)] == [40, 5, 15]
    # The router learnt from the tags that the judge fails people on hard items: every hard pair
    # outside the slice is less trusted than every easy one, and the budget goes to hard ones first.
    routed_ids = by_route[Route.human] | by_route[Route.judge]
    hard_p = [routes[c][1] for c in routed_ids & routed.hard]
    easy_p = [routes[c][1] for c in routed_ids - routed.hard]
    assert hard_p and easy_p and max(hard_p) < min(easy_p)
    hard_outside = routed_ids & routed.hard
    assert by_route[Route.human] <= hard_outside or hard_outside <= by_route[Route.human]
    assert all(p is not None for _, p in routes.values())

    # Judge-routed pairs leave the human queue; the others keep their slots.
    slots = _open_slots(session)
    assert {slots[c] for c in by_route[Route.judge]} == {0}
    assert all(
        slots[c] == routed.slots_before[c] for c in by_route[Route.human] | by_route[Route.calibration]
    )
    second = make_user(session, "second@example.org")
    session.commit()
    handed = _vote_everything(session, campaign, second)
    prompts = dict(session.execute(select(Comparison.id, Item.prompt).join(Item)).all())
    session.commit()
    assert sorted(handed) == sorted(prompts[c] for c in by_route[Route.calibration] | by_route[Route.human])

    body = client.get("/api/v1/campaigns/demo/routing", headers=researcher).json()
    assert body["plan"]["status"] == "routed" and body["plan"]["stale"] is False
    assert body["plan"]["fit_job"]["status"] == "succeeded"
    assert body["coverage"] == {
        "pairs": 60,
        "judged": 60,
        "calibration": 40,
        "human": 5,
        "judge": 15,
        "not_routed": 0,
        "not_judged": 0,
    }
    easy_in_slice = len(by_route[Route.calibration] - routed.hard)
    assert body["agreement_calibration"] == {"pairs": 40, "agreed": easy_in_slice, "rate": easy_in_slice / 40}
    assert body["agreement_all"] == {"pairs": 60, "agreed": 30, "rate": 0.5}
    # Both annotators voted every pair kept for people: 45 pairs x overlap 2.
    assert body["budget"] == {"share": 0.25, "pairs": 45, "votes_planned": 90, "votes_cast": 90, "spent": 1.0}
    assert body["swap_consistency"] == {"judged": 60, "consistent": 60, "rate": 1.0}
    router = body["router"]
    assert router["calibration_size"] == 40 and router["calibration_agreement"] == easy_in_slice / 40
    assert router["meets_bound"] and router["accepted_agreement"] >= 0.9 and router["threshold"] is not None
    assert router["coefficients"]["tag:hard"] < 0 < router["coefficients"]["tag:easy"]
    assert router["below_threshold"] == sum(routes[c][1] < router["threshold"] for c in by_route[Route.judge])


def test_the_page_shows_the_plan_and_the_dashboard(
    client: TestClient, session: Session, campaign: Campaign, routed: Routed
) -> None:
    make_user(session, "page@example.org", Role.researcher)
    session.commit()
    sign_in(client, "page@example.org")
    page = client.get("/campaigns/demo/routing")
    assert page.status_code == 200
    html = page.text
    assert 'class="badge status-routed"' in html and "Fit again and re-route" in html
    assert f'<option value="{routed.judge_id}" selected>rule</option>' in html
    coverage = html.split('class="grid coverage"', 1)[1].split("</table>", 1)[0]
    assert "<td>60</td><td>60</td><td>15</td><td>5</td><td>40</td><td>0</td><td>0</td>" in coverage
    assert "<th>every pair</th><td>60</td><td>30</td><td>50.0%</td>" in html
    assert "Swap-consistent: 60 of 60 judged pairs (100.0%)" in html
    assert "<td>tag:hard</td>" in html and "Human budget spent: 45 of 90 human votes (50.0%)" in html
    # The htmx request gets the dashboard alone.
    fragment = client.get("/campaigns/demo/routing", headers={"HX-Request": "true"}).text
    assert fragment.lstrip().startswith("<div") and "<h1>" not in fragment


def test_a_refit_with_a_larger_budget_gives_the_judged_pairs_back_to_people(
    client: TestClient, session: Session, campaign: Campaign, researcher: dict[str, str], routed: Routed
) -> None:
    to_judge = {c for c, (r, _) in _routes(session).items() if r == Route.judge}
    r = client.post(
        "/api/v1/campaigns/demo/routing",
        json={"judge": routed.judge_id, **PLAN, "human_budget": 1.0},
        headers=researcher,
    )
    assert r.status_code == 200 and r.json()["plan"]["stale"] is True
    assert r.json()["coverage"]["judge"] == 15  # nothing changes until the fit
    _fit(client, researcher)
    routes = _routes(session)
    assert {r for r, _ in routes.values()} == {Route.calibration, Route.human}
    slots = _open_slots(session)
    # Reopened: overlap minus the one human vote each has (the judge's own vote never took a slot).
    assert {slots[c] for c in to_judge} == {OVERLAP - 1}
    assert slots == routed.slots_before

    # A smaller slice keeps the pairs people voted on; the dropped ones are routed at the next fit.
    r = client.post(
        "/api/v1/campaigns/demo/routing",
        json={"judge": routed.judge_id, **PLAN, "calibration_size": 20},
        headers=researcher,
    )
    assert r.status_code == 200 and r.json()["coverage"]["calibration"] == 20
    assert r.json()["coverage"]["not_routed"] == 20
    _fit(client, researcher)
    body = client.get("/api/v1/campaigns/demo/routing", headers=researcher).json()
    assert body["coverage"]["human"] + body["coverage"]["judge"] == 40
    assert body["coverage"]["human"] == 10 and body["router"]["calibration_size"] == 20


def test_bad_plans_and_premature_fits_are_refused_and_store_nothing(
    client: TestClient,
    session: Session,
    campaign: Campaign,
    researcher: dict[str, str],
    judge_server: OpenAIServer,
) -> None:
    judge_id = _create_judge(client, researcher, judge_server.base_url)
    url = "/api/v1/campaigns/demo/routing"
    for body, field in (
        ({"judge": judge_id, "human_budget": 1.5}, "human_budget"),
        ({"judge": judge_id, "human_budget": -0.1}, "human_budget"),
        ({"judge": judge_id, "calibration_size": 9}, "calibration_size"),
        ({"judge": judge_id, "calibration_size": 61}, "calibration_size"),
        ({"judge": judge_id, "alpha": 0}, "alpha"),
        ({"judge": "nosuchjudge"}, "judge"),
    ):
        r = client.post(url, json=body, headers=researcher)
        assert r.status_code == 422 and field in r.text, (body, r.text)
    make_campaign(session, slug="other")
    session.commit()
    r = client.post("/api/v1/campaigns/other/routing", json={"judge": judge_id}, headers=researcher)
    assert r.status_code == 422 and "another campaign" in r.json()["detail"]
    assert client.get(url, headers=researcher).status_code == 404
    assert client.post(url + "/fit", headers=researcher).status_code == 404

    annotator = bearer(session, "ann@example.org")
    assert client.post(url, json={"judge": judge_id}, headers=annotator).status_code == 403
    assert client.get(url, headers=annotator).status_code == 403
    assert session.scalars(select(RoutingPlan)).all() == []
    session.commit()

    # A plan whose judge has not run: the fit is refused before any job starts, saying what to do.
    assert client.post(url, json={"judge": judge_id}, headers=researcher).status_code == 200
    r = client.post(url + "/fit", headers=researcher)
    assert r.status_code == 409 and "run it first" in r.json()["detail"] and judge_id in r.json()["detail"]
    # Judged, but people have not voted yet.
    _run_judge(client, researcher, judge_id)
    r = client.post(url + "/fit", headers=researcher)
    assert r.status_code == 409 and "0 of the 40 calibration pairs" in r.json()["detail"]
    assert client.post(url + "/fit", headers=annotator).status_code == 403
    assert session.scalars(select(Job.kind)).all() == ["preflab.judging.judge"]
    assert session.scalars(select(RoutingDecision.route)).all() == [Route.calibration] * 40
    session.commit()
    body = client.get(url, headers=researcher).json()
    assert body["plan"]["status"] == "draft" and body["router"] is None
    assert body["agreement_calibration"] == {"pairs": 0, "agreed": 0, "rate": None}


def test_a_new_judge_undoes_the_old_ones_routing(
    client: TestClient,
    session: Session,
    campaign: Campaign,
    researcher: dict[str, str],
    judge_server: OpenAIServer,
    routed: Routed,
) -> None:
    slice_before = {c for c, (r, _) in _routes(session).items() if r == Route.calibration}
    other = client.post(
        "/api/v1/campaigns/demo/judges",
        json={
            "name": "other",
            "provider": {"kind": "openai", "base_url": judge_server.base_url, "model": "m"},
        },
        headers=researcher,
    ).json()["id"]
    r = client.post("/api/v1/campaigns/demo/routing", json={"judge": other, **PLAN}, headers=researcher)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["plan"]["status"] == "draft" and body["router"] is None and body["plan"]["judge"] == other
    assert body["coverage"]["judged"] == 0 and body["coverage"]["judge"] == 0
    # The slice (and its human votes) is kept; every pair is open to people again.
    assert {c for c, (r, _) in _routes(session).items()} == slice_before
    assert _open_slots(session) == routed.slots_before


def test_an_expired_lease_does_not_reopen_a_pair_the_judge_took(
    session: Session, campaign: Campaign, routed: Routed
) -> None:
    from datetime import timedelta

    from app.db import utcnow
    from app.voting.models import Assignment, AssignmentStatus

    routes = _routes(session)
    judged = next(c for c, (route, _) in routes.items() if route == Route.judge)
    comparison = session.get_one(Comparison, judged)
    late = make_user(session, "late@example.org")
    session.flush()
    # Someone held a lease on the pair when the fit sent it to the judge, and let it run out.
    session.add(
        Assignment(
            campaign_id=campaign.id,
            comparison_id=judged,
            annotator_id=late.id,
            left_candidate_id=comparison.candidate_a_id,
            right_candidate_id=comparison.candidate_b_id,
            status=AssignmentStatus.leased,
            leased_at=utcnow() - timedelta(hours=2),
            lease_expires_at=utcnow() - timedelta(hours=1),
        )
    )
    session.commit()
    assert voting_service.reclaim_expired_leases(session, campaign_id=campaign.id) == 1
    session.commit()
    assert _open_slots(session)[judged] == 0
