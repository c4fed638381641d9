"""The synchronised players in a real browser (Debian's Chromium) against `preflab serve`, with real clips.

Campaigns and items are made through the services on the server's own database; the annotator then uses
the shared transport, the A/B switch, frame steps, time ranges, per-window preferences and the image
tools, and what the browser sent is checked where it is stored.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns.models import Modality, TaskKind
from app.items.models import Candidate
from app.items.service import import_items
from app.voting.models import Vote
from app.voting.service import shown_order
from tests.browser.chromium import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from tests.browser.test_annotator_flow import ANNOTATOR, _login, _wait_for_next
from tests.conftest import BACKEND
from tests.factories import make_campaign, make_user
from tests.media import clips

sync_api = pytest.importorskip("playwright.sync_api")

SYSTEMS = ("cobalt-marmot-3b", "saffron-ibis-8b")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"
    ),
]

CLIP_TIMES = "() => [...document.querySelectorAll('[data-timed]')].map(m => m.currentTime)"
READY = (
    "n => { const clips = [...document.querySelectorAll('[data-timed]')];"
    " return clips.length === n && clips.every(m => m.readyState >= 1); }"
)


@pytest.fixture
def media_browser() -> Iterator[Any]:
    """Chromium that may start sound without a gesture: the transport resumes muted sides from a frame
    callback, which is not one."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"]
        )
        try:
            yield browser
        finally:
            browser.close()


def _campaign(
    session: Session, folder: Path, candidates: list[dict[str, Any]], items: int = 1, **fields: Any
) -> None:
    lines = [
        json.dumps({"id": f"clip-{i}", "prompt": f"Judge the clips ({i}).", "candidates": candidates})
        for i in range(items)
    ]
    campaign = make_campaign(session, slug="clips", overlap=1, **fields)
    import_items(session, campaign=campaign, lines=lines, media_base=folder)
    make_user(session, ANNOTATOR)
    session.commit()


def _open_task(browser: Any, base: str) -> tuple[Any, Any, list[str]]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _login(page, base, "/campaigns/clips/task")
    page.wait_for_selector("#vote-form [data-players]:not([hidden])")
    return context, page, errors


def _stored_vote(session: Session) -> tuple[Vote, dict[str, str]]:
    """The one vote, and the candidates' public ids by the side the annotator saw them on."""
    session.rollback()  # a fresh read of what the server committed
    vote = session.execute(select(Vote)).scalar_one()
    order = shown_order(vote.assignment)
    public = dict(
        session.execute(select(Candidate.id, Candidate.public_id).where(Candidate.id.in_(order))).all()
    )
    sides = {"abc"[i]: public[cid] for i, cid in enumerate(order)}
    session.rollback()  # SQLite: never hold the write lock while the server works
    return vote, sides


def _votes(session: Session) -> int:
    session.rollback()
    count = len(session.execute(select(Vote.id)).all())
    session.rollback()
    return count


def _hint(page: Any) -> str:
    return page.inner_text("#vote-form [data-hint]")


def _seek_bar_click(page: Any, fraction: float) -> None:
    box = page.locator("[data-seek]").bounding_box()
    page.mouse.click(box["x"] + box["width"] * fraction, box["y"] + box["height"] / 2)


def test_two_clips_play_seek_and_switch_together_and_the_vote_waits_for_listening(
    live_server: str, session: Session, tmp_path: Path, media_browser: Any
) -> None:
    clips.wav(tmp_path / "a.wav", seconds=6.0, freq=440)
    clips.opus(tmp_path / "b.ogg", seconds=6.0, freq=330)
    _campaign(
        session,
        tmp_path,
        [{"system": SYSTEMS[0], "media": "a.wav"}, {"system": SYSTEMS[1], "media": "b.ogg"}],
        modality=Modality.audio,
        task_config={"min_listen_s": 1.0},
    )
    context, page, errors = _open_task(media_browser, live_server)
    page.wait_for_function(READY, arg=2)
    assert page.evaluate("() => [...document.querySelectorAll('[data-timed]')].map(m => m.controls)") == [
        False,
        False,
    ]

    # A seek through the shared bar moves both clips to the same place.
    _seek_bar_click(page, 0.5)
    a, b = page.evaluate(CLIP_TIMES)
    assert abs(a - b) <= 0.05 and 2.5 < a < 3.5, (a, b)

    # Voting now is refused in the page, before anything is sent.
    page.keyboard.press("1")
    assert "Listen to A for 1.0 more seconds" in _hint(page)
    assert _votes(session) == 0

    # Play, switch to B while playing: B is heard from the same position, A goes on muted beside it.
    page.keyboard.press("Space")
    page.wait_for_timeout(1300)
    before = page.evaluate(CLIP_TIMES)
    page.keyboard.press("s")
    muted = page.evaluate("() => [...document.querySelectorAll('[data-timed]')].map(m => m.muted)")
    assert muted == [True, False]
    assert page.get_attribute("[data-listen=b]", "aria-pressed") == "true"
    page.wait_for_timeout(400)
    a, b = page.evaluate(CLIP_TIMES)
    assert a > before[0] and abs(a - b) <= 0.1, (before, a, b)
    page.screenshot(path=str(ARTIFACTS / f"{BACKEND}-players-audio.png"), full_page=True)

    # Not yet a second of B: still refused, now naming B.
    page.keyboard.press("1")
    assert "Listen to B for" in _hint(page)
    page.wait_for_timeout(900)
    page.keyboard.press("Space")
    a, b = page.evaluate(CLIP_TIMES)
    assert abs(a - b) <= 0.05 and not page.evaluate(
        "() => document.querySelector('[data-timed]').paused === false"
    )
    progress = page.inner_text("[data-listen-progress]")
    assert "A 1.0/1 s" in progress and "B 1.0/1 s" in progress, progress

    # A direct POST that claims too little listening is refused by the server as well.
    form = page.evaluate(
        "() => { const f = document.getElementById('vote-form'); return {url: f.getAttribute('hx-post'),"
        " csrf: f.elements.csrf_token.value}; }"
    )
    short = {"listening_log": [{"side": "a", "event": "play", "media_s": 0, "wall_ms": 0}]}
    direct = context.request.post(
        live_server + form["url"],
        form={
            "csrf_token": form["csrf"],
            "outcome": "a",
            "answer": json.dumps(short),
            "idempotency_key": "direct-1",
        },
    )
    assert direct.status == 422 and "Listen to each side for at least 1 s" in direct.text()
    assert _votes(session) == 0

    page.keyboard.press("1")
    page.wait_for_selector(".task-done")
    vote, sides = _stored_vote(session)
    assert vote.outcome is not None and vote.winner_candidate_id is not None
    events = [(e["event"], e["candidate"]) for e in vote.listening_log]
    assert events[:4] == [
        ("seek", sides["a"]),
        ("play", sides["a"]),
        ("switch", sides["b"]),
        ("pause", sides["b"]),
    ]
    times = [e["wall_ms"] for e in vote.listening_log]
    assert times == sorted(times) and vote.listening_log[0]["media_s"] == pytest.approx(3.0, abs=0.5)
    assert errors == []
    context.close()


def test_a_time_range_marked_on_a_video_by_frame_steps_is_stored(
    live_server: str, session: Session, tmp_path: Path, media_browser: Any
) -> None:
    clips.webm(tmp_path / "v.webm", seconds=2.0, codec="vp8")
    _campaign(
        session,
        tmp_path,
        [{"system": SYSTEMS[0], "media": "v.webm"}],
        task_kind=TaskKind.segment,
        modality=Modality.video,
        task_config={"segment_mode": "time", "taxonomy": ["glitch", "off prompt"]},
    )
    context, page, errors = _open_task(media_browser, live_server)
    page.wait_for_function(READY, arg=1)

    for _ in range(10):
        page.keyboard.press(".")
    assert page.evaluate(CLIP_TIMES)[0] == pytest.approx(0.4, abs=0.005)
    page.keyboard.press("[")
    for _ in range(15):
        page.keyboard.press(".")
    page.keyboard.press(",")  # one back: 0.96 s
    page.keyboard.press("]")
    assert page.inner_text("[data-range-draft]") == "0.40 \N{EN DASH} 0.96 s"
    page.select_option("[data-range-label]", "glitch")
    page.fill("[data-range-comment]", "the colour jumps")
    page.keyboard.press("Enter")  # adds the range; must not submit the vote
    assert page.locator("[data-range-list] li").count() == 1

    # A second range, removed again.
    page.keyboard.press("[")
    page.keyboard.press(".")
    page.keyboard.press("]")
    page.click("[data-action=add-range]")
    assert page.locator("[data-range-list] li").count() == 2
    page.screenshot(path=str(ARTIFACTS / f"{BACKEND}-players-ranges.png"), full_page=True)
    page.click("[data-range-list] li:nth-child(2) [data-remove-range]")
    assert page.locator("[data-range-list] li").count() == 1
    assert _votes(session) == 0

    page.keyboard.press("Control+Enter")
    page.wait_for_selector(".task-done")
    vote, sides = _stored_vote(session)
    assert vote.answer["time_ranges"] == [
        {
            "candidate": sides["a"],
            "start_s": 0.4,
            "end_s": 0.96,
            "label": "glitch",
            "comment": "the colour jumps",
        }
    ]
    assert [e["event"] for e in vote.listening_log] == ["seek"] * 27
    assert errors == []
    context.close()


def test_per_window_preferences_are_set_by_keys_and_stored(
    live_server: str, session: Session, tmp_path: Path, media_browser: Any
) -> None:
    clips.webm(tmp_path / "a.webm", seconds=2.0, codec="vp9", hue=0)
    clips.webm(tmp_path / "b.webm", seconds=2.0, codec="vp9", hue=128)
    _campaign(
        session,
        tmp_path,
        [{"system": SYSTEMS[0], "media": "a.webm"}, {"system": SYSTEMS[1], "media": "b.webm"}],
        task_kind=TaskKind.segment,
        modality=Modality.video,
        task_config={"segment_mode": "windows", "window_s": 0.5},
    )
    context, page, errors = _open_task(media_browser, live_server)
    page.wait_for_function(READY, arg=2)
    page.wait_for_function(
        "() => document.querySelectorAll('[data-window-strip] [data-window]').length === 4"
    )

    for key in ("1", "2", "3"):
        page.keyboard.press(key)
    assert page.evaluate(CLIP_TIMES)[0] == pytest.approx(1.501, abs=0.01)
    page.keyboard.press("Control+Enter")
    assert "1 of 4 left" in _hint(page)
    assert _votes(session) == 0

    # Clicking a window goes there; a key then sets that one.
    page.click("[data-window='1']")
    a, b = page.evaluate(CLIP_TIMES)
    assert a == pytest.approx(0.501, abs=0.01) and abs(a - b) <= 0.05
    page.keyboard.press("1")  # window 2 becomes A, and the playhead moves to window 3
    page.click("[data-window='3']")
    page.keyboard.press("2")
    cells = page.evaluate("() => [...document.querySelectorAll('[data-window]')].map(c => c.dataset.value)")
    assert cells == ["a", "a", "tie", "b"]
    page.screenshot(path=str(ARTIFACTS / f"{BACKEND}-players-windows.png"), full_page=True)

    page.keyboard.press("Control+Enter")
    page.wait_for_selector(".task-done")
    vote, sides = _stored_vote(session)
    assert vote.answer["windows"] == [sides["a"], sides["a"], "tie", sides["b"]]
    assert errors == []
    context.close()


def test_images_zoom_pan_page_and_flicker_on_every_side_together(
    live_server: str, session: Session, tmp_path: Path, media_browser: Any
) -> None:
    clips.picture(tmp_path / "a1.png", "A one", colour=(160, 40, 40))
    clips.picture(tmp_path / "a2.jpg", "A two", colour=(160, 90, 40))
    clips.picture(tmp_path / "b1.png", "B one", colour=(40, 90, 160))
    clips.picture(tmp_path / "b2.jpg", "B two", colour=(40, 140, 90))
    _campaign(
        session,
        tmp_path,
        [
            {"system": SYSTEMS[0], "media": ["a1.png", "a2.jpg"]},
            {"system": SYSTEMS[1], "media": ["b1.png", "b2.jpg"]},
        ],
        items=2,
        modality=Modality.image,
    )
    context, page, errors = _open_task(media_browser, live_server)
    transforms = (
        "() => [...document.querySelectorAll('[data-viewer] img.current')].map(i => i.style.transform)"
    )
    zooms = "() => [...document.querySelectorAll('[data-viewer]')].map(v => v.dataset.zoom)"

    page.keyboard.press("+")
    page.keyboard.press("+")
    assert page.evaluate(zooms) == ["1.56", "1.56"]
    assert page.inner_text("[data-zoom-level]") == "156%"
    # The wheel zooms about the pointer, on both sides.
    stage = page.locator("[data-viewer][data-side=b] .viewer-stage").bounding_box()
    page.mouse.move(stage["x"] + stage["width"] * 0.75, stage["y"] + stage["height"] * 0.75)
    page.mouse.wheel(0, -100)
    page.wait_for_function("() => document.querySelector('[data-viewer]').dataset.zoom === '1.95'")
    one, two = page.evaluate(transforms)
    assert one == two and "scale(1.95" in one
    # A drag on one side pans both.
    page.mouse.down()
    page.mouse.move(
        stage["x"] + stage["width"] * 0.75 + 40, stage["y"] + stage["height"] * 0.75 + 30, steps=4
    )
    page.mouse.up()
    moved, same = page.evaluate(transforms)
    assert moved == same and moved != one

    # Paging moves every side to its second image.
    page.click("[data-action=next-image]")
    alts = page.evaluate("() => [...document.querySelectorAll('[data-viewer] img.current')].map(i => i.alt)")
    assert alts == ["Output A, image 2", "Output B, image 2"]
    assert page.inner_text("[data-image-index]") == "2 / 2"

    # Flicker: the first viewer shows A and B in turn in the same place, until F again.
    page.keyboard.press("0")
    page.keyboard.press("f")
    first = "[data-viewer][data-side=a]"
    assert page.get_attribute(first, "data-flicker") == "on"
    assert page.get_attribute("[data-action=flicker]", "aria-pressed") == "true"
    page.wait_for_function(f"() => document.querySelector('{first}').dataset.showing === 'b'")
    overlay = page.locator(f"{first} [data-flicker-image]")
    assert overlay.is_visible()
    b_second = page.get_attribute("[data-viewer][data-side=b] img.current", "src")
    assert overlay.get_attribute("src") == b_second
    page.screenshot(path=str(ARTIFACTS / f"{BACKEND}-players-flicker.png"), full_page=True)
    page.wait_for_function(f"() => document.querySelector('{first}').dataset.showing === 'a'")
    assert not overlay.is_visible()
    page.keyboard.press("F")
    assert page.get_attribute(first, "data-flicker") == "off"
    assert page.locator(f"{first} [data-flicker-image]").count() == 0

    # The images still vote like any pair; the next task, swapped in by htmx, starts afresh.
    previous = page.get_attribute("#vote-form", "hx-post")
    page.keyboard.press("2")
    _wait_for_next(page, previous)
    assert page.evaluate(zooms) == ["1.00", "1.00"]
    assert page.get_attribute("[data-action=flicker]", "aria-pressed") == "false"
    page.keyboard.press("+")
    assert page.evaluate(zooms) == ["1.25", "1.25"]
    session.rollback()
    vote = session.execute(select(Vote)).scalar_one()
    assert vote.listening_log is None and vote.winner_candidate_id is not None
    session.rollback()
    assert errors == []
    context.close()
