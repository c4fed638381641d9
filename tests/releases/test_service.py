"""Releases: immutable, versioned snapshots with byte-identical files for the same request."""

from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import Invalid
from app.exports import service as exports
from app.releases import service
from app.releases.models import Release
from app.releases.schemas import ReleaseCreate
from app.voting.models import Vote
from tests.releases.helpers import add_item_votes, make_gold, three_voters


def _release(session: Session, campaign, formats, **filters) -> tuple[Release, bool]:
    data = ReleaseCreate.model_validate({"formats": formats, "filters": filters})
    release, created = service.create_release(session, campaign=campaign, data=data, user=None)
    session.commit()
    return release, created


def _bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_same_request_twice_is_the_same_release_and_renders_to_the_same_bytes(
    session: Session, tmp_path: Path
) -> None:
    campaign = three_voters(session)
    first, created = _release(session, campaign, ["votes", "pairwise", "distributions"])
    assert created and first.version == 1 and first.formats == ["pairwise", "votes", "distributions"]
    folder = service.release_folder(campaign=campaign, release=first)
    stored = _bytes(folder)
    assert set(stored) == {
        "README.md",
        *(f"{fmt}.{ext}" for fmt in first.formats for ext in ("parquet", "jsonl")),
    }
    # The same formats in another order, same filters, no new vote: the same release, nothing written.
    again, created = _release(session, campaign, ["distributions", "pairwise", "votes", "pairwise"])
    assert not created and again.id == first.id
    assert session.scalar(select(func.count()).select_from(Release)) == 1
    # Rendering the release a second time from its row gives the very same bytes, Parquet included.
    files, card = service.write_release_files(
        session, campaign=campaign, release=first, folder=tmp_path / "again"
    )
    assert _bytes(tmp_path / "again") == stored
    assert [f.as_dict() for f in files] == first.files and card == first.card
    assert first.content_hash == service.content_hash(files)
    listed = {f["name"]: f for f in first.files}
    assert listed["pairwise.parquet"]["rows"] == 1 and listed["votes.jsonl"]["rows"] == 9
    assert listed["distributions.parquet"]["rows"] == 3


def test_new_votes_make_the_next_version_and_leave_the_old_files_alone(session: Session) -> None:
    campaign = three_voters(session, overlap=4)
    v1, _ = _release(session, campaign, ["pairwise", "votes"])
    folder = service.release_folder(campaign=campaign, release=v1)
    before = _bytes(folder)
    add_item_votes(session, campaign, "late@example.org", 3)
    v2, created = _release(session, campaign, ["pairwise", "votes"])
    assert created and v2.version == 2 and v2.content_hash != v1.content_hash
    assert v2.max_vote_id > v1.max_vote_id and v2.vote_count == 12 and v1.vote_count == 9
    assert _bytes(folder) == before
    assert pq.read_table(folder / "votes.parquet").num_rows == 9
    assert (
        pq.read_table(service.release_folder(campaign=campaign, release=v2) / "votes.parquet").num_rows == 12
    )
    # A request that differs only in its filters is a new release of the same votes.
    v3, created = _release(session, campaign, ["pairwise", "votes"], annotator_kind="human")
    assert created and v3.version == 3 and v3.max_vote_id == v2.max_vote_id


def test_every_format_stops_at_the_snapshot_boundary(session: Session) -> None:
    campaign = three_voters(session)
    ids = list(session.scalars(select(Vote.id).where(Vote.campaign_id == campaign.id).order_by(Vote.id)))
    boundary = ids[2]  # the first annotator's three votes
    votes = list(exports.iter_rows(session, campaign=campaign, fmt="votes", max_vote_id=boundary))
    assert len(votes) == 3
    pairs = list(exports.iter_rows(session, campaign=campaign, fmt="pairwise", max_vote_id=boundary))
    # One vote per comparison so far: comparisons 1 (first) and 3 (second) have a winner, 2 a tie.
    assert [(p["comparison_id"], p["n_votes"], p["chosen_system"]) for p in pairs] == [
        (1, 1, "alpha-7b"),
        (3, 1, "beta-13b"),
    ]
    dist = list(exports.iter_rows(session, campaign=campaign, fmt="distributions", max_vote_id=boundary))
    assert [d["n_votes"] for d in dist] == [1, 1, 1]
    assert (
        exports.agreement_summary(session, campaign=campaign, max_vote_id=boundary)["units_with_2plus_votes"]
        == 0
    )


def test_distribution_rows_count_every_outcome(session: Session) -> None:
    campaign = three_voters(session)
    rows = list(exports.iter_rows(session, campaign=campaign, fmt="distributions"))
    got = [
        (
            r["comparison_id"],
            r["n_first"],
            r["n_second"],
            r["n_tie"],
            r["n_both_bad"],
            r["n_votes"],
            r["majority"],
        )
        for r in rows
    ]
    assert got == [(1, 2, 1, 0, 0, 3, "first"), (2, 1, 0, 2, 0, 3, "tie"), (3, 1, 1, 0, 1, 3, None)]
    first = rows[0]
    assert first["share_first"] == round(2 / 3, 4) and first["share_second"] == round(1 / 3, 4)
    assert first["first_system"] == "alpha-7b" and first["second_system"] == "beta-13b"
    assert first["prompt"].startswith("Question 0") and first["first"].startswith("Answer 0")
    assert first["mean_strength_first"] == 2.0 and rows[1]["mean_strength_second"] is None


def test_gold_items_are_flagged_in_votes_and_left_out_of_data_formats(session: Session) -> None:
    campaign = three_voters(session)
    make_gold(session, campaign, "q1", correct=True)
    votes = list(exports.iter_rows(session, campaign=campaign, fmt="votes"))
    assert len(votes) == 9
    gold = [v for v in votes if v["item_role"] == "gold"]
    assert len(gold) == 3 and all(v["gold_correct"] is True for v in gold)
    assert all(v["gold_correct"] is None for v in votes if v["item_role"] == "data")
    dist = list(exports.iter_rows(session, campaign=campaign, fmt="distributions"))
    assert [d["item_id"] for d in dist] == ["q0", "q2"]
    with_gold = list(exports.iter_rows(session, campaign=campaign, fmt="distributions", include_gold=True))
    assert [d["item_id"] for d in with_gold] == ["q0", "q1", "q2"]
    release, _ = _release(session, campaign, ["distributions", "votes"])
    folder = service.release_folder(campaign=campaign, release=release)
    assert pq.read_table(folder / "distributions.parquet").num_rows == 2
    table = pq.read_table(folder / "votes.parquet")
    assert {"item_role", "gold_correct", "annotator_weight"} <= set(table.column_names)
    assert table.column("item_role").to_pylist().count("gold") == 3
    weights = table.column("annotator_weight").to_pylist()
    assert all(w is None or 0.0 <= w <= 1.0 for w in weights)


def test_the_card_describes_the_release_and_loads_with_datasets(session: Session) -> None:
    campaign = three_voters(session)
    release, _ = _release(session, campaign, ["pairwise", "distributions", "votes"])
    folder = service.release_folder(campaign=campaign, release=release)
    text = (folder / "README.md").read_text()
    assert text == release.card
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["license"] == "cc-by-4.0" and "text-generation" in front["task_categories"]
    configs = {c["config_name"]: c for c in front["configs"]}
    assert list(configs) == ["pairwise", "votes", "distributions"] and configs["pairwise"]["default"] is True
    assert configs["distributions"]["data_files"] == [{"split": "train", "path": "distributions.parquet"}]
    for needle in (
        f"release v{release.version}",
        release.content_hash,
        "| votes in the snapshot (id <= boundary) | 9 |",
        "| annotators, human | 3 |",
        "Krippendorff's alpha, nominal",
        "| 0.0 |",  # the hand-computed alpha of this campaign (tests/exports/test_export.py)
        "| `n_first` | int32 |",
        "| task kind | pairwise |",
        "| pair selection | ordered |",
        "| gold items mixed in (rate) | 0.0 |",
        "## Rubric versions",
        "## Licence\n\ncc-by-4.0",
        release.created_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
    ):
        assert needle in text, needle
    for f in release.files:
        if f["name"] != "README.md":
            assert f"`{f['sha256']}`" in text
    default = datasets.load_dataset(str(folder), split="train")
    assert default.num_rows == 1 and {"prompt", "chosen", "rejected"} <= set(default.column_names)
    dist = datasets.load_dataset(str(folder), "distributions", split="train")
    assert dist.num_rows == 3 and dist[0]["n_first"] == 2


@pytest.mark.parametrize(
    ("formats", "message"),
    [
        (["pairwise", "xml"], "unknown export format 'xml'"),
        (["rankings"], "has no rankings data"),
        (["ratings"], "has no rubric"),
    ],
)
def test_a_bad_format_stores_and_writes_nothing(session: Session, formats: list[str], message: str) -> None:
    campaign = three_voters(session)
    with pytest.raises(Invalid, match=message):
        _release(session, campaign, formats)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Release)) == 0
    assert not service.releases_root().exists()
