"""The task page's media players as rendered HTML: one shared transport for clips, image tools, the
settings players.js reads, and the server's own refusal of a vote heard too briefly."""

import json
import re
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.campaigns.models import Modality, TaskKind
from app.items.service import import_items
from app.voting.models import Vote
from tests.api_helpers import form_field, sign_in
from tests.factories import make_campaign, make_user
from tests.media import clips

SYSTEMS = ("ochre-lantern", "velvet-heron")


def _campaign(session: Session, folder: Path, candidates: list[dict[str, Any]], **fields: Any) -> None:
    line = json.dumps({"id": "clip-1", "prompt": "Which take is better?", "candidates": candidates})
    import_items(
        session, campaign=make_campaign(session, overlap=1, **fields), lines=[line], media_base=folder
    )
    make_user(session, "ann@example.org")
    session.commit()


def _page(client: TestClient) -> str:
    sign_in(client, "ann@example.org")
    response = client.get("/campaigns/demo/task")
    assert response.status_code == 200
    for system in SYSTEMS:
        assert system not in response.text
    return response.text


def _players(html: str) -> str:
    found = re.search(r'<div class="card players" data-players hidden(.*?)>', html, re.S)
    assert found, "no shared player controls on the page"
    return found.group(1)


def _audio_pair(session: Session, folder: Path, **fields: Any) -> None:
    clips.wav(folder / "a.wav", seconds=3.0, freq=440)
    clips.opus(folder / "b.ogg", seconds=3.0, freq=330)
    candidates = [
        {"system": SYSTEMS[0], "media": "a.wav"},
        {"system": SYSTEMS[1], "media": "b.ogg", "content": "take two"},
    ]
    _campaign(session, folder, candidates, modality=Modality.audio, **fields)


def test_two_clips_get_one_transport_with_a_switch_and_listening_progress(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    _audio_pair(session, tmp_path, task_config={"min_listen_s": 2.5})
    html = _page(client)

    settings = _players(html)
    assert 'data-kind="pairwise"' in settings and 'data-min-listen-s="2.5"' in settings
    # Each side's clip keeps native controls until the script takes it under the transport.
    clips_by_side = re.findall(
        r'<audio controls preload="metadata" src="(/media/[0-9a-f]{24})"[^>]*data-side="([ab])" data-timed '
        r'data-duration-s="([0-9.]+)"',
        html,
    )
    assert sorted(side for _, side, _ in clips_by_side) == ["a", "b"]
    assert {float(d) for _, _, d in clips_by_side} == {3.0}
    assert html.count("data-waveform") == 2
    assert re.search(r'data-action="play"', html) and "data-seek" in html
    assert re.findall(r'data-listen="([ab])"', html) == ["a", "b"]
    assert re.findall(r'data-progress-side="([ab])">([AB] 0\.0/2\.5 s)<', html) == [
        ("a", "A 0.0/2.5 s"),
        ("b", "B 0.0/2.5 s"),
    ]
    # Text-only parts of the page stay text: no frame steps, no segment tools.
    assert "frame-forward" not in html and "data-ranges" not in html and "data-window-strip" not in html


def test_without_a_minimum_there_is_no_progress(client: TestClient, session: Session, tmp_path: Path) -> None:
    _audio_pair(session, tmp_path)
    html = _page(client)
    assert 'data-min-listen-s="0' in _players(html)
    assert "data-listen-progress" not in html


def test_images_get_zoom_flicker_and_paging(client: TestClient, session: Session, tmp_path: Path) -> None:
    for name in ("a1.png", "a2.jpg", "b1.png", "b2.jpg"):
        clips.picture(tmp_path / name, name.split(".")[0].upper())
    candidates = [
        {"system": SYSTEMS[0], "media": ["a1.png", "a2.jpg"]},
        {"system": SYSTEMS[1], "media": ["b1.png", "b2.jpg"]},
    ]
    _campaign(session, tmp_path, candidates, modality=Modality.image)
    html = _page(client)

    _players(html)
    viewers = re.findall(r'data-viewer data-side="([ab])" data-count="(\d)"', html)
    assert viewers == [("a", "2"), ("b", "2")]
    images = re.findall(r'<img src="(/media/[0-9a-f]{24})" alt="Output ([AB]), image (\d)"', html)
    assert [(side, n) for _, side, n in images] == [("A", "1"), ("A", "2"), ("B", "1"), ("B", "2")]
    for url, _, _ in images:
        assert client.get(url).headers["content-type"] in ("image/png", "image/jpeg")
    for action in ("zoom-in", "zoom-out", "zoom-reset", "flicker", "prev-image", "next-image"):
        assert f'data-action="{action}"' in html
    assert "<output data-image-index>1 / 2</output>" in html
    assert "data-transport" not in html


def test_a_video_clip_for_time_ranges_gets_frame_steps_and_the_taxonomy(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    clips.webm(tmp_path / "v.webm", seconds=1.0, codec="vp9")
    _campaign(
        session,
        tmp_path,
        [{"system": SYSTEMS[0], "media": "v.webm"}],
        task_kind=TaskKind.segment,
        modality=Modality.video,
        task_config={"segment_mode": "time", "taxonomy": ["glitch", "off prompt"]},
    )
    html = _page(client)

    assert 'data-segment-mode="time"' in _players(html)
    assert re.search(
        r'<video controls playsinline preload="metadata" src="/media/[0-9a-f]{24}"[^>]* data-timed', html
    )
    assert 'data-action="frame-back"' in html and 'data-action="frame-forward"' in html
    assert re.findall(r'<option value="([^"]+)">', html) == ["glitch", "off prompt"]
    assert "data-range-list" in html and 'data-action="add-range" disabled' in html
    assert "data-listen=" not in html  # one clip: nothing to switch between


def test_aligned_clips_for_windows_get_a_window_strip(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    clips.wav(tmp_path / "a.wav", seconds=2.0)
    clips.wav(tmp_path / "b.wav", seconds=2.0, freq=550)
    candidates = [{"system": SYSTEMS[0], "media": "a.wav"}, {"system": SYSTEMS[1], "media": "b.wav"}]
    _campaign(
        session,
        tmp_path,
        candidates,
        task_kind=TaskKind.segment,
        modality=Modality.audio,
        task_config={"segment_mode": "windows", "window_s": 0.5},
    )
    html = _page(client)

    settings = _players(html)
    assert 'data-segment-mode="windows"' in settings and 'data-window-s="0.5"' in settings
    assert "data-window-strip" in html and "<kbd>1</kbd> A better" in html


def test_text_tasks_have_no_players(client: TestClient, session: Session, tmp_path: Path) -> None:
    candidates = [{"system": SYSTEMS[0], "content": "one"}, {"system": SYSTEMS[1], "content": "two"}]
    _campaign(session, tmp_path, candidates)
    html = _page(client)
    assert "data-players" not in html and "data-viewer" not in html and "data-track" not in html


def test_a_vote_heard_too_briefly_is_refused_and_one_heard_long_enough_is_stored(
    client: TestClient, session: Session, tmp_path: Path
) -> None:
    _audio_pair(session, tmp_path, task_config={"min_listen_s": 1.0})
    html = _page(client)
    vote_url = re.search(r'action="(/campaigns/demo/task/[^"]+/vote)"', html)
    assert vote_url
    form = {
        "outcome": "a",
        "csrf_token": form_field(html, "csrf_token"),
        "idempotency_key": form_field(html, "idempotency_key"),
    }
    short = [
        {"side": "a", "event": "play", "media_s": 0, "wall_ms": 0},
        {"side": "a", "event": "pause", "media_s": 0.4, "wall_ms": 400},
    ]
    refused = client.post(vote_url.group(1), data={**form, "answer": json.dumps({"listening_log": short})})
    assert refused.status_code == 422
    # A log counts only up to the time the server measured on the task: here well under 0.4 s.
    assert re.search(
        r"Listen to each side for at least 1 s before voting \(A: 0\.[0-4] s, B: 0\.0 s so far\)",
        refused.text,
    )
    # The refused answer comes back in the form, for the players to carry on from.
    assert "&#34;listening_log&#34;" in refused.text or "&quot;listening_log&quot;" in refused.text
    assert session.query(Vote).count() == 0
    session.rollback()

    enough = [
        {"side": "a", "event": "play", "media_s": 0, "wall_ms": 0},
        {"side": "b", "event": "switch", "media_s": 1.1, "wall_ms": 1100},
        {"side": "b", "event": "pause", "media_s": 2.3, "wall_ms": 2300},
    ]
    retry = {**form, "csrf_token": form_field(refused.text, "csrf_token")}
    # The server counts a log only up to the time it measured on the task: let that much pass.
    time.sleep(2.1)
    stored = client.post(vote_url.group(1), data={**retry, "answer": json.dumps({"listening_log": enough})})
    assert stored.status_code == 200, stored.text
    vote = session.query(Vote).one()
    assert [e["event"] for e in vote.listening_log] == ["play", "switch", "pause"]
    assert len({e["candidate"] for e in vote.listening_log}) == 2
