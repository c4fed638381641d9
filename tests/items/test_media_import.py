"""Importing candidates that are media: files beside the import file (CLI) or uploaded ones (API)."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.config import Settings
from app.errors import ImportRejected
from app.items.models import Candidate, Comparison, Item
from app.items.service import import_items
from app.media.models import CandidateMedia, MediaFile
from app.media.service import media_dir
from tests.api_helpers import bearer
from tests.conftest import run_cli
from tests.factories import item_lines, make_campaign
from tests.media.samples import png_bytes, wav_bytes


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _line(item_id: str, *candidates: dict[str, Any]) -> str:
    return json.dumps({"id": item_id, "prompt": f"Draw {item_id}", "candidates": list(candidates)})


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """An import folder: two images (one in a subfolder), a sound, and a text file named like an image."""
    base = tmp_path / "import"
    (base / "imgs").mkdir(parents=True)
    (base / "red.png").write_bytes(png_bytes(rgb=(255, 0, 0)))
    (base / "imgs" / "blue.png").write_bytes(png_bytes(rgb=(0, 0, 255)))
    (base / "hello.wav").write_bytes(wav_bytes())
    (base / "fake.png").write_text("not an image")
    return base


def _media_of(session: Session, item: str) -> dict[str, list[str]]:
    rows = session.execute(
        select(Candidate.system, MediaFile.mime, MediaFile.meta)
        .join(Item)
        .join(CandidateMedia, CandidateMedia.candidate_id == Candidate.id)
        .join(MediaFile, MediaFile.id == CandidateMedia.media_id)
        .where(Item.external_id == item)
        .order_by(Candidate.id, CandidateMedia.position)
    ).all()
    found: dict[str, list[str]] = {}
    for system, mime, meta in rows:
        found.setdefault(system, []).append(f"{mime} {meta.get('width', '-')}")
    return found


def test_media_paths_are_read_beside_the_import_file(
    session: Session, folder: Path, settings: Settings
) -> None:
    campaign = make_campaign(session)
    lines = [
        _line(
            "cat",
            {"system": "one", "media": "red.png"},
            {"system": "many", "media": ["imgs/blue.png", "red.png"], "content": "two views"},
            {"system": "words", "content": "a cat, described"},
        ),
        _line("song", {"system": "one", "media": ["hello.wav"]}, {"system": "two", "media": "red.png"}),
    ]
    report = import_items(session, campaign=campaign, lines=lines, media_base=folder)
    session.commit()

    assert (report.items_created, report.comparisons_created) == (2, 4)
    assert _media_of(session, "cat") == {"one": ["image/png 3"], "many": ["image/png 3", "image/png 3"]}
    assert _media_of(session, "song") == {"one": ["audio/wav -"], "two": ["image/png 3"]}
    assert _count(session, MediaFile) == 3  # red.png named three times, stored once
    media_only = session.scalar(select(Candidate).where(Candidate.system == "one").limit(1))
    assert media_only is not None and media_only.content == ""

    again = import_items(session, campaign=campaign, lines=lines, media_base=folder)
    assert again.items_skipped == 2 and _count(session, CandidateMedia) == 5


@pytest.mark.parametrize(
    ("media", "reason"),
    [
        ("missing.png", "no file"),
        ("fake.png", "not a media type Preflab accepts"),
        ("/etc/hostname", "absolute paths are refused"),
        ("../import/red.png", "'..' is refused"),
        ("imgs/../red.png", "'..' is refused"),
    ],
)
def test_one_bad_media_line_rejects_the_whole_import(
    session: Session, folder: Path, settings: Settings, media: str, reason: str
) -> None:
    campaign = make_campaign(session)
    session.commit()
    lines = [
        _line("ok", {"system": "a", "media": "red.png"}, {"system": "b", "media": "hello.wav"}),
        _line("bad", {"system": "a", "media": ["imgs/blue.png", media]}, {"system": "b", "content": "x"}),
    ]
    with pytest.raises(ImportRejected) as info:
        import_items(session, campaign=campaign, lines=lines, media_base=folder)
    session.rollback()
    assert info.value.line == 2 and reason in info.value.message
    assert f"candidates.0.media '{media}'" in info.value.message
    assert _count(session, Item) == 0 and _count(session, MediaFile) == 0 and _count(session, Comparison) == 0
    # Every file is checked before any is stored, so the store holds nothing either.
    assert not any(p.is_file() for p in media_dir(settings).rglob("*"))


def test_too_large_and_malformed_media_lines(session: Session, folder: Path, settings: Settings) -> None:
    campaign = make_campaign(session)
    session.commit()
    small = settings.model_copy(update={"media_max_bytes": 50})
    line = _line("x", {"system": "a", "media": "red.png"}, {"system": "b", "content": "x"})
    with pytest.raises(ImportRejected, match=r"line 1: .*over the 50 byte limit"):
        import_items(session, campaign=campaign, lines=[line], media_base=folder, settings=small)
    for candidate, reason in [
        ({"system": "a"}, "give content (text), media (files) or media_id"),
        ({"system": "a", "media": []}, "the media list is empty"),
        ({"system": "a", "media": "red.png", "media_id": "abc"}, "not both"),
    ]:
        with pytest.raises(ImportRejected, match=re.escape(reason)):
            import_items(
                session, campaign=campaign, lines=[_line("y", candidate, {"system": "b", "content": "x"})]
            )
    session.rollback()
    assert _count(session, Item) == 0


def test_the_api_imports_uploaded_media_by_id_and_annotators_see_it(
    client: TestClient, session: Session, folder: Path
) -> None:
    researcher = bearer(session, "res@example.org", Role.researcher)
    annotator = bearer(session, "ann@example.org")
    make_campaign(session, slug="pics")
    session.commit()
    upload = client.post("/api/v1/media", files={"file": ("x", png_bytes(), "image/png")}, headers=researcher)
    image = upload.json()

    by_path = _line("p", {"system": "a", "media": "red.png"}, {"system": "b", "content": "x"})
    r = client.post("/api/v1/campaigns/pics/items", content=by_path, headers=researcher)
    assert r.status_code == 422 and "upload them to POST /api/v1/media" in r.json()["detail"]
    unknown = _line("p", {"system": "a", "media_id": "nope"}, {"system": "b", "content": "x"})
    r = client.post("/api/v1/campaigns/pics/items", content=unknown, headers=researcher)
    assert (
        r.status_code == 422
        and "line 1" in r.json()["detail"]
        and "no uploaded media 'nope'" in r.json()["detail"]
    )

    line = _line(
        "p", {"system": "secret-model", "media_id": [image["id"]]}, {"system": "other", "content": "text"}
    )
    r = client.post("/api/v1/campaigns/pics/items", content=line, headers=researcher)
    assert r.status_code == 201, r.text

    task = client.get("/api/v1/campaigns/pics/next", headers=annotator).json()
    shown = {c["content"]: c["media"] for c in task["candidates"]}
    assert shown == {"": [{"url": image["url"], "mime": "image/png", "duration_s": None}], "text": []}
    assert "secret-model" not in json.dumps(task)
    assert client.get(image["url"], headers=annotator).content == png_bytes()


def test_preflab_import_reads_media_relative_to_the_file(
    cli_env: dict[str, str], session: Session, folder: Path
) -> None:
    make_campaign(session, slug="cli")
    session.commit()
    items = folder / "items.jsonl"
    lines = [
        *item_lines(1),
        _line("pic", {"system": "a", "media": "imgs/blue.png"}, {"system": "b", "content": "x"}),
    ]
    items.write_text("\n".join(lines) + "\n")
    # Run from elsewhere: the paths are the file's, not the working directory's.
    assert "2 new items" in run_cli(cli_env, "import", "cli", str(items)).stdout
    assert _media_of(session, "pic") == {"a": ["image/png 3"]}
    session.rollback()  # SQLite: let the next command write

    (folder / "bad.jsonl").write_text(
        _line("z", {"system": "a", "media": "gone.png"}, {"system": "b", "content": "x"})
    )
    result = run_cli(cli_env, "import", "cli", str(folder / "bad.jsonl"), check=False)
    assert result.returncode != 0 and "line 1" in result.stderr and "gone.png" in result.stderr
