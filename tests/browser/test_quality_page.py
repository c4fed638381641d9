"""A researcher opens a seeded campaign's quality page in a real browser: the verdict, the charts and
the table of annotators, with a screenshot to look at."""

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from app.auth.models import Role
from tests.browser.chromium import ARTIFACTS, CHROMIUM
from tests.conftest import PASSWORD
from tests.factories import make_user
from tests.quality.test_service import seeded  # noqa: F401 (a fixture)

pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"
    ),
]


def test_quality_page_shows_whether_the_data_can_be_trusted(
    browser: Any,
    live_server: str,
    session: Session,
    seeded,  # noqa: F811
) -> None:
    campaign, users = seeded
    make_user(session, "res@example.org", Role.researcher)
    session.commit()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(f"{live_server}/login?next=/campaigns/{campaign.slug}/setup")
    page.fill("input[name=email]", "res@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/campaigns/{campaign.slug}/setup")
    page.click("a:has-text('Quality')")
    page.wait_for_url(f"{live_server}/campaigns/{campaign.slug}/quality")
    main = page.inner_text("main")
    assert "Can this data be trusted?" in main and "not trusted" in main
    assert users["clicker"].pseudonym in main
    # Every chart is drawn, and each is wide enough to read.
    charts = page.query_selector_all("svg[role=img]")
    assert len(charts) >= 4
    for chart in charts:
        box = chart.bounding_box()
        assert box is not None and box["width"] >= 600 and box["height"] >= 80
    flagged = page.query_selector_all("table.quality-annotators tr.flagged")
    assert len(flagged) == 1 and users["clicker"].pseudonym in flagged[0].inner_text()
    page.screenshot(path=str(ARTIFACTS / "quality-page.png"), full_page=True)
