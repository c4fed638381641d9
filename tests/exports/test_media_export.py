"""Exports of media candidates: the files' digests beside the existing columns, in both formats."""

import hashlib
from pathlib import Path

import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from app.exports import service
from app.exports.release import export_campaign
from app.items.service import import_items
from app.voting import service as voting
from app.voting.schemas import VoteCreate
from tests.factories import make_campaign, make_user, seed_campaign
from tests.media.samples import media_item_lines


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_media_digests_are_exported_in_order(session: Session, tmp_path: Path) -> None:
    files = tmp_path / "files"
    campaign = make_campaign(session, slug="media")
    import_items(session, campaign=campaign, lines=media_item_lines(files, n=3), media_base=files)
    annotator = make_user(session, "ann@example.org")
    session.commit()
    # The annotator always prefers the song, whichever side it is on.
    while (task := voting.next_assignment(session, campaign=campaign, annotator=annotator)) is not None:
        side = "a" if task.candidates[0].content else "b"
        voting.cast_vote(
            session,
            assignment_id=task.assignment_id,
            annotator=annotator,
            data=VoteCreate(outcome=side),
            idempotency_key=None,
        )
        session.commit()

    pairs = sorted(service.iter_pairwise_rows(session, campaign=campaign), key=lambda r: r["item_id"])
    assert [r["chosen_system"] for r in pairs] == ["singer"] * 3
    for i, row in enumerate(pairs):
        assert row["chosen"] == f"a song, take {i}" and row["rejected"] == ""
        assert row["chosen_media"] == [_sha(files / f"c{i}.wav")]
        assert row["rejected_media"] == [_sha(files / f"a{i}.png"), _sha(files / f"b{i}.png")]

    votes = list(service.iter_vote_rows(session, campaign=campaign))
    assert len(votes) == 3
    for row in votes:
        song, images = (
            (row["media_a"], row["media_b"]) if row["shown_a"] else (row["media_b"], row["media_a"])
        )
        assert len(song) == 1 and len(images) == 2

    out = tmp_path / "export"
    assert export_campaign(session, campaign=campaign, fmt="pairwise", out=out).rows == 3
    table = pq.read_table(out / "data.parquet")
    assert table.column_names[-2:] == ["chosen_media", "rejected_media"]
    assert "chosen_media" in (out / "README.md").read_text()


def test_text_campaigns_keep_their_columns_and_get_empty_media(session: Session, tmp_path: Path) -> None:
    campaign = seed_campaign(session, n_items=1)
    annotator = make_user(session, "ann@example.org")
    session.commit()
    task = voting.next_assignment(session, campaign=campaign, annotator=annotator)
    assert task is not None
    voting.cast_vote(
        session,
        assignment_id=task.assignment_id,
        annotator=annotator,
        data=VoteCreate(outcome="a"),
        idempotency_key=None,
    )
    session.commit()
    (pair,) = service.iter_pairwise_rows(session, campaign=campaign)
    assert list(pair)[:11] == [
        "prompt",
        "chosen",
        "rejected",
        "chosen_system",
        "rejected_system",
        "strength",
        "n_votes",
        "agreement",
        "item_id",
        "comparison_id",
        "tags",
    ]
    assert (pair["chosen_media"], pair["rejected_media"]) == ([], [])
    (vote,) = service.iter_vote_rows(session, campaign=campaign)
    # The media columns come after the text ones; the gold results and the annotator's weight last.
    assert (vote["media_a"], vote["media_b"]) == ([], []) and list(vote)[-6] == "created_at"
    export_campaign(session, campaign=campaign, fmt="votes", out=tmp_path / "votes")
    assert pq.read_table(tmp_path / "votes" / "data.parquet").column_names[-5:] == [
        "media_a",
        "media_b",
        "item_role",
        "gold_correct",
        "annotator_weight",
    ]
