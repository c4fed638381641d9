"""The task page of each text task kind in a real browser (Debian's Chromium) against `preflab serve`:
ratings by keyboard, a ranking reordered by keys and by a drag, spans selected with the mouse and the
keyboard, a checklist and thumbs. Each test then reads the stored votes from the database."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.items.models import Candidate
from app.tasks.models import Rubric
from app.voting.models import Assignment, Vote
from app.voting.service import shown_order
from tests.browser.chromium import ARTIFACTS, CHROMIUM
from tests.browser.test_annotator_flow import Traffic, _login, _vote_url, _wait_for_next
from tests.conftest import BACKEND
from tests.factories import make_user
from tests.voting.test_task_page_kinds import ANNOTATOR, RUBRIC, SYSTEMS, kind_campaign

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"
    ),
]


class Annotator:
    """One signed-in browser page on a task page, with what it sent and any script error."""

    def __init__(self, browser: Any, base: str, slug: str, width: int = 1280) -> None:
        self.traffic = Traffic()
        self.errors: list[str] = []
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.context.on("response", self.traffic.on_response)
        self.context.on("request", self.traffic.on_request)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        _login(self.page, base, f"/campaigns/{slug}/task")
        self.page.wait_for_selector("#vote-form")

    def shot(self, name: str, full_page: bool = True) -> None:
        self.page.screenshot(path=str(ARTIFACTS / f"{BACKEND}-kinds-{name}.png"), full_page=full_page)

    def hint(self) -> str:
        return self.page.inner_text("[data-hint]")

    def focused(self, attribute: str) -> str | None:
        return self.page.evaluate(f"document.activeElement.getAttribute('{attribute}')")

    def close(self) -> None:
        assert self.errors == []
        assert self.traffic.leaks(SYSTEMS) == []
        self.context.close()


@pytest.fixture
def annotator_on(live_server: str, session: Session, browser: Any) -> Iterator[Any]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    make_user(session, ANNOTATOR)
    session.commit()
    opened: list[Annotator] = []

    def open_page(slug: str, width: int = 1280) -> Annotator:
        opened.append(Annotator(browser, live_server, slug, width))
        return opened[-1]

    yield open_page
    for annotator in opened:
        annotator.close()


def _votes(session: Session) -> list[tuple[Vote, list[str]]]:
    """The stored votes, oldest first, each with its candidates' public ids in the order shown."""
    session.rollback()  # see what the server committed
    votes = session.scalars(select(Vote).order_by(Vote.created_at, Vote.id)).all()
    result = []
    for vote in votes:
        assignment = session.get(Assignment, vote.assignment_id)
        assert assignment is not None
        ids = shown_order(assignment)
        public = dict(
            session.execute(select(Candidate.id, Candidate.public_id).where(Candidate.id.in_(ids))).all()
        )
        result.append((vote, [public[i] for i in ids]))
    session.commit()
    return result


def test_a_pair_is_rated_and_chosen_by_keyboard_and_the_vote_key_waits_for_the_ratings(
    session: Session, annotator_on: Any
) -> None:
    kind_campaign(session, "pairwise", rubric=RUBRIC)
    ann = annotator_on("pairwise")
    page = ann.page
    # The first row has the focus: the page is ready for keys.
    assert ann.focused("data-aspect") == "helpfulness" and ann.focused("data-side") == "a"
    ann.shot("pairwise-rubric")

    # A vote key from outside the rows keeps the choice but sends nothing until both outputs are rated.
    page.focus("[data-controls]")
    page.keyboard.press("2")
    assert "Rate Helpfulness of A (and 3 more) first." in ann.hint()
    assert page.get_attribute("[data-outcome=b]", "aria-pressed") == "true"
    assert ann.focused("data-aspect") == "helpfulness" and ann.traffic.vote_posts == 0

    page.keyboard.press("4")  # helpfulness of A (1..5), then on to safety of A
    assert ann.focused("data-aspect") == "safety"
    page.keyboard.press("ArrowUp")
    assert ann.focused("data-aspect") == "helpfulness"
    page.keyboard.press("ArrowRight")  # 4 -> 5
    page.keyboard.press("ArrowDown")
    page.keyboard.press("2")  # safety of A (0..2)
    assert ann.focused("data-side") == "b"
    page.keyboard.press("3")
    page.keyboard.press("9")  # outside 0..2: ignored
    assert ann.traffic.vote_posts == 0 and ann.focused("data-aspect") == "safety"
    page.keyboard.press("0")
    assert "All rated" in ann.hint()
    ann.shot("pairwise-rubric-rated")
    first = _vote_url(page)
    page.keyboard.press("1")  # A is better: now it goes
    _wait_for_next(page, first)
    page.wait_for_selector(".task-done")

    [(vote, shown)] = _votes(session)
    a, b = shown
    rubric = session.scalar(select(Rubric))
    assert rubric is not None and vote.rubric_id == rubric.id
    assert vote.outcome is not None and vote.outcome.value == "preference"
    assert vote.winner_candidate_id == session.scalar(select(Candidate.id).where(Candidate.public_id == a))
    assert vote.answer == {
        "ratings": {a: {"helpfulness": 5, "safety": 2}, b: {"helpfulness": 3, "safety": 0}}
    }
    assert ann.traffic.vote_posts == 1


def test_a_rating_campaign_takes_digits_tab_and_enter(session: Session, annotator_on: Any) -> None:
    kind_campaign(session, "rating", task_config={"rate": "pair"}, rubric=RUBRIC, n_items=2)
    ann = annotator_on("rating")
    page = ann.page
    page.keyboard.press("Control+Enter")  # nothing rated yet: a hint, no request
    assert "Rate Helpfulness of A (and 3 more) first." in ann.hint() and ann.traffic.vote_posts == 0
    page.keyboard.press("5")
    assert ann.focused("data-aspect") == "safety"
    page.keyboard.press("Shift+Tab")  # Tab moves between rows too
    assert ann.focused("data-aspect") == "helpfulness" and ann.focused("data-side") == "a"
    page.keyboard.press("Tab")
    page.keyboard.press("1")
    assert ann.focused("data-side") == "b"
    page.keyboard.press("1")
    page.keyboard.press("Enter")  # one row left: Enter says which
    assert "Rate Safety of B first." in ann.hint() and ann.focused("data-aspect") == "safety"
    page.keyboard.press("2")
    ann.shot("rating-pair")
    first = _vote_url(page)
    page.keyboard.press("Enter")
    _wait_for_next(page, first)

    # The second task by mouse.
    second = _vote_url(page)
    for side in ("a", "b"):
        for aspect, value in (("helpfulness", 3), ("safety", 1)):
            page.click(f"[data-rating][data-side={side}][data-aspect={aspect}] [data-value='{value}']")
    page.click("#vote-form button[type=submit]")
    _wait_for_next(page, second)
    page.wait_for_selector(".task-done")

    (one, (a1, b1)), (two, (a2, b2)) = _votes(session)
    assert one.outcome is None and one.winner_candidate_id is None and one.rubric_id is not None
    assert one.answer == {
        "ratings": {a1: {"helpfulness": 5, "safety": 1}, b1: {"helpfulness": 1, "safety": 2}}
    }
    assert two.answer == {
        "ratings": {a2: {"helpfulness": 3, "safety": 1}, b2: {"helpfulness": 3, "safety": 1}}
    }


def _drag(page: Any, source: str, target: str) -> None:
    """Presses the mouse on `source`, moves it in steps to just above the middle of `target`, lets go."""
    start = page.locator(source).bounding_box()
    end = page.locator(target).bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + 40, end["y"] + 4, steps=12)
    page.mouse.up()


def _order(page: Any) -> list[tuple[str, str]]:
    """The list as shown: (side, place) top to bottom; a tied place reads "=3"."""
    rows = page.evaluate(
        "() => [...document.querySelectorAll('[data-rank-item]')]"
        ".map(li => [li.dataset.side, li.querySelector('[data-rank-pos]').textContent])"
    )
    return [(side, place) for side, place in rows]


def test_a_ranking_is_reordered_by_keys_and_a_drag_with_a_tie(session: Session, annotator_on: Any) -> None:
    kind_campaign(session, "ranking")
    ann = annotator_on("ranking")
    page = ann.page
    assert _order(page) == [("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")]
    assert ann.focused("data-side") == "a"
    page.keyboard.press("j")
    page.keyboard.press("Alt+ArrowDown")
    assert _order(page) == [("b", "1"), ("c", "2"), ("a", "3"), ("d", "4")]
    assert ann.focused("data-side") == "a"
    page.keyboard.press("ArrowDown")  # focus on to D, which ties with A
    page.keyboard.press("t")
    assert _order(page) == [("b", "1"), ("c", "2"), ("a", "3"), ("d", "=3")]
    page.keyboard.press("K")
    page.keyboard.press("J")  # up and back: the tie goes with D
    assert _order(page)[-1] == ("d", "=3")

    _drag(page, "[data-rank-item][data-side=c] [data-rank-handle]", "[data-rank-item][data-side=b]")
    assert _order(page) == [("c", "1"), ("b", "2"), ("a", "3"), ("d", "=3")]
    ann.shot("ranking")
    first = _vote_url(page)
    page.keyboard.press("Control+Enter")
    _wait_for_next(page, first)
    page.wait_for_selector(".task-done")

    [(vote, (a, b, c, d))] = _votes(session)
    assert vote.outcome is None and vote.rubric_id is None
    assert vote.answer == {"ranking": [[c], [b], sorted([a, d])]}


def _char_point(page: Any, offset: int) -> tuple[float, float]:
    """A point inside the character at `offset` of output A's text, on screen, in whole pixels as a
    real mouse gives (headless Chromium starts no selection from some fractional positions)."""
    box = page.evaluate(
        "o => { const el = document.querySelector('[data-span-text][data-side=a]');"
        " const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT); let n, seen = 0;"
        " while ((n = walker.nextNode())) { if (seen + n.length > o) break; seen += n.length; }"
        " const r = document.createRange(); r.setStart(n, o - seen); r.setEnd(n, o - seen + 1);"
        " const b = r.getBoundingClientRect();"
        " return [Math.round(b.x + b.width / 3), Math.round(b.y + b.height / 2)]; }",
        offset,
    )
    return box[0], box[1]


def test_spans_are_selected_with_the_mouse_and_the_keyboard_and_labelled(
    session: Session, annotator_on: Any
) -> None:
    kind_campaign(session, "segment")
    ann = annotator_on("segment")
    page = ann.page
    content = page.evaluate("JSON.parse(document.querySelector('[data-span-text]').dataset.content)")
    assert content.startswith("The tide pool holds  anemones,\n\tcrabs")
    assert page.inner_text("[data-span-text]").startswith("The tide pool holds")

    # A mouse drag from inside "pool" to inside "holds" snaps to the two whole words.
    pool = content.index("pool")
    inside_pool, inside_holds = _char_point(page, pool + 1), _char_point(page, content.index("holds") + 2)
    page.mouse.move(*inside_pool)
    page.mouse.down()
    page.mouse.move(*inside_holds, steps=8)
    page.mouse.up()
    page.wait_for_selector("[data-span-popover]:not([hidden])")
    assert page.inner_text("[data-span-quote]") == "“pool holds”"
    ann.shot("spans-popover")
    page.keyboard.press("2")  # the second label of the taxonomy
    assert page.locator("[data-span-popover]:not([hidden])").count() == 0
    assert page.get_attribute("mark.span-mark[data-label]", "data-label") == "irrelevant"

    # By keyboard: from the end of that span, Shift+Right twice takes "anemones,\n\tcrabs"; a comment,
    # then a label.
    assert ann.focused("data-span-text") == ""
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    assert page.inner_text("[data-span-quote]") == "“anemones,\n\tcrabs”"
    page.keyboard.press("Enter")
    page.keyboard.type("two animals, 2 kinds")  # digits typed in the comment are text
    page.keyboard.press("Enter")
    page.keyboard.press("1")

    # A third span, then removed from the list.
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("3")
    assert page.locator(".span-item").count() == 3
    ann.shot("spans-marked")
    page.click(".span-item:nth-child(3) [data-span-remove]")
    assert page.locator(".span-item").count() == 2
    first = _vote_url(page)
    page.keyboard.press("Control+Enter")
    _wait_for_next(page, first)
    page.wait_for_selector(".task-done")

    [(vote, (a,))] = _votes(session)
    assert vote.outcome is None
    start = content.index("anemones")
    assert vote.answer == {
        "spans": [
            {
                "candidate": a,
                "start": pool,
                "end": pool + len("pool holds"),
                "text": "pool holds",
                "label": "irrelevant",
                "comment": "",
            },
            {
                "candidate": a,
                "start": start,
                "end": start + len("anemones,\n\tcrabs"),
                "text": "anemones,\n\tcrabs",
                "label": "incorrect",
                "comment": "two animals, 2 kinds",
            },
        ]
    }


def test_a_checklist_is_answered_with_y_and_n(session: Session, annotator_on: Any) -> None:
    kind_campaign(session, "checklist")
    ann = annotator_on("checklist")
    page = ann.page
    assert ann.focused("data-question") == "cites"
    page.keyboard.press("Enter")  # nothing answered: says which question
    assert "Answer yes or no: Does it cite a source?" in ann.hint()
    page.keyboard.press("y")
    assert ann.focused("data-question") == "polite"
    page.keyboard.press("ArrowUp")
    page.keyboard.press("n")  # changed its mind
    page.keyboard.press("y")
    assert "All answered" in ann.hint()
    ann.shot("checklist")
    first = _vote_url(page)
    page.keyboard.press("Enter")
    _wait_for_next(page, first)
    page.wait_for_selector(".task-done")

    [(vote, _)] = _votes(session)
    assert vote.outcome is None and vote.answer == {"checklist": {"cites": False, "polite": True}}


def test_thumbs_up_by_key_and_down_by_click(session: Session, annotator_on: Any) -> None:
    kind_campaign(session, "single", n_items=2)
    ann = annotator_on("single", width=390)
    page = ann.page
    ann.shot("single-narrow")
    first = _vote_url(page)
    page.keyboard.press("u")
    _wait_for_next(page, first)
    second = _vote_url(page)
    page.click("[data-thumb=down]")
    _wait_for_next(page, second)
    page.wait_for_selector(".task-done")

    (one, _), (two, _) = _votes(session)
    assert (one.outcome, one.answer) == (None, {"thumb": "up"})
    assert (two.outcome, two.answer) == (None, {"thumb": "down"})
    assert ann.traffic.vote_posts == 2
