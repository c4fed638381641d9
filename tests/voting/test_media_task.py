"""Media candidates as annotators get them: through the API (fast path on Postgres) and on the task page,
with players by type and never a system name."""

import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.items.service import import_items
from tests.api_helpers import bearer, form_field, sign_in
from tests.factories import make_campaign, make_user
from tests.media.samples import media_item_lines

# The start of an MP4 file: enough for the store to take it as video/mp4.
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(64)


def _media_campaign(session: Session, folder: Path) -> None:
    lines = media_item_lines(folder, n=2)
    (folder / "clip.mp4").write_bytes(MP4_HEAD)
    lines.append(
        '{"id": "v", "prompt": "Film it", "candidates": [{"system": "director", "media": "clip.mp4"}, '
        '{"system": "writer", "content": "A **script** instead"}]}'
    )
    import_items(session, campaign=make_campaign(session, overlap=1), lines=lines, media_base=folder)
    session.commit()


def test_next_gives_each_candidate_its_media_in_order(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    _media_campaign(session, tmp_path)
    annotator = bearer(session, "ann@example.org")
    seen = []
    while (r := client.get("/api/v1/campaigns/demo/next", headers=annotator)).status_code == 200:
        task = r.json()
        for candidate in task["candidates"]:
            assert set(candidate) == {"id", "content", "media"}
            seen.append([m["mime"] for m in candidate["media"]])
            for media in candidate["media"]:
                assert re.fullmatch(r"/media/[0-9a-f]{24}", media["url"])
                assert client.get(media["url"], headers=annotator).status_code == 200
        for system in ("painter", "singer", "director", "writer"):
            assert system not in r.text
        vote = client.post(
            f"/api/v1/assignments/{task['assignment_id']}/vote", json={"outcome": "a"}, headers=annotator
        )
        assert vote.status_code == 201
    assert sorted(map(tuple, seen)) == sorted(
        [("image/png", "image/png"), ("audio/wav",)] * 2 + [("video/mp4",), ()]
    )


def test_the_task_page_plays_media_by_type(client: TestClient, session: Session, tmp_path: Path) -> None:
    _media_campaign(session, tmp_path)
    make_user(session, "ann@example.org")
    session.commit()
    sign_in(client, "ann@example.org")

    players: set[str] = set()
    for _ in range(3):
        html = client.get("/campaigns/demo/task").text
        for system in ("painter", "singer", "director", "writer"):
            assert system not in html
        images = re.findall(r'<img src="(/media/[0-9a-f]+)"', html)
        audio = re.findall(r'<audio controls preload="metadata" src="(/media/[0-9a-f]+)"', html)
        video = re.findall(r'<video controls playsinline preload="metadata" src="(/media/[0-9a-f]+)"', html)
        if images:
            assert len(images) == 2 and len(audio) == 1 and "a song, take" in html
            players |= {"img", "audio"}
        if video:
            assert len(video) == 1 and "<strong>script</strong>" in html
            players.add("video")
        for url in images + audio + video:
            assert client.get(url).status_code == 200  # the session cookie is enough
        csrf = form_field(html, "csrf_token")
        vote_url = re.search(r'action="(/campaigns/demo/task/[^"]+/vote)"', html)
        assert vote_url
        key = form_field(html, "idempotency_key")
        form = {"outcome": "b", "csrf_token": csrf, "idempotency_key": key}
        assert client.post(vote_url.group(1), data=form).status_code == 200
    assert players == {"img", "audio", "video"}
