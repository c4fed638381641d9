"""Import adapters on the real published files (read from /work/shared/data, never copied here)."""

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.campaigns.models import Modality, TaskKind
from app.errors import ImportRejected
from app.items.models import Candidate, Comparison, Item
from app.items.service import import_items
from app.media.models import CandidateMedia, MediaFile
from app.tasks.schemas import TaskConfig
from tests.api_helpers import bearer
from tests.conftest import run_cli
from tests.factories import make_campaign

DATA = Path("/work/shared/data")
FG_RLHF = DATA / "finegrained_rlhf_qa_dev_feedback.json"
IMAGEREWARD = DATA / "imagereward_test_rankings.json"

pytestmark = pytest.mark.skipif(
    not (FG_RLHF.is_file() and IMAGEREWARD.is_file()), reason="the shared data sets are not here"
)


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def _candidates(session: Session, campaign_id: int) -> list[Candidate]:
    return list(
        session.scalars(
            select(Candidate).join(Item).where(Item.campaign_id == campaign_id).order_by(Candidate.id)
        )
    )


def _count(session: Session, model: type, campaign_id: int) -> int:
    return (
        session.scalar(select(func.count()).select_from(model).where(model.campaign_id == campaign_id)) or 0
    )


def test_fg_rlhf_segment_keeps_the_annotated_prediction_and_its_spans(session: Session) -> None:
    source = json.loads(FG_RLHF.read_text(encoding="utf-8"))
    campaign = make_campaign(session, slug="fg-spans", task_kind=TaskKind.segment)
    report = import_items(session, campaign=campaign, lines=_lines(FG_RLHF), fmt="fg-rlhf")
    assert report.items_created == 500 and report.comparisons_created == 500

    candidates = _candidates(session, campaign.id)
    assert len(candidates) == 500 and {c.system for c in candidates} == {"prediction-1"}
    spans = [s for c in candidates for s in c.meta["reference_spans"]]
    assert len(spans) == sum(len(r["feedback"]["errors"]) for r in source) == 1373
    for candidate in candidates:
        for span in candidate.meta["reference_spans"]:
            assert 0 <= span["start"] < span["end"] <= len(candidate.content)
            assert candidate.content[span["start"] : span["end"]] == span["text"]
            assert span["label"] in TaskConfig().taxonomy
    # The paper's categories on the default taxonomy; the source's own type is kept beside it.
    pairs = {(s["source_type"], s["label"]) for s in spans}
    assert pairs == {
        ("Irrelevant", "irrelevant"),
        ("Redundant", "irrelevant"),
        ("Incoherent", "irrelevant"),
        ("Wrong-Grounding", "incorrect"),
        ("Unverifiable", "incorrect"),
    }
    first = session.scalar(select(Item).where(Item.campaign_id == campaign.id).order_by(Item.id).limit(1))
    assert first.prompt == source[0]["question"]
    assert first.context["passage 1"].startswith("Bloom (Troye Sivan album): Bloom is the second")
    assert "gold" not in first.context  # the context is shown to annotators; the gold answer is not


def test_fg_rlhf_labels_follow_a_taxonomy_that_has_the_source_types(session: Session) -> None:
    taxonomy = ["Unverifiable", "Wrong-Grounding", "irrelevant", "other"]
    campaign = make_campaign(
        session, slug="fg-own", task_kind=TaskKind.segment, task_config=TaskConfig(taxonomy=taxonomy)
    )
    import_items(session, campaign=campaign, lines=_lines(FG_RLHF), fmt="fg-rlhf")
    labels = {
        (s["source_type"], s["label"])
        for c in _candidates(session, campaign.id)
        for s in c.meta["reference_spans"]
    }
    assert ("Unverifiable", "Unverifiable") in labels and ("Wrong-Grounding", "Wrong-Grounding") in labels
    assert ("Redundant", "irrelevant") in labels

    strict = make_campaign(
        session, slug="fg-strict", task_kind=TaskKind.segment, task_config=TaskConfig(taxonomy=["fluff"])
    )
    with pytest.raises(ImportRejected, match=r"record 1: feedback.errors.0: the error type 'Irrelevant'"):
        import_items(session, campaign=strict, lines=_lines(FG_RLHF), fmt="fg-rlhf")


def test_fg_rlhf_ranking_orders_the_four_by_their_pairwise_preferences(session: Session) -> None:
    source = json.loads(FG_RLHF.read_text(encoding="utf-8"))
    campaign = make_campaign(session, slug="fg-rank", task_kind=TaskKind.ranking)
    report = import_items(session, campaign=campaign, lines=_lines(FG_RLHF), fmt="fg-rlhf")
    assert report.items_created == 500 and report.comparisons_created == 500
    units = list(session.scalars(select(Comparison).where(Comparison.campaign_id == campaign.id)))
    assert all(len(u.members) == 4 for u in units)

    candidates = _candidates(session, campaign.id)
    by_item: dict[int, list[Candidate]] = {}
    for candidate in candidates:
        by_item.setdefault(candidate.item_id, []).append(candidate)
    # Record 1: 1v2 none, 1v3 -> 1, 1v4 -> 4, 2v3 -> 2, 2v4 none, 3v4 -> 4; Copeland 0, 1, -2, 2.
    assert source[0]["preference"] == [0, 1, 2, 1, 0, 2]
    first = by_item[min(by_item)]
    assert [c.meta["reference_rank"] for c in first] == [3, 2, 4, 1]
    assert first[0].meta["reference_preferences"] == {
        "prediction-2": "tie",
        "prediction-3": "win",
        "prediction-4": "loss",
    }
    tied = sum(1 for group in by_item.values() if len({c.meta["reference_rank"] for c in group}) < 4)
    assert tied > 0  # ties in the preferences stay ties in the reference ranking
    for group, record in zip(by_item.values(), source, strict=True):
        assert [c.content for c in group] == [record[f"prediction {k}"] for k in range(1, 5)]
        best = min(c.meta["reference_rank"] for c in group)
        assert best == 1 and max(c.meta["reference_rank"] for c in group) <= 4


def test_fg_rlhf_pairwise_uses_the_files_six_pairs(client: TestClient, session: Session) -> None:
    campaign = make_campaign(session, slug="fg-pairs")
    session.commit()
    r = client.post(
        "/api/v1/campaigns/fg-pairs/items?format=fg-rlhf",
        content=FG_RLHF.read_bytes(),
        headers=bearer(session, "r@example.org", Role.researcher),
    )
    assert r.status_code == 201, r.text
    assert r.json()["items_created"] == 500 and r.json()["comparisons_created"] == 3000
    session.commit()
    assert _count(session, Comparison, campaign.id) == 3000


def test_fg_rlhf_refuses_a_checklist_and_malformed_records(session: Session) -> None:
    checklist = make_campaign(session, slug="fg-check", task_kind=TaskKind.checklist)
    with pytest.raises(ImportRejected, match="no checklist questions"):
        import_items(session, campaign=checklist, lines=_lines(FG_RLHF), fmt="fg-rlhf")
    campaign = make_campaign(session, slug="fg-bad", task_kind=TaskKind.segment)
    records = json.loads(FG_RLHF.read_text(encoding="utf-8"))[:3]
    records[2]["feedback"]["errors"] = [{"error type": "Irrelevant", "start": 5, "end": 100_000}]
    text = json.dumps(records, indent=1)
    with pytest.raises(
        ImportRejected, match=r"^line \d+: record 3: feedback.errors.0: \[5, 100000\)"
    ) as caught:
        import_items(session, campaign=campaign, lines=text.splitlines(), fmt="fg-rlhf")
    assert text.splitlines()[caught.value.line - 1].strip() == "{"  # the line the record starts on
    records[2]["feedback"]["errors"] = []
    records[2]["preference"] = [0, 1]
    with pytest.raises(ImportRejected, match="record 3: 'preference' must be a list of six"):
        import_items(session, campaign=campaign, lines=[json.dumps(records)], fmt="fg-rlhf")
    with pytest.raises(ImportRejected, match=r"^line \d+: record 2: not valid JSON"):
        import_items(session, campaign=campaign, lines=[f'[{json.dumps(records[0])}, {{"bad"'], fmt="fg-rlhf")
    with pytest.raises(ImportRejected, match="array of records"):
        import_items(session, campaign=campaign, lines=['{"question": "q"}'], fmt="fg-rlhf")
    assert _count(session, Item, campaign.id) == 0


def test_imagereward_without_the_images_ranks_file_names_with_ties(session: Session) -> None:
    source = json.loads(IMAGEREWARD.read_text(encoding="utf-8"))
    campaign = make_campaign(session, slug="ir-text", task_kind=TaskKind.ranking)
    report = import_items(
        session, campaign=campaign, lines=_lines(IMAGEREWARD), fmt="imagereward", media_base=DATA
    )
    assert report.items_created == 466 and report.comparisons_created == 466
    candidates = _candidates(session, campaign.id)
    assert len(candidates) == sum(len(r["generations"]) for r in source)
    by_item: dict[int, list[Candidate]] = {}
    for candidate in candidates:
        by_item.setdefault(candidate.item_id, []).append(candidate)
    items = list(session.scalars(select(Item).where(Item.campaign_id == campaign.id).order_by(Item.id)))
    ties = 0
    for item, record in zip(items, source, strict=True):
        group = by_item[item.id]
        assert item.external_id == record["id"] and item.prompt == record["prompt"]
        assert [c.meta["expert_rank"] for c in group] == record["ranking"]
        assert [c.meta["image"] for c in group] == record["generations"]
        assert all(c.meta["image"] in c.content for c in group)
        expert, reference = [c.meta["expert_rank"] for c in group], [c.meta["reference_rank"] for c in group]
        for i in range(len(group)):
            for j in range(len(group)):  # the same order, ties included, with no gaps
                assert (expert[i] < expert[j]) == (reference[i] < reference[j])
        assert sorted(set(reference)) == list(range(1, max(reference) + 1))
        ties += len(set(expert)) < len(expert)
    assert ties == 349
    image = make_campaign(session, slug="ir-image", task_kind=TaskKind.ranking, modality=Modality.image)
    with pytest.raises(ImportRejected, match="does not include them"):
        import_items(session, campaign=image, lines=_lines(IMAGEREWARD), fmt="imagereward", media_base=DATA)


def _with_images(tmp_path: Path, n: int, *, under: str = "", skip: int | None = None) -> Path:
    """The first n records in a folder with a small WebP at each named path (one left out: skip)."""
    records = json.loads(IMAGEREWARD.read_text(encoding="utf-8"))[:n]
    base = tmp_path / "ir"
    base.mkdir()
    (base / "test.json").write_text(json.dumps(records, indent=4))
    for k, image in enumerate(p for r in records for p in r["generations"]):
        if k == skip:
            continue
        path = base / under / image
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (16, 16), (k * 7 % 256, 90, 160)).save(path, "WEBP")
    return base


def test_imagereward_with_the_images_imports_them_as_media(session: Session, tmp_path: Path) -> None:
    base = _with_images(tmp_path, 3, under="test_images")  # the layout ImageReward's scripts read
    campaign = make_campaign(session, slug="ir-media", task_kind=TaskKind.ranking, modality=Modality.image)
    lines = _lines(base / "test.json")
    report = import_items(session, campaign=campaign, lines=lines, fmt="imagereward", media_base=base)
    assert report.items_created == 3
    candidates = _candidates(session, campaign.id)
    attached = session.execute(
        select(CandidateMedia.candidate_id, MediaFile.mime)
        .join(MediaFile)
        .order_by(CandidateMedia.candidate_id)
    ).all()
    assert [cid for cid, _ in attached] == [c.id for c in candidates]
    assert {mime for _, mime in attached} == {"image/webp"}
    assert all(c.content == "" and c.meta["reference_rank"] >= 1 for c in candidates)


def test_imagereward_refuses_an_incomplete_image_set(session: Session, tmp_path: Path) -> None:
    base = _with_images(tmp_path, 3, skip=5)
    campaign = make_campaign(session, slug="ir-part", task_kind=TaskKind.ranking, modality=Modality.image)
    with pytest.raises(ImportRejected, match=r"record 2: the image '.+\.webp' is missing, though"):
        import_items(
            session, campaign=campaign, lines=_lines(base / "test.json"), fmt="imagereward", media_base=base
        )
    bad = json.loads((base / "test.json").read_text())
    bad[1]["ranking"] = bad[1]["ranking"][:-1]
    with pytest.raises(ImportRejected, match="record 2: 'ranking' must hold one positive integer per"):
        import_items(session, campaign=campaign, lines=[json.dumps(bad)], fmt="imagereward")


def test_the_cli_imports_both_formats(cli_env: dict[str, str], tmp_path: Path) -> None:
    from app.campaigns.schemas import CampaignCreate
    from app.campaigns.service import create_campaign
    from app.db import make_engine

    run_cli(cli_env, "db", "upgrade")
    engine = make_engine(cli_env["PREFLAB_DATABASE_URL"])
    with Session(engine) as s:
        create_campaign(
            s, data=CampaignCreate(slug="fg", name="FG", task_kind=TaskKind.segment), created_by=None
        )
        create_campaign(
            s, data=CampaignCreate(slug="ir", name="IR", task_kind=TaskKind.ranking), created_by=None
        )
        s.commit()
    engine.dispose()
    fg = run_cli(cli_env, "import", "fg", str(FG_RLHF), "--format", "fg-rlhf").stdout
    assert "500 new items, 500 new comparisons" in fg
    ir = run_cli(cli_env, "import", "ir", str(IMAGEREWARD), "--format", "imagereward").stdout
    assert "466 new items, 466 new comparisons" in ir
    wrong = run_cli(cli_env, "import", "ir", str(IMAGEREWARD), "--format", "csv", check=False)
    assert wrong.returncode != 0 and "fg-rlhf, imagereward" in wrong.stderr
