"""Exports of every task kind: votes cast through the voting service, rows checked, files loaded back."""

import io
import json
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth.models import Role, User, UserKind
from app.auth.service import create_user
from app.campaigns.models import Campaign
from app.errors import Invalid
from app.exports import dense, service
from app.exports.release import export_campaign
from app.items.service import import_items
from app.tasks.schemas import TaskAnswer
from app.voting import service as voting
from app.voting.schemas import AssignmentRead, VoteCreate
from tests.api_helpers import bearer
from tests.conftest import run_cli
from tests.factories import make_campaign, make_user

Answer = Callable[[AssignmentRead], dict[str, Any]]


def _judge(session: Session, email: str = "judge@example.org") -> User:
    user = create_user(session, email=email, password=None, role=Role.annotator, kind=UserKind.model)
    session.flush()
    return user


def _vote_all(session: Session, campaign: Campaign, user: User, answer: Answer) -> int:
    n = 0
    while (task := voting.next_assignment(session, campaign=campaign, annotator=user)) is not None:
        voting.cast_vote(
            session,
            assignment_id=task.assignment_id,
            annotator=user,
            data=VoteCreate(answer=TaskAnswer.model_validate(answer(task))),
            idempotency_key=None,
        )
        session.commit()
        n += 1
    return n


def _lines(items: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(item) for item in items]


def _export(session: Session, campaign: Campaign, fmt: str, out: Path) -> list[dict[str, Any]]:
    """Writes the export, checks Parquet and JSON Lines hold the same rows, returns the JSONL rows."""
    result = export_campaign(session, campaign=campaign, fmt=fmt, out=out / fmt)  # type: ignore[arg-type]
    rows = [json.loads(line) for line in (out / fmt / "data.jsonl").read_text().splitlines()]
    table = pq.read_table(out / fmt / "data.parquet")
    assert result.rows == len(rows) == table.num_rows
    assert table.to_pylist() == rows
    assert f"| rows | {len(rows)} |" in (out / fmt / "README.md").read_text()
    return rows


def _content_of(task: AssignmentRead, side: int) -> str:
    return task.candidates[side].content


# --- ratings ---------------------------------------------------------------------------------------


def test_ratings_long_and_wide(session: Session, tmp_path: Path) -> None:
    campaign = make_campaign(session, slug="rate", task_kind="rating", overlap=2)
    import_items(
        session,
        campaign=campaign,
        lines=_lines(
            [
                {
                    "id": f"r{i}",
                    "prompt": f"Prompt {i}",
                    "candidates": [
                        {"system": "short", "content": "ok"},
                        {"system": "long", "content": "a much longer answer"},
                    ],
                }
                for i in range(2)
            ]
        ),
    )
    person, judge = make_user(session, "p@example.org"), _judge(session)
    session.commit()

    def rate(task: AssignmentRead) -> dict[str, Any]:
        value = min(4, len(_content_of(task, 0)) // 5)
        aspects = ["helpfulness", "correctness", "coherence", "complexity", "verbosity"]
        return {"ratings": {"a": {name: value for name in aspects}}}

    assert _vote_all(session, campaign, person, rate) == 4
    assert _vote_all(session, campaign, judge, rate) == 4

    long_rows = _export(session, campaign, "ratings", tmp_path)
    assert len(long_rows) == 8 * 5
    assert {r["aspect"] for r in long_rows} == {
        "helpfulness",
        "correctness",
        "coherence",
        "complexity",
        "verbosity",
    }
    for row in long_rows:
        assert row["value"] == (0 if row["system"] == "short" else 4)
        assert (row["scale_min"], row["scale_max"], row["rubric_version"]) == (0, 4, 1)
        assert row["shown_systems"] == [row["system"]] and row["position"] == 0
        assert row["campaign"] == "rate" and row["annotator"].startswith("ann_")
    assert sorted({r["annotator_kind"] for r in long_rows}) == ["human", "model"]

    wide = _export(session, campaign, "ratings-wide", tmp_path)
    assert len(wide) == 8
    assert list(wide[0])[:7] == [
        "prompt",
        "response",
        "helpfulness",
        "correctness",
        "coherence",
        "complexity",
        "verbosity",
    ]
    assert all(r["helpfulness"] == (4 if r["response"].startswith("a much") else 0) for r in wide)
    card = (tmp_path / "ratings-wide" / "README.md").read_text()
    assert "Rubric versions" in card and "helpfulness (0..4)" in card

    # The votes export keeps one-output votes: no B side, no outcome.
    votes = _export(session, campaign, "votes", tmp_path)
    assert len(votes) == 8 and all(v["outcome"] is None and v["shown_b_system"] is None for v in votes)
    humans = list(
        service.iter_rows(session, campaign=campaign, fmt="ratings-wide", annotator_kind=UserKind.human)
    )
    assert len(humans) == 4 and {r["annotator_kind"] for r in humans} == {"human"}


def test_a_pairwise_campaign_with_a_rubric_exports_both_outputs_ratings(
    session: Session, tmp_path: Path
) -> None:
    aspects = [{"name": "fluency", "min": 1, "max": 5}]
    campaign = make_campaign(session, slug="pr", rubric={"aspects": aspects})
    import_items(
        session,
        campaign=campaign,
        lines=_lines(
            [
                {
                    "id": "x",
                    "prompt": "P",
                    "candidates": [{"system": "s1", "content": "one"}, {"system": "s2", "content": "two"}],
                }
            ]
        ),
    )
    person = make_user(session, "p@example.org")
    session.commit()
    task = voting.next_assignment(session, campaign=campaign, annotator=person)
    assert task is not None
    voting.cast_vote(
        session,
        assignment_id=task.assignment_id,
        annotator=person,
        data=VoteCreate(outcome="a", answer=TaskAnswer(ratings={"a": {"fluency": 5}, "b": {"fluency": 2}})),
        idempotency_key=None,
    )
    session.commit()
    rows = _export(session, campaign, "ratings", tmp_path)
    assert sorted((r["position"], r["value"], r["scale_min"], r["scale_max"]) for r in rows) == [
        (0, 5, 1, 5),
        (1, 2, 1, 5),
    ]
    (pair,) = _export(session, campaign, "pairwise", tmp_path)
    assert pair["chosen"] == task.candidates[0].content


# --- rankings --------------------------------------------------------------------------------------


def test_rankings_keep_ties_and_ranking_pairs_leave_them_out_of_chosen(
    session: Session, tmp_path: Path
) -> None:
    campaign = make_campaign(session, slug="rank", task_kind="ranking")
    texts = {"best": "the best answer", "mid": "a middling answer", "low": "a middling answer too"}
    import_items(
        session,
        campaign=campaign,
        lines=_lines(
            [
                {
                    "id": f"k{i}",
                    "prompt": f"Rank {i}",
                    "candidates": [{"system": s, "content": f"{c} {i}"} for s, c in texts.items()],
                }
                for i in range(2)
            ]
        ),
    )
    person = make_user(session, "p@example.org")
    session.commit()

    def rank(task: AssignmentRead) -> dict[str, Any]:
        # best first; the two middling answers share second place.
        sides = "abc"
        best = next(sides[i] for i, c in enumerate(task.candidates) if c.content.startswith("the best"))
        return {"ranking": [[best], [s for s in sides if s != best]]}

    assert _vote_all(session, campaign, person, rank) == 2
    rows = _export(session, campaign, "rankings", tmp_path)
    assert len(rows) == 2
    for row in rows:
        assert row["ranking_systems"][0] == ["best"] and sorted(row["ranking_systems"][1]) == ["low", "mid"]
        assert (row["n_outputs"], row["n_places"]) == (3, 2) and len(row["shown_systems"]) == 3

    pairs = _export(session, campaign, "ranking-pairs", tmp_path)
    assert len(pairs) == 6  # three pairs per vote
    preferences = [p for p in pairs if not p["tie"]]
    ties = [p for p in pairs if p["tie"]]
    assert len(preferences) == 4 and len(ties) == 2
    for p in preferences:
        assert p["chosen_system"] == "best" and p["rejected_system"] in ("mid", "low")
        assert p["chosen"].startswith("the best") and p["margin"] == 1 and p["prompt"].startswith("Rank")
    for p in ties:
        assert p["chosen"] is None and p["rejected"] is None and p["margin"] is None
        assert sorted(p["tied_systems"]) == ["low", "mid"]
    votes = _export(session, campaign, "votes", tmp_path)
    assert all(len(v["shown_systems"]) == 3 and v["outcome"] is None for v in votes)


# --- segments: spans ---------------------------------------------------------------------------------


def test_spans_segments_and_sentence_level_dense_rewards(session: Session, tmp_path: Path) -> None:
    campaign = make_campaign(session, slug="spans", task_kind="segment")
    text = "Paris is the capital. It has ten million cats! The end."
    import_items(
        session,
        campaign=campaign,
        lines=_lines(
            [{"id": "s", "prompt": "Tell me about Paris", "candidates": [{"system": "s1", "content": text}]}]
        ),
    )
    person = make_user(session, "p@example.org")
    session.commit()
    start = text.index("ten million")
    spans = {
        "spans": [{"side": "a", "start": start + 1, "end": start + 9, "label": "incorrect", "comment": "no"}]
    }
    assert _vote_all(session, campaign, person, lambda task: spans) == 1

    (segment,) = _export(session, campaign, "segments", tmp_path)
    # The selection was snapped to whole words.
    assert (segment["text"], segment["label"], segment["mode"]) == ("ten million", "incorrect", "spans")
    assert (segment["start"], segment["end"]) == (start, start + len("ten million"))
    assert segment["system"] == "s1" and segment["comment"] == "no"

    (row,) = _export(session, campaign, "dense", tmp_path)
    assert row["mode"] == "spans" and row["n_segments"] == 3
    assert "".join(s["text"] for s in row["segments"]) == text
    assert [s["reward"] for s in row["segments"]] == [1, -1, 1]
    assert row["segments"][1]["labels"] == ["incorrect"]


def test_dense_formulas() -> None:
    assert dense.sentences("   ") == []
    segs = dense.span_rewards("One. Two.\nThree", [{"start": 5, "end": 8, "label": "x"}])
    assert [(s.text, s.reward) for s in segs] == [("One. ", 1), ("Two.\n", -1), ("Three", 1)]
    timed = dense.time_rewards([{"start_s": 1.2, "end_s": 1.5, "label": "x"}], duration_s=2.5, window_s=1)
    assert [(s.start_s, s.end_s, s.reward) for s in timed] == [(0, 1, 1), (1, 2, -1), (2, 2.5, 1)]
    win = dense.window_rewards(["c1", "tie", "c2"], "c1", window_s=2, length_s=5)
    assert [(s.start_s, s.end_s, s.reward) for s in win] == [(0, 2, 1), (2, 4, 0), (4, 5, -1)]


# --- segments: audio (windows, time ranges) and listening logs -----------------------------------------


def _wav(path: Path, seconds: float, rate: int = 8000, hz: float = 440) -> None:
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.5 * np.sin(2 * np.pi * hz * t) * 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(samples.tobytes())
    path.write_bytes(out.getvalue())


def test_windows_segments_and_dense_per_window_rewards(session: Session, tmp_path: Path) -> None:
    files = tmp_path / "files"
    files.mkdir()
    _wav(files / "x.wav", 2.5)
    _wav(files / "y.wav", 2.5, hz=660)
    campaign = make_campaign(
        session,
        slug="win",
        task_kind="segment",
        modality="audio",
        task_config={"segment_mode": "windows", "window_s": 1.0},
    )
    import_items(
        session,
        campaign=campaign,
        lines=_lines(
            [
                {
                    "id": "w",
                    "prompt": "Which sounds better?",
                    "candidates": [{"system": "sx", "media": "x.wav"}, {"system": "sy", "media": "y.wav"}],
                }
            ]
        ),
        media_base=files,
    )
    person = make_user(session, "p@example.org")
    session.commit()
    shown: list[str] = []

    def windows(task: AssignmentRead) -> dict[str, Any]:
        shown.extend(c.id for c in task.candidates)
        return {
            "windows": ["a", "tie", "b"],
            "listening_log": [
                {"side": "a", "event": "play", "media_s": 0, "wall_ms": 10},
                {"side": "b", "event": "switch", "media_s": 1.0, "wall_ms": 1010},
                {"side": "b", "event": "ended", "media_s": 2.5, "wall_ms": 2600},
            ],
        }

    assert _vote_all(session, campaign, person, windows) == 1
    rows = _export(session, campaign, "segments", tmp_path)
    assert [(r["window_index"], r["start_s"], r["end_s"], r["tie"]) for r in rows] == [
        (0, 0.0, 1.0, False),
        (1, 1.0, 2.0, True),
        (2, 2.0, 2.5, False),  # the last window is cut at the clips' end
    ]
    assert rows[0]["preferred_candidate"] == shown[0] and rows[2]["preferred_candidate"] == shown[1]
    assert rows[1]["preferred_system"] is None
    dense_rows = _export(session, campaign, "dense", tmp_path)
    by_candidate = {r["candidate"]: [s["reward"] for s in r["segments"]] for r in dense_rows}
    assert by_candidate == {shown[0]: [1, 0, -1], shown[1]: [-1, 0, 1]}
    assert all(len(r["media"]) == 1 for r in dense_rows)

    events = _export(session, campaign, "listening", tmp_path)
    assert [(e["event_index"], e["event"], e["position"]) for e in events] == [
        (0, "play", 0),
        (1, "switch", 1),
        (2, "ended", 1),
    ]
    assert events[2]["media_s"] == 2.5 and events[2]["wall_ms"] == 2600 and events[0]["candidate"] == shown[0]


def test_time_ranges_segments_and_dense(session: Session, tmp_path: Path) -> None:
    files = tmp_path / "files"
    files.mkdir()
    _wav(files / "clip.wav", 3.0)
    campaign = make_campaign(
        session, slug="time", task_kind="segment", modality="audio", task_config={"segment_mode": "time"}
    )
    import_items(
        session,
        campaign=campaign,
        lines=_lines(
            [
                {
                    "id": "t",
                    "prompt": "Mark the glitches",
                    "candidates": [{"system": "tts", "media": "clip.wav"}],
                }
            ]
        ),
        media_base=files,
    )
    person = make_user(session, "p@example.org")
    session.commit()
    marked = {
        "time_ranges": [{"side": "a", "start_s": 1.25, "end_s": 1.75, "label": "other", "comment": "click"}]
    }
    assert _vote_all(session, campaign, person, lambda task: marked) == 1
    (segment,) = _export(session, campaign, "segments", tmp_path)
    assert (segment["mode"], segment["start_s"], segment["end_s"], segment["label"]) == (
        "time",
        1.25,
        1.75,
        "other",
    )
    assert segment["start"] is None and segment["system"] == "tts" and len(segment["media"]) == 1
    (row,) = _export(session, campaign, "dense", tmp_path)
    assert [(s["start_s"], s["end_s"], s["reward"]) for s in row["segments"]] == [
        (0.0, 1.0, 1),
        (1.0, 2.0, -1),
        (2.0, 3.0, 1),
    ]


# --- checklist and thumbs ------------------------------------------------------------------------------


def test_checklist_and_thumbs(session: Session, tmp_path: Path) -> None:
    checklist = make_campaign(session, slug="check", task_kind="checklist")
    questions = [{"id": "q1", "text": "Is it polite?"}, {"id": "q2", "text": "Is it in French?"}]
    import_items(
        session,
        campaign=checklist,
        lines=_lines(
            [
                {
                    "id": "c",
                    "prompt": "Greet me",
                    "questions": questions,
                    "candidates": [{"system": "s", "content": "Hello"}],
                }
            ]
        ),
    )
    thumbs = make_campaign(session, slug="thumbs", task_kind="single", overlap=2)
    import_items(
        session,
        campaign=thumbs,
        lines=_lines(
            [
                {"id": f"t{i}", "prompt": f"P{i}", "candidates": [{"system": f"s{i}", "content": f"out {i}"}]}
                for i in range(2)
            ]
        ),
    )
    person, judge = make_user(session, "p@example.org"), _judge(session)
    session.commit()
    assert _vote_all(session, checklist, person, lambda task: {"checklist": {"q1": True, "q2": False}}) == 1
    rows = _export(session, checklist, "checklist", tmp_path)
    assert [(r["question_id"], r["question"], r["answer"]) for r in rows] == [
        ("q1", "Is it polite?", True),
        ("q2", "Is it in French?", False),
    ]
    assert rows[0]["response"] == "Hello" and rows[0]["system"] == "s"

    def thumb(task: AssignmentRead) -> dict[str, Any]:
        return {"thumb": "up" if task.candidates[0].content.endswith("0") else "down"}

    assert _vote_all(session, thumbs, person, thumb) == 2
    assert _vote_all(session, thumbs, judge, thumb) == 2
    out = _export(session, thumbs, "thumbs", tmp_path / "t")
    assert len(out) == 4
    assert {(r["system"], r["label"], r["thumb"]) for r in out} == {("s0", True, "up"), ("s1", False, "down")}
    assert sorted(r["annotator_kind"] for r in out) == ["human", "human", "model", "model"]
    assert {r["completion"] for r in out} == {"out 0", "out 1"}


# --- refusals, the API and the CLI -------------------------------------------------------------------------


def test_a_format_the_kind_never_asks_is_refused(session: Session, tmp_path: Path) -> None:
    ranking = make_campaign(session, slug="rk", task_kind="ranking")
    pairwise = make_campaign(session, slug="pw")
    session.commit()
    with pytest.raises(Invalid, match="ranking campaign and has no pairwise data"):
        export_campaign(session, campaign=ranking, fmt="pairwise", out=tmp_path / "a")
    with pytest.raises(Invalid, match="has no rubric"):
        export_campaign(session, campaign=pairwise, fmt="ratings", out=tmp_path / "b")
    assert not (tmp_path / "a").exists()


def test_export_api_formats_filters_and_refusals(client: TestClient, session: Session) -> None:
    campaign = make_campaign(session, slug="single", task_kind="single", overlap=2)
    import_items(
        session,
        campaign=campaign,
        lines=_lines([{"id": "o", "prompt": "P", "candidates": [{"system": "s", "content": "out"}]}]),
    )
    person, judge = make_user(session, "p@example.org"), _judge(session)
    session.commit()
    _vote_all(session, campaign, person, lambda task: {"thumb": "up"})
    _vote_all(session, campaign, judge, lambda task: {"thumb": "down"})
    admin = bearer(session, "boss@example.org", Role.admin)

    def get(**params: str):
        return client.get("/api/v1/campaigns/single/export", params=params, headers=admin)

    r = get(format="thumbs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    assert sorted(json.loads(x)["thumb"] for x in r.text.splitlines()) == ["down", "up"]
    r = get(format="thumbs", annotator_kind="model")
    assert [json.loads(x)["annotator_kind"] for x in r.text.splitlines()] == ["model"]
    votes = [json.loads(x) for x in get(format="votes").text.splitlines()]
    assert len(votes) == 2 and all(v["shown_b"] is None and v["shown_systems"] == ["s"] for v in votes)
    wrong = get(format="rankings")
    assert wrong.status_code == 422 and "single campaign and has no rankings" in wrong.json()["detail"]
    assert get(format="xml").status_code == 422
    assert get(format="thumbs", annotator_kind="robot").status_code == 422
    # The researcher's vote listing shows one-output votes too.
    listed = client.get("/api/v1/campaigns/single/votes", headers=admin)
    assert listed.status_code == 200
    assert [(v["shown_a_system"], v["shown_b_system"], v["outcome"]) for v in listed.json()] == [
        ("s", None, None),
        ("s", None, None),
    ]


def test_cli_exports_a_task_format(cli_env: dict[str, str], tmp_path: Path) -> None:
    from app.db import make_engine

    engine = make_engine(cli_env["PREFLAB_DATABASE_URL"])
    with Session(engine) as s:
        campaign = make_campaign(s, slug="cli-rank", task_kind="ranking")
        import_items(
            s,
            campaign=campaign,
            lines=_lines(
                [
                    {
                        "id": "i",
                        "prompt": "P",
                        "candidates": [{"system": f"s{k}", "content": f"c{k}"} for k in range(3)],
                    }
                ]
            ),
        )
        person = make_user(s, "p@example.org")
        s.commit()
        _vote_all(s, campaign, person, lambda task: {"ranking": [["c"], ["a"], ["b"]]})
    engine.dispose()
    out = tmp_path / "out"
    result = run_cli(cli_env, "export", "cli-rank", "--format", "ranking-pairs", "--out", str(out))
    assert "wrote 3 rows" in result.stdout
    assert pq.read_table(out / "data.parquet").column_names[:3] == ["prompt", "chosen", "rejected"]
    refused = run_cli(cli_env, "export", "cli-rank", "--format", "thumbs", "--out", str(out), check=False)
    assert refused.returncode != 0 and "ranking campaign and has no thumbs data" in refused.stderr
