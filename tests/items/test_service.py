import gzip
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import ImportRejected
from app.items.models import Candidate, Comparison, Item
from app.items.service import import_items, split_shared_dialogue
from tests.factories import item_lines, make_campaign

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_every_pair_of_candidates_becomes_a_comparison(session: Session) -> None:
    campaign = make_campaign(session, overlap=2)
    report = import_items(session, campaign=campaign, lines=item_lines(4, systems=("s1", "s2", "s3")))
    assert (report.items_created, report.comparisons_created) == (4, 12)
    assert _count(session, Candidate) == 12
    slots = session.scalars(select(Comparison.open_slots)).all()
    assert set(slots) == {2}


def test_listed_pairs_by_name_or_index(session: Session) -> None:
    campaign = make_campaign(session)
    line = {
        "id": "x",
        "prompt": "p",
        "candidates": [
            {"system": "a", "content": "1"},
            {"system": "b", "content": "2"},
            {"system": "c", "content": "3"},
        ],
        "pairs": [["a", "c"], [1, 2]],
    }
    report = import_items(session, campaign=campaign, lines=[json.dumps(line)])
    assert report.comparisons_created == 2
    pairs = session.execute(select(Comparison.candidate_a_id, Comparison.candidate_b_id)).all()
    systems = dict(session.execute(select(Candidate.id, Candidate.system)).all())
    assert sorted((systems[a], systems[b]) for a, b in pairs) == [("a", "c"), ("b", "c")]


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        ('{"id": "broken", "prompt": 5, "candidates": "nope"', "not valid JSON"),
        ('{"id": "x", "prompt": 5, "candidates": []}', "prompt"),
        ('{"id": "x", "prompt": "p", "candidates": [{"system": "a", "content": "1"}]}', "candidates"),
        (
            '{"id": "q0", "prompt": "p", "candidates": [{"system": "a", "content": "1"}, '
            '{"system": "b", "content": "2"}]}',
            "already used on line 1",
        ),
        (
            '{"id": "x", "prompt": "p", "candidates": [{"system": "a", "content": "1"}, '
            '{"system": "b", "content": "2"}], "pairs": [["a", "zz"]]}',
            "zz",
        ),
        ("[1, 2]", "JSON object"),
    ],
)
def test_one_bad_line_rejects_the_whole_file(session: Session, bad_line: str, reason: str) -> None:
    campaign = make_campaign(session)
    session.commit()
    lines = item_lines(5)
    lines[2] = bad_line
    with pytest.raises(ImportRejected) as info:
        import_items(session, campaign=campaign, lines=lines)
    session.rollback()
    assert info.value.line == 3
    assert reason in info.value.message and info.value.message.startswith("line 3:")
    assert _count(session, Item) == 0 and _count(session, Comparison) == 0


def test_reimporting_the_same_ids_changes_nothing_and_says_so(session: Session) -> None:
    campaign = make_campaign(session)
    import_items(session, campaign=campaign, lines=item_lines(3))
    changed = [line.replace("Answer", "Changed answer") for line in item_lines(3)]
    report = import_items(session, campaign=campaign, lines=[*changed, *item_lines(1, prefix="new")])
    assert (report.items_created, report.items_skipped) == (1, 3)
    assert "3 ids already imported, left unchanged" in report.summary()
    contents = session.scalars(select(Candidate.content)).all()
    assert not any(c.startswith("Changed") for c in contents)


def test_chosen_rejected_format_on_real_hh_rlhf_lines(session: Session) -> None:
    campaign = make_campaign(session)
    with gzip.open(DATA / "hh_rlhf_harmless_base_test.jsonl.gz", "rt", encoding="utf-8") as handle:
        lines = [next(handle) for _ in range(50)]
    report = import_items(session, campaign=campaign, lines=lines, fmt="chosen-rejected")
    assert report.items_created == 50 and report.comparisons_created == 50
    item = session.scalars(select(Item).order_by(Item.id)).first()
    assert item is not None and item.prompt.startswith("Human:") and item.prompt.endswith("Assistant:")
    chosen = json.loads(lines[0])["chosen"]
    texts = {c.system: c.content for c in item.candidates}
    assert chosen.endswith(texts["chosen"]) and "Human:" not in texts["chosen"]
    again = import_items(session, campaign=campaign, lines=lines, fmt="chosen-rejected")
    assert again.items_created == 0 and again.items_skipped == 50


def test_split_shared_dialogue_without_a_marker_keeps_whole_texts() -> None:
    assert split_shared_dialogue("abc", "abd") == ("", "abc", "abd")
