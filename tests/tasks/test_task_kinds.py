"""Every task kind through the API: what a task shows, what a vote must carry, and what is stored."""

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import ImportRejected
from app.items.models import Candidate, Comparison
from app.items.service import import_items
from app.media import service as media_service
from app.tasks.models import Rubric
from app.voting.models import Assignment, Vote
from tests.api_helpers import bearer
from tests.factories import make_campaign
from tests.media.samples import wav_bytes

ANSWERS = [
    "The capital of France is Paris, a city on the Seine.",
    "Paris is the capital. It has about two million people.",
    "It is Lyon.",
    "France's capital city is Paris.",
]


def _item(item_id: str, n: int = 2, **extra: Any) -> str:
    candidates = [{"system": f"sys-{k}", "content": ANSWERS[k % len(ANSWERS)]} for k in range(n)]
    return json.dumps(
        {"id": item_id, "prompt": "What is the capital of France?", "candidates": candidates} | extra
    )


def _next(client: TestClient, headers: dict[str, str], slug: str = "demo") -> dict[str, Any]:
    r = client.get(f"/api/v1/campaigns/{slug}/next", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def _vote(
    client: TestClient, headers: dict[str, str], task: dict[str, Any], body: dict[str, Any], key: str = "k1"
):
    return client.post(
        f"/api/v1/assignments/{task['assignment_id']}/vote",
        json=body,
        headers=headers | {"Idempotency-Key": key},
    )


def _stored(session: Session) -> Vote:
    session.rollback()
    return session.scalars(select(Vote)).one()


def _system_of(session: Session, public_id: str) -> str:
    return session.scalar(select(Candidate.system).where(Candidate.public_id == public_id)) or ""


def test_a_rating_campaign_rates_each_output_on_the_helpsteer2_rubric(
    client: TestClient, session: Session
) -> None:
    campaign = make_campaign(session, task_kind="rating")
    import_items(session, campaign=campaign, lines=[_item("q1", n=2)])
    session.commit()
    annotator = bearer(session, "ann@example.org")
    assert session.scalar(select(Comparison.candidate_b_id)) is None  # one output per task
    session.rollback()

    task = _next(client, annotator)
    assert len(task["candidates"]) == 1
    assert task["task"]["kind"] == "rating" and task["task"]["rubric_version"] == 1
    names = [a["name"] for a in task["task"]["aspects"]]
    assert names == ["helpfulness", "correctness", "coherence", "complexity", "verbosity"]
    assert "sys-" not in json.dumps(task)

    partial = {"answer": {"ratings": {"a": {"helpfulness": 3}}}}
    r = _vote(client, annotator, task, partial)
    assert r.status_code == 422 and "rate correctness" in r.json()["detail"]
    out_of_range = {"answer": {"ratings": {"a": dict.fromkeys(names, 5)}}}
    r = _vote(client, annotator, task, out_of_range)
    assert r.status_code == 422 and "0 to 4, not 5" in r.json()["detail"]
    r = _vote(
        client, annotator, task, {"outcome": "a", "answer": {"ratings": {"a": dict.fromkeys(names, 2)}}}
    )
    assert r.status_code == 422 and "leave outcome out" in r.json()["detail"]
    assert session.scalar(select(Vote.id)) is None
    session.rollback()

    ratings = {"helpfulness": 4, "correctness": 3, "coherence": 4, "complexity": 1, "verbosity": 2}
    r = _vote(client, annotator, task, {"answer": {"ratings": {"a": ratings}}})
    assert r.status_code == 201, r.text
    assert r.json()["outcome"] is None and r.json()["rubric_version"] == 1
    replay = _vote(client, annotator, task, {"answer": {"ratings": {"a": ratings}}})
    assert replay.status_code == 200 and replay.json()["id"] == r.json()["id"]

    vote = _stored(session)
    (candidate,) = vote.answer["ratings"]
    assert _system_of(session, candidate) in {"sys-0", "sys-1"}
    assert vote.answer["ratings"][candidate] == ratings
    assert vote.outcome is None and vote.winner_candidate_id is None
    assert session.get(Rubric, vote.rubric_id).version == 1


def test_a_rubric_is_edited_in_place_until_a_vote_uses_it_then_versioned(
    client: TestClient, session: Session
) -> None:
    campaign = make_campaign(session, task_kind="rating")
    import_items(session, campaign=campaign, lines=[_item("q1", n=2)])
    session.commit()
    researcher = bearer(session, "res@example.org", role="researcher")
    annotator = bearer(session, "ann@example.org")
    one_aspect = {
        "aspects": [{"name": "quality", "min": 1, "max": 5, "anchors": {"1": "poor", "5": "great"}}]
    }

    r = client.put("/api/v1/campaigns/demo/rubric", json=one_aspect, headers=researcher)
    assert r.status_code == 200 and r.json()["version"] == 1 and not r.json()["in_use"]
    bad = {"aspects": [{"name": "quality", "min": 3, "max": 1}]}
    r = client.put("/api/v1/campaigns/demo/rubric", json=bad, headers=researcher)
    assert r.status_code == 422 and "min must be below max" in r.text
    assert client.put("/api/v1/campaigns/demo/rubric", json=one_aspect, headers=annotator).status_code == 403

    task = _next(client, annotator)
    assert task["task"]["aspects"][0]["anchors"] == {"1": "poor", "5": "great"}
    assert _vote(client, annotator, task, {"answer": {"ratings": {"a": {"quality": 5}}}}).status_code == 201

    two_aspects = {"aspects": one_aspect["aspects"] + [{"name": "style"}]}
    r = client.put("/api/v1/campaigns/demo/rubric", json=two_aspects, headers=researcher)
    assert r.status_code == 200 and r.json()["version"] == 2
    versions = client.get("/api/v1/campaigns/demo/rubric/versions", headers=researcher).json()
    assert [(v["version"], v["in_use"], len(v["aspects"])) for v in versions] == [(1, True, 1), (2, False, 2)]

    task = _next(client, annotator)
    assert task["task"]["rubric_version"] == 2
    r = _vote(client, annotator, task, {"answer": {"ratings": {"a": {"quality": 2, "style": 0}}}}, key="k2")
    assert r.status_code == 201 and r.json()["rubric_version"] == 2


def test_a_pairwise_campaign_with_a_rubric_takes_a_preference_and_ratings_of_both(
    client: TestClient, session: Session
) -> None:
    rubric = {"aspects": [{"name": "helpfulness"}, {"name": "safety", "min": 0, "max": 2}]}
    campaign = make_campaign(session, rubric=rubric)
    import_items(session, campaign=campaign, lines=[_item("q1", n=2)])
    session.commit()
    annotator = bearer(session, "ann@example.org")
    task = _next(client, annotator)
    assert len(task["candidates"]) == 2 and task["task"]["kind"] == "pairwise"

    r = _vote(client, annotator, task, {"outcome": "a"})
    assert r.status_code == 422 and "rating of every aspect" in r.json()["detail"]
    only_a = {"outcome": "a", "answer": {"ratings": {"a": {"helpfulness": 4, "safety": 2}}}}
    r = _vote(client, annotator, task, only_a)
    assert r.status_code == 422 and "output B" in r.json()["detail"]
    both = {"a": {"helpfulness": 4, "safety": 2}, "b": {"helpfulness": 1, "safety": 1}}
    r = _vote(client, annotator, task, {"outcome": "a", "strength": 2, "answer": {"ratings": both}})
    assert r.status_code == 201, r.text

    vote = _stored(session)
    a, b = (c["id"] for c in task["candidates"])
    assert vote.answer["ratings"] == {a: both["a"], b: both["b"]}
    assert vote.outcome == "preference" and vote.strength == 2
    assert vote.winner_candidate_id == session.scalar(select(Candidate.id).where(Candidate.public_id == a))


def test_a_ranking_orders_every_output_with_ties_kept(client: TestClient, session: Session) -> None:
    campaign = make_campaign(session, task_kind="ranking")
    import_items(session, campaign=campaign, lines=[_item("q1", n=4)])
    session.commit()
    annotator = bearer(session, "ann@example.org")
    comparison = session.scalars(select(Comparison)).one()
    assert comparison.members is not None and len(comparison.members) == 4
    session.rollback()

    task = _next(client, annotator)
    shown = [c["id"] for c in task["candidates"]]
    assert len(shown) == 4 and task["task"]["kind"] == "ranking"
    r = _vote(client, annotator, task, {"answer": {"ranking": [["a"], ["b"], ["c"]]}})
    assert r.status_code == 422 and "exactly once" in r.json()["detail"]
    r = _vote(client, annotator, task, {"answer": {"ranking": [["a"], ["b", "a"], ["c", "d"]]}})
    assert r.status_code == 422
    r = _vote(client, annotator, task, {"answer": {"ranking": [["c"], ["a", "d"], ["b"]]}})
    assert r.status_code == 201, r.text

    vote = _stored(session)
    assert vote.answer["ranking"] == [[shown[2]], sorted([shown[0], shown[3]]), [shown[1]]]
    assignment = session.get(Assignment, vote.assignment_id)
    ids = session.scalars(select(Candidate.id).where(Candidate.public_id.in_(shown))).all()
    assert sorted(assignment.shown_ids) == sorted(ids)


def test_ranking_imports_refuse_items_that_cannot_be_ranked(client: TestClient, session: Session) -> None:
    make_campaign(session, task_kind="ranking", task_config={"max_ranked": 3})
    session.commit()
    researcher = bearer(session, "res@example.org", role="researcher")
    r = client.post("/api/v1/campaigns/demo/items", content=_item("q1", n=4), headers=researcher)
    assert r.status_code == 422 and "2 to 3 candidates" in r.text
    r = client.post("/api/v1/campaigns/demo/items", content=_item("q1", n=1), headers=researcher)
    assert r.status_code == 422
    r = client.post(
        "/api/v1/campaigns/demo/items", content=_item("q1", n=3, pairs=[[0, 1]]), headers=researcher
    )
    assert r.status_code == 422 and "pairs are for pairwise tasks" in r.text
    session.rollback()
    assert session.scalar(select(Comparison.id)) is None


def test_text_spans_snap_to_words_and_take_labels_from_the_taxonomy(
    client: TestClient, session: Session
) -> None:
    campaign = make_campaign(
        session, task_kind="segment", task_config={"taxonomy": ["incorrect", "irrelevant"]}
    )
    import_items(session, campaign=campaign, lines=[_item("q1", n=1)])
    session.commit()
    annotator = bearer(session, "ann@example.org")
    task = _next(client, annotator)
    text = task["candidates"][0]["content"]
    assert task["task"]["segment_mode"] == "spans" and task["task"]["taxonomy"] == ["incorrect", "irrelevant"]

    start = text.index("Paris") + 2  # "ris, a ci" -> widened to whole words
    end = text.index("city") + 2
    r = _vote(
        client, annotator, task, {"answer": {"spans": [{"start": start, "end": end, "label": "wrong"}]}}
    )
    assert r.status_code == 422 and "unknown label 'wrong'" in r.json()["detail"]
    r = _vote(
        client,
        annotator,
        task,
        {"answer": {"spans": [{"start": 0, "end": len(text) + 5, "label": "incorrect"}]}},
    )
    assert r.status_code == 422 and "not within" in r.json()["detail"]
    r = _vote(client, annotator, task, {"answer": {}})
    assert r.status_code == 422 and "marked spans" in r.json()["detail"]
    spans = [
        {"start": start, "end": end, "label": "incorrect", "comment": "  Lyon?  "},
        {"start": text.index("Seine"), "end": len(text), "label": "irrelevant"},
    ]
    r = _vote(client, annotator, task, {"answer": {"spans": spans}, "flags": {"a": ["unsafe"]}})
    assert r.status_code == 201, r.text

    stored = _stored(session).answer["spans"]
    assert [(s["text"], s["label"], s["comment"]) for s in stored] == [
        ("Paris, a city", "incorrect", "Lyon?"),
        ("Seine.", "irrelevant", ""),
    ]
    assert text[stored[0]["start"] : stored[0]["end"]] == "Paris, a city"


def test_no_spans_is_an_answer_too(client: TestClient, session: Session) -> None:
    campaign = make_campaign(session, task_kind="segment")
    import_items(session, campaign=campaign, lines=[_item("q1", n=1)])
    session.commit()
    annotator = bearer(session, "ann@example.org")
    task = _next(client, annotator)
    assert _vote(client, annotator, task, {"answer": {"spans": []}}).status_code == 201
    assert _stored(session).answer == {"spans": []}


def test_a_checklist_needs_its_questions_at_import_and_an_answer_to_each(
    client: TestClient, session: Session
) -> None:
    campaign = make_campaign(session, task_kind="checklist")
    session.commit()
    researcher = bearer(session, "res@example.org", role="researcher")
    r = client.post("/api/v1/campaigns/demo/items", content=_item("q1", n=1), headers=researcher)
    assert r.status_code == 422 and "needs its questions" in r.text
    questions = [{"id": "cites", "text": "Does it name the city?"}, {"id": "short", "text": "One sentence?"}]
    r = client.post(
        "/api/v1/campaigns/demo/items", content=_item("q1", n=2, questions=questions), headers=researcher
    )
    assert r.status_code == 201 and r.json()["comparisons_created"] == 2
    annotator = bearer(session, "ann@example.org")
    task = _next(client, annotator)
    assert task["task"]["questions"] == questions

    r = _vote(client, annotator, task, {"answer": {"checklist": {"cites": True}}})
    assert r.status_code == 422 and "question short" in r.json()["detail"]
    r = _vote(client, annotator, task, {"answer": {"checklist": {"cites": True, "short": False, "x": True}}})
    assert r.status_code == 422 and "unknown question" in r.json()["detail"]
    r = _vote(client, annotator, task, {"answer": {"checklist": {"short": False, "cites": True}}})
    assert r.status_code == 201
    assert _stored(session).answer == {"checklist": {"cites": True, "short": False}}
    del campaign


def test_single_output_thumbs(client: TestClient, session: Session) -> None:
    campaign = make_campaign(session, task_kind="single", reveal_identities=True)
    import_items(session, campaign=campaign, lines=[_item("q1", n=1)])
    session.commit()
    annotator = bearer(session, "ann@example.org")
    task = _next(client, annotator)
    r = _vote(client, annotator, task, {"answer": {"thumb": "sideways"}})
    assert r.status_code == 422
    r = _vote(client, annotator, task, {"answer": {"ranking": [["a"]]}})
    assert r.status_code == 422 and "does not take ranking" in r.json()["detail"]
    r = _vote(client, annotator, task, {"answer": {"thumb": "up"}, "flags": {"b": ["unsafe"]}})
    assert r.status_code == 422 and "one output" in r.json()["detail"]
    r = _vote(client, annotator, task, {"answer": {"thumb": "down"}, "strength": 2})
    assert r.status_code == 422
    r = _vote(client, annotator, task, {"answer": {"thumb": "up"}})
    assert r.status_code == 201 and r.json()["revealed"] == {"a": "sys-0"}
    assert _stored(session).answer == {"thumb": "up"}


def _clip_lines(folder: Path, seconds: float = 2.0) -> list[str]:
    frames = int(8000 * seconds)
    (folder / "one.wav").write_bytes(wav_bytes(frames=frames))
    (folder / "two.wav").write_bytes(wav_bytes(frames=frames + 8))
    return [
        json.dumps(
            {
                "id": "clip",
                "prompt": "Which recording is clearer?",
                "candidates": [
                    {"system": "codec-x", "media": "one.wav"},
                    {"system": "codec-y", "media": "two.wav"},
                ],
            }
        )
    ]


def test_a_minimum_listening_time_is_enforced_from_the_listening_log(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    campaign = make_campaign(session, modality="audio", task_config={"min_listen_s": 1.5})
    import_items(session, campaign=campaign, lines=_clip_lines(tmp_path), media_base=tmp_path)
    session.commit()
    annotator = bearer(session, "ann@example.org")
    task = _next(client, annotator)
    assert task["task"]["min_listen_s"] == 1.5
    assert sorted(m["duration_s"] for c in task["candidates"] for m in c["media"]) == [2.0, 2.001]

    r = _vote(client, annotator, task, {"outcome": "a"})
    assert r.status_code == 422 and "at least 1.5 s" in r.json()["detail"]
    only_a = [
        {"side": "a", "event": "play", "media_s": 0, "wall_ms": 0},
        {"side": "a", "event": "pause", "media_s": 1.6, "wall_ms": 1600},
    ]
    r = _vote(client, annotator, task, {"outcome": "a", "answer": {"listening_log": only_a}})
    assert r.status_code == 422 and "B: 0.0 s" in r.json()["detail"]
    assert session.scalar(select(Vote.id)) is None
    session.rollback()

    log = [
        {"side": "a", "event": "play", "media_s": 0, "wall_ms": 0},
        {"side": "b", "event": "switch", "media_s": 0.8, "wall_ms": 800},
        {"side": "b", "event": "seek", "media_s": 0.2, "wall_ms": 1000},
        {"side": "a", "event": "switch", "media_s": 1.2, "wall_ms": 2400},
        {"side": "a", "event": "pause", "media_s": 2.0, "wall_ms": 3200},
    ]
    # A log that claims more listening than the time since the task was handed out counts only that long.
    r = _vote(client, annotator, task, {"outcome": "b", "answer": {"listening_log": log}})
    assert r.status_code == 422

    assignment = session.scalars(select(Assignment)).one()
    assignment.leased_at -= timedelta(seconds=10)
    session.commit()
    r = _vote(client, annotator, task, {"outcome": "b", "answer": {"listening_log": log}})
    assert r.status_code == 201, r.text
    vote = _stored(session)
    a, b = (c["id"] for c in task["candidates"])
    assert [(e["candidate"], e["event"]) for e in vote.listening_log] == [
        (a, "play"),
        (b, "switch"),
        (b, "seek"),
        (a, "switch"),
        (a, "pause"),
    ]


def test_time_ranges_need_a_clip_and_stay_within_it(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    campaign = make_campaign(
        session, task_kind="segment", modality="audio", task_config={"segment_mode": "time"}
    )
    import_items(session, campaign=campaign, lines=_clip_lines(tmp_path), media_base=tmp_path)
    session.commit()
    annotator = bearer(session, "ann@example.org")
    task = _next(client, annotator)
    assert len(task["candidates"]) == 1

    late = {"start_s": 1.0, "end_s": 9.0, "label": "incorrect"}
    r = _vote(client, annotator, task, {"answer": {"time_ranges": [late]}})
    assert r.status_code == 422 and "after the clip's end" in r.json()["detail"]
    backwards = {"start_s": 1.0, "end_s": 0.5, "label": "incorrect"}
    assert _vote(client, annotator, task, {"answer": {"time_ranges": [backwards]}}).status_code == 422
    good = {"start_s": 0.25, "end_s": 1.5, "label": "other", "comment": "click"}
    assert _vote(client, annotator, task, {"answer": {"time_ranges": [good]}}).status_code == 201
    (stored,) = _stored(session).answer["time_ranges"]
    assert (stored["start_s"], stored["end_s"], stored["label"], stored["comment"]) == (
        0.25,
        1.5,
        "other",
        "click",
    )


def test_window_preferences_answer_every_window_of_two_aligned_clips(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    campaign = make_campaign(
        session,
        task_kind="segment",
        modality="audio",
        task_config={"segment_mode": "windows", "window_s": 0.5},
    )
    import_items(session, campaign=campaign, lines=_clip_lines(tmp_path), media_base=tmp_path)
    session.commit()
    annotator = bearer(session, "ann@example.org")
    task = _next(client, annotator)
    assert len(task["candidates"]) == 2 and task["task"]["window_s"] == 0.5

    r = _vote(client, annotator, task, {"answer": {"windows": ["a", "b"]}})
    assert r.status_code == 422 and "4 windows" in r.json()["detail"]
    r = _vote(client, annotator, task, {"answer": {"windows": ["a", "b", "tie", "a"]}})
    assert r.status_code == 201
    a, b = (c["id"] for c in task["candidates"])
    assert _stored(session).answer == {"windows": [a, b, "tie", a]}


def test_unit_settings_are_fixed_once_items_exist(client: TestClient, session: Session) -> None:
    campaign = make_campaign(session, task_kind="segment")
    session.commit()
    researcher = bearer(session, "res@example.org", role="researcher")
    r = client.patch(
        "/api/v1/campaigns/demo", json={"task_config": {"segment_mode": "time"}}, headers=researcher
    )
    assert r.status_code == 200 and r.json()["task_config"]["segment_mode"] == "time"
    import_items(session, campaign=campaign, lines=[_item("q1", n=1)])
    session.commit()
    r = client.patch(
        "/api/v1/campaigns/demo", json={"task_config": {"segment_mode": "spans"}}, headers=researcher
    )
    assert r.status_code == 409 and "segment_mode" in r.json()["detail"]
    r = client.patch(
        "/api/v1/campaigns/demo",
        json={"task_config": {"segment_mode": "time", "taxonomy": ["noise", "clipping"]}},
        headers=researcher,
    )
    assert r.status_code == 200 and r.json()["task_config"]["taxonomy"] == ["noise", "clipping"]
    r = client.post(
        "/api/v1/campaigns",
        json={"slug": "x", "name": "X", "task_config": {"window_s": -1}},
        headers=researcher,
    )
    assert r.status_code == 422
    r = client.post(
        "/api/v1/campaigns",
        json={"slug": "y", "name": "Y", "task_kind": "ranking", "rubric": {"aspects": [{"name": "q"}]}},
        headers=researcher,
    )
    assert r.status_code == 422 and "takes no rubric" in r.text


@pytest.mark.parametrize("kind", ["pairwise", "rating", "ranking", "segment", "checklist", "single"])
def test_every_kind_shows_no_system_name(client: TestClient, session: Session, kind: str) -> None:
    campaign = make_campaign(session, task_kind=kind)
    extra = {"questions": [{"id": "q", "text": "Correct?"}]} if kind == "checklist" else {}
    import_items(session, campaign=campaign, lines=[_item("q1", n=3, **extra)])
    session.commit()
    annotator = bearer(session, "ann@example.org")
    task = _next(client, annotator)
    assert "sys-" not in json.dumps(task)
    page = client.get("/campaigns/demo/task", headers=annotator)
    assert "sys-" not in page.text


def test_window_preferences_refuse_clips_of_different_lengths(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    campaign = make_campaign(session, task_kind="segment", task_config={"segment_mode": "windows"})
    (tmp_path / "short.wav").write_bytes(wav_bytes(frames=8000))
    (tmp_path / "long.wav").write_bytes(wav_bytes(frames=16000))
    line = json.dumps(
        {
            "id": "clip",
            "prompt": "Which is better, second by second?",
            "candidates": [{"system": "x", "media": "short.wav"}, {"system": "y", "media": "long.wav"}],
        }
    )
    with pytest.raises(ImportRejected, match=r"equal length; these are 1.00 s, 2.00 s"):
        import_items(session, campaign=campaign, lines=[line], media_base=tmp_path)
    session.rollback()
    assert session.scalar(select(Comparison.id)) is None


def test_webm_clips_get_their_duration_from_the_container(session: Session, tmp_path: Path) -> None:
    import subprocess

    import imageio_ffmpeg

    clip = tmp_path / "clip.webm"
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-y",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=1.5:size=32x24:rate=10",
            "-c:v",
            "libvpx",
            "-b:v",
            "50k",
            str(clip),
        ],
        check=True,
        timeout=60,
    )
    assert media_service.duration("video/webm", clip) == {"duration_s": 1.5}
    assert media_service.duration("video/webm", tmp_path / "missing.webm") == {}
