"""LM judges through the API, runs executed in-process (no Redis): both orders, swap-consistency,
votes by an annotator of kind model that the exports flag, reruns, prompt versions, errors, roles."""

import json

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User, UserKind
from app.campaigns.models import Campaign
from app.exports.service import iter_pairwise_rows, iter_vote_rows
from app.items.models import Comparison
from app.judging.models import Judgement
from app.voting.models import Vote
from tests.api_helpers import bearer, wait_for_job
from tests.judging.judge_server import RuleJudge
from tests.support.openai_server import OpenAIServer


def _create(client: TestClient, headers: dict[str, str], base_url: str, **extra: object) -> dict:
    body = {
        "name": "rule",
        "provider": {"kind": "openai", "base_url": base_url, "model": "rule-judge"},
    } | extra
    r = client.post("/api/v1/campaigns/demo/judges", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def _run(client: TestClient, headers: dict[str, str], judge_id: str, **body: object) -> dict:
    r = client.post(f"/api/v1/judges/{judge_id}/run", json=body, headers=headers)
    assert r.status_code == 202, r.text
    return wait_for_job(client, headers, r.json()["id"])


def _judgements(client: TestClient, headers: dict[str, str], judge_id: str) -> list[dict]:
    return client.get(f"/api/v1/judges/{judge_id}/judgements", headers=headers).json()["judgements"]


def test_a_consistent_judge_labels_every_pair_in_both_orders_and_votes_as_a_model(
    client: TestClient,
    session: Session,
    campaign: Campaign,
    researcher: dict[str, str],
    judge_server: OpenAIServer,
    rule_judge: RuleJudge,
) -> None:
    judge = _create(client, researcher, judge_server.base_url)
    job = _run(client, researcher, judge["id"])
    assert job["status"] == "succeeded", job["error"]
    assert job["result"] == {"judged": 4, "failed": 0, "swap_consistency": 1.0}
    assert len(rule_judge.questions) == 8  # four pairs, each in both orders
    judgements = _judgements(client, researcher, judge["id"])
    assert len(judgements) == 4
    for j in judgements:
        # b (beta) is the longer answer: named "second" when a is shown first, "first" when b is.
        assert (j["forward"]["verdict"], j["backward"]["verdict"]) == ("second", "first")
        assert j["label"] == "b" and j["swap_consistent"] and j["confidence"] == 1.0
        assert j["system_b"] == "beta-13b" and j["vote_id"] and j["prompt_version"] == 1
        assert j["forward"]["output"].endswith("**B**")

    session.commit()
    user = session.scalar(select(User).where(User.pseudonym == judge["annotator"]))
    assert user is not None and user.kind == UserKind.model
    votes = session.scalars(select(Vote).where(Vote.annotator_id == user.id)).all()
    assert len(votes) == 4 and all(v.strength is None for v in votes)
    assert all(v.rationale == "The longer answer covers more." for v in votes)
    rows = list(iter_vote_rows(session, campaign=campaign))
    assert {r["annotator_kind"] for r in rows} == {"model"} and {r["winner_system"] for r in rows} == {
        "beta-13b"
    }
    # The pairwise dataset is people's: a judge alone makes none of it, unless asked for.
    assert list(iter_pairwise_rows(session, campaign=campaign)) == []
    assert len(list(iter_pairwise_rows(session, campaign=campaign, annotator_kind=UserKind.model))) == 4
    session.commit()
    # Nothing was taken from the people: every comparison keeps its open slots.
    assert set(session.scalars(select(Comparison.open_slots))) == {campaign.overlap}
    session.commit()

    # A rerun judges nothing twice.
    again = _run(client, researcher, judge["id"])
    assert again["status"] == "succeeded" and again["result"]["judged"] == 0
    assert len(rule_judge.questions) == 8
    session.commit()
    assert len(session.scalars(select(Judgement)).all()) == 4
    session.commit()


def test_a_position_biased_judge_is_swap_inconsistent_and_votes_ties(
    client: TestClient,
    session: Session,
    campaign: Campaign,
    researcher: dict[str, str],
    judge_server: OpenAIServer,
    rule_judge: RuleJudge,
) -> None:
    rule_judge.rule = "first"
    judge = _create(client, researcher, judge_server.base_url)
    job = _run(client, researcher, judge["id"], limit=2)
    assert job["status"] == "succeeded" and job["result"]["judged"] == 2
    assert job["result"]["swap_consistency"] == 0.0
    for j in _judgements(client, researcher, judge["id"]):
        assert (j["forward"]["verdict"], j["backward"]["verdict"]) == ("first", "first")
        assert j["label"] == "tie" and j["swap_consistent"] is False and j["confidence"] == 0.0
    session.commit()
    outcomes = session.scalars(select(Vote.outcome)).all()
    assert [o.value for o in outcomes] == ["tie", "tie"]
    session.commit()


def test_a_new_prompt_version_after_use_leaves_the_used_one_frozen(
    client: TestClient, campaign: Campaign, researcher: dict[str, str], judge_server: OpenAIServer
) -> None:
    judge = _create(client, researcher, judge_server.base_url)
    url = f"/api/v1/judges/{judge['id']}/prompt"
    original = client.get(url, headers=researcher).json()
    assert original["version"] == 1 and "{first}" in original["template"] and not original["in_use"]
    edited = original["template"].replace("Rules:", "Rules to follow:")
    # Unused: edited in place.
    r = client.put(url, json={"template": edited}, headers=researcher)
    assert r.status_code == 200 and r.json()["version"] == 1

    assert _run(client, researcher, judge["id"], limit=1)["status"] == "succeeded"
    r = client.put(url, json={"template": edited + "\nBe brief."}, headers=researcher)
    assert r.status_code == 200 and r.json()["version"] == 2 and not r.json()["in_use"]
    versions = client.get(url + "/versions", headers=researcher).json()
    assert [(v["version"], v["in_use"], v["template"] == edited) for v in versions] == [
        (1, True, True),
        (2, False, False),
    ]
    # The new version judges the pair again; the judge's vote on it stays the first one.
    job = _run(client, researcher, judge["id"], limit=1)
    assert job["result"]["judged"] == 1
    judgements = _judgements(client, researcher, judge["id"])
    assert [(j["prompt_version"], j["vote_id"] is not None) for j in judgements] == [(1, True), (2, False)]
    assert judgements[0]["comparison_id"] == judgements[1]["comparison_id"]

    bad = client.put(url, json={"template": "{prompt} and {first} only"}, headers=researcher)
    assert bad.status_code == 422 and "{second}" in json.dumps(bad.json())


def test_failures_are_recorded_per_pair_and_retried_by_a_rerun(
    client: TestClient,
    session: Session,
    campaign: Campaign,
    researcher: dict[str, str],
    judge_server: OpenAIServer,
    rule_judge: RuleJudge,
) -> None:
    rule_judge.rule = "mumble"
    judge = _create(client, researcher, judge_server.base_url)
    job = _run(client, researcher, judge["id"])
    # Every pair failed: the job fails, saying why; each pair's failure is kept.
    assert job["status"] == "failed" and "no verdict" in job["error"]
    judgements = _judgements(client, researcher, judge["id"])
    assert len(judgements) == 4 and all(j["label"] is None and "no verdict" in j["error"] for j in judgements)
    assert all(j["forward"]["output"].startswith("Both have merits") for j in judgements)
    session.commit()
    assert session.scalars(select(Vote)).all() == []
    session.commit()

    rule_judge.rule = "longer"
    job = _run(client, researcher, judge["id"])
    assert job["status"] == "succeeded" and job["result"]["judged"] == 4
    judgements = _judgements(client, researcher, judge["id"])
    assert len(judgements) == 4 and all(j["label"] == "b" and j["error"] == "" for j in judgements)


def test_an_unreachable_endpoint_is_recorded_for_each_pair(
    client: TestClient, campaign: Campaign, researcher: dict[str, str]
) -> None:
    from tests.support.openai_server import free_port

    judge = _create(client, researcher, f"http://127.0.0.1:{free_port()}/v1")
    job = _run(client, researcher, judge["id"], limit=2)
    assert job["status"] == "failed" and "cannot reach the endpoint" in job["error"]
    judgements = _judgements(client, researcher, judge["id"])
    assert len(judgements) == 2 and all("cannot reach the endpoint" in j["error"] for j in judgements)


def test_a_failing_pair_does_not_stop_the_others(
    client: TestClient,
    campaign: Campaign,
    researcher: dict[str, str],
    judge_server: OpenAIServer,
    rule_judge: RuleJudge,
) -> None:
    judge = _create(client, researcher, judge_server.base_url)
    judge_server.mode = "fail"
    failed = _run(client, researcher, judge["id"], limit=1)
    assert failed["status"] == "failed" and "HTTP 500" in failed["error"]
    judge_server.mode = "ok"
    rule_judge.mumble_on = "Question 2:"
    job = _run(client, researcher, judge["id"])
    # The pair that failed on the HTTP error is asked again; the one that mumbles fails alone.
    assert job["status"] == "succeeded", job["error"]
    assert job["result"] == {"judged": 3, "failed": 1, "swap_consistency": 1.0}
    errors = {j["item_id"]: j["error"] for j in _judgements(client, researcher, judge["id"])}
    assert "no verdict" in errors.pop("q2") and set(errors.values()) == {""}


def test_bad_requests_are_refused_and_store_nothing(
    client: TestClient,
    session: Session,
    campaign: Campaign,
    researcher: dict[str, str],
    judge_server: OpenAIServer,
) -> None:
    url = "/api/v1/campaigns/demo/judges"
    unknown = client.post(url, json={"name": "x", "provider": {"kind": "oracle"}}, headers=researcher)
    assert unknown.status_code == 422
    keyed = {
        "kind": "openai",
        "base_url": "http://h/v1",
        "model": "m",
        "extra_headers": {"Authorization": "k"},
    }
    assert client.post(url, json={"name": "x", "provider": keyed}, headers=researcher).status_code == 422
    no_rm = client.post(url, json={"name": "rm", "provider": {"kind": "reward_model"}}, headers=researcher)
    assert no_rm.status_code == 201  # the active version is looked up when it runs...
    r = client.post(f"/api/v1/judges/{no_rm.json()['id']}/run", json={}, headers=researcher)
    assert r.status_code == 422 and "no active reward model" in r.json()["detail"]  # ...and there is none
    judge = _create(client, researcher, judge_server.base_url)
    assert (
        client.post(url, json={"name": "rule", "provider": judge["provider"]}, headers=researcher).status_code
        == 409
    )
    r = client.post(
        f"/api/v1/judges/{judge['id']}/run", json={"comparison_ids": [999999]}, headers=researcher
    )
    assert r.status_code == 422 and "999999" in r.json()["detail"]
    assert client.post("/api/v1/judges/nope/run", json={}, headers=researcher).status_code == 404
    listed = client.get(url, headers=researcher).json()
    assert sorted(j["name"] for j in listed) == ["rm", "rule"]
    session.commit()
    assert session.scalars(select(Judgement)).all() == []
    session.commit()


def test_annotators_may_not_see_or_run_judges(
    client: TestClient,
    session: Session,
    campaign: Campaign,
    researcher: dict[str, str],
    judge_server: OpenAIServer,
) -> None:
    judge = _create(client, researcher, judge_server.base_url)
    annotator = bearer(session, "ann@example.org")
    for method, url in [
        ("post", "/api/v1/campaigns/demo/judges"),
        ("get", "/api/v1/campaigns/demo/judges"),
        ("get", f"/api/v1/judges/{judge['id']}/prompt"),
        ("put", f"/api/v1/judges/{judge['id']}/prompt"),
        ("post", f"/api/v1/judges/{judge['id']}/run"),
        ("get", f"/api/v1/judges/{judge['id']}/judgements"),
    ]:
        r = client.request(method, url, headers=annotator, json={} if method != "get" else None)
        assert r.status_code == 403, (method, url, r.status_code)
