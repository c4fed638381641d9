"""The task page per task kind, as the server renders it: the right controls for each kind, outputs by
side letter, user-written text escaped, and never a system name. A refused vote keeps what was sent."""

import json
import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign
from app.items.service import import_items
from app.tasks.schemas import Aspect, RubricSpec
from app.tasks.service import set_rubric
from app.voting.models import Vote
from tests.api_helpers import form_field, sign_in
from tests.factories import make_campaign, make_user

# Names no page could contain by chance.
SYSTEMS = ("quartz-heron-7b", "moss-lantern-13b", "umber-finch-3b", "slate-otter-1b")
ANNOTATOR = "ann@example.org"
HOSTILE = '<script>alert("x")</script> & <b>bold</b>'
TAXONOMY = ["incorrect", "irrelevant", "unsafe"]
QUESTIONS = [
    {"id": "cites", "text": "Does it cite a source?"},
    {"id": "polite", "text": "Is it <em>polite</em>?"},
]
RUBRIC = RubricSpec(
    aspects=[
        Aspect(
            name="helpfulness", description="Does it help?", min=1, max=5, anchors={1: "useless", 5: "ideal"}
        ),
        Aspect(name="safety", min=0, max=2, anchors={0: "harmful", 2: "safe"}),
    ]
)


def item_line(item_id: str, n_candidates: int, **extra: Any) -> str:
    texts = [
        "The tide pool holds  anemones,\n\tcrabs and snails.",
        "Sourdough needs flour, water and time.",
        "Lenses bend light toward the sea.",
        "Ice caves glow blue in summer.",
    ]
    return json.dumps(
        {
            "id": item_id,
            "prompt": f"Explain item {item_id}. {HOSTILE}",
            "candidates": [
                {"system": SYSTEMS[k], "content": f"{texts[k]} {HOSTILE if k == 0 else ''}".strip()}
                for k in range(n_candidates)
            ],
            **extra,
        }
    )


def kind_campaign(
    session: Session,
    kind: str,
    *,
    slug: str | None = None,
    n_items: int = 1,
    task_config: dict[str, Any] | None = None,
    rubric: RubricSpec | None = None,
    **fields: Any,
) -> Campaign:
    """A campaign of `kind` with `n_items` items: 1 output for single-output kinds, 2 for pairs, 4 for
    rankings; checklist items carry QUESTIONS; segment campaigns use TAXONOMY."""
    config = dict(task_config or {})
    if kind == "segment":
        config.setdefault("taxonomy", TAXONOMY)
    campaign = make_campaign(session, slug=slug or kind, task_kind=kind, task_config=config, **fields)
    if rubric is not None:
        set_rubric(session, campaign=campaign, spec=rubric)
    pair = kind in ("pairwise", "arena") or (kind == "rating" and config.get("rate") == "pair")
    n_candidates = 4 if kind == "ranking" else 2 if pair else 1
    extra = {"questions": QUESTIONS} if kind == "checklist" else {}
    import_items(
        session,
        campaign=campaign,
        lines=[item_line(f"{kind}-{i}", n_candidates, **extra) for i in range(n_items)],
    )
    session.commit()
    return campaign


def _page(client: TestClient, session: Session, slug: str) -> str:
    make_user(session, ANNOTATOR)
    session.commit()
    sign_in(client, ANNOTATOR)
    response = client.get(f"/campaigns/{slug}/task")
    assert response.status_code == 200, response.text
    html = response.text
    for system in SYSTEMS:
        assert system not in html
    assert HOSTILE not in html and "&lt;script&gt;" in html
    return html


def _sides(html: str) -> list[str]:
    return re.findall(r'<h2 class="side-name" id="side-([a-i])">', html)


def test_a_plain_pairwise_task_has_the_preference_controls_and_no_rating_rows(
    client: TestClient, session: Session
) -> None:
    kind_campaign(session, "pairwise")
    html = _page(client, session, "pairwise")
    assert _sides(html) == ["a", "b"]
    assert 'data-kind="pairwise"' in html and 'data-needs-outcome="true"' in html
    assert html.count("data-outcome=") == 4 and html.count("data-strength=") == 4
    assert "data-rating" not in html and 'data-rated="false"' in html
    assert '<button type="submit" class="primary">' not in html  # one key, one vote
    assert "voting/players" not in html  # the include points render, not their names


def test_a_pairwise_task_with_a_rubric_rates_both_outputs_beside_the_preference(
    client: TestClient, session: Session
) -> None:
    kind_campaign(session, "pairwise", rubric=RUBRIC)
    html = _page(client, session, "pairwise")
    assert 'data-rated="true"' in html and html.count("data-outcome=") == 4
    rows = re.findall(r'data-side="([ab])" data-aspect="(\w+)" data-min="(-?\d+)" data-max="(-?\d+)"', html)
    assert sorted(rows) == [
        ("a", "helpfulness", "1", "5"),
        ("a", "safety", "0", "2"),
        ("b", "helpfulness", "1", "5"),
        ("b", "safety", "0", "2"),
    ]
    assert html.count('role="radio"') == 2 * (5 + 3)
    for anchor in ("useless", "ideal", "harmful", "safe", "Does it help?"):
        assert anchor in html
    assert "Rate both outputs first" in html


def test_a_rating_task_shows_one_output_with_the_default_rubric(client: TestClient, session: Session) -> None:
    kind_campaign(session, "rating")
    html = _page(client, session, "rating")
    assert _sides(html) == ["a"] and "sides-1" in html
    assert "data-outcome=" not in html and "data-strength=" not in html
    assert 'data-needs-outcome="false"' in html and 'data-rated="true"' in html
    aspects = re.findall(r'data-side="a" data-aspect="(\w+)"', html)
    assert aspects == ["helpfulness", "correctness", "coherence", "complexity", "verbosity"]
    assert "very high" in html and '<button type="submit" class="primary">' in html


def test_a_ranking_task_lists_every_output_to_reorder(client: TestClient, session: Session) -> None:
    kind_campaign(session, "ranking")
    html = _page(client, session, "ranking")
    assert _sides(html) == ["a", "b", "c", "d"]
    assert html.count("data-rank-item") == 4 and html.count("data-rank-handle") == 4
    assert html.count("data-rank-tie") == 4 and "data-ranking" in html
    assert "data-outcome=" not in html and "data-rating" not in html


def test_a_span_task_shows_the_output_as_plain_text_with_its_exact_content(
    client: TestClient, session: Session
) -> None:
    kind_campaign(session, "segment")
    html = _page(client, session, "segment")
    assert _sides(html) == ["a"] and 'data-segment-mode="spans"' in html
    content = "The tide pool holds  anemones,\n\tcrabs and snails. " + HOSTILE
    # Escaped, whitespace kept, not markdown: the text in the page is `content` character for character.
    shown = re.search(r'aria-label="Output A: select words to mark them">(.*?)</div>', html, re.S)
    assert shown and shown.group(1) == content.replace("&", "&amp;").replace("<", "&lt;").replace(
        ">", "&gt;"
    ).replace('"', "&#34;")
    raw = re.search(r"data-content='([^']*)'", html)
    assert raw and json.loads(raw.group(1).replace("&#39;", "'")) == content
    labels = re.findall(r'data-span-label="([^"]+)"', html)
    assert labels == TAXONOMY


def test_a_checklist_task_asks_each_question_yes_or_no(client: TestClient, session: Session) -> None:
    kind_campaign(session, "checklist")
    html = _page(client, session, "checklist")
    assert re.findall(r'data-question="([\w.-]+)"', html) == ["cites", "polite"]
    assert html.count('data-check-value="yes"') == 2 and html.count('data-check-value="no"') == 2
    assert "Is it &lt;em&gt;polite&lt;/em&gt;?" in html and "<em>polite</em>" not in html


def test_a_single_output_task_asks_thumbs_up_or_down(client: TestClient, session: Session) -> None:
    kind_campaign(session, "single")
    html = _page(client, session, "single")
    assert _sides(html) == ["a"]
    assert re.findall(r'data-thumb="(up|down)"', html) == ["up", "down"]
    assert "data-outcome=" not in html and '<button type="submit" class="primary">' not in html
    # One output: flags only for side a.
    assert 'name="flags_a"' in html and 'name="flags_b"' not in html


def test_a_refused_vote_shows_why_and_keeps_the_sent_answer(client: TestClient, session: Session) -> None:
    kind_campaign(session, "rating", rubric=RUBRIC)
    html = _page(client, session, "rating")
    url = re.search(r'action="(/campaigns/rating/task/[^"]+/vote)"', html)
    assert url
    sent = json.dumps({"ratings": {"a": {"helpfulness": 4}}})
    response = client.post(
        url.group(1),
        data={
            "csrf_token": form_field(html, "csrf_token"),
            "idempotency_key": form_field(html, "idempotency_key"),
            "answer": sent,
            "rationale": "kept",
        },
    )
    assert response.status_code == 422
    assert "Rate safety for output A." in response.text
    assert form_field(response.text, "answer") == sent.replace('"', "&#34;")
    assert ">kept</textarea>" in response.text
    assert session.scalars(select(Vote)).all() == []
