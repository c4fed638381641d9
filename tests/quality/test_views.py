"""The quality API and page: role checks, the report's shape, flags of a clicker, SVG charts."""

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.quality.schemas import QualityReport
from tests.api_helpers import bearer, sign_in
from tests.factories import make_campaign, make_user
from tests.quality.test_service import N_ITEMS, seeded  # noqa: F401 (a fixture)


def test_api_numbers_and_the_clicker_flagged(client: TestClient, session: Session, seeded) -> None:  # noqa: F811
    campaign, users = seeded
    headers = bearer(session, "res@example.org", Role.researcher)
    response = client.get(f"/api/v1/campaigns/{campaign.slug}/quality", headers=headers)
    assert response.status_code == 200, response.text
    report = QualityReport.model_validate(response.json())
    assert (
        report.votes == 4 * N_ITEMS and report.kind == "pairwise" and report.primary_measure == "preference"
    )
    rows = {row.annotator: row for row in report.by_annotator}
    clicker = rows.pop(users["clicker"].pseudonym)
    codes = {flag.code for flag in clicker.flags}
    # Side order is random, so how far the clicker's labels fall from the truth (its weight) varies;
    # the side preference and the rushing do not.
    assert {"position", "too_fast"} <= codes
    assert clicker.position_bias.rate == 1.0 and clicker.position_bias.low > 0.8
    assert all(not row.flags for row in rows.values())
    assert all(row.dawid_skene_weight > clicker.dawid_skene_weight for row in rows.values())
    preference = next(a for a in report.alphas if a.measure == "preference")
    assert preference.alpha == report.agreement["alpha_nominal"] and preference.level == "nominal"
    lines = {line.check: line for line in report.verdict.lines}
    assert lines["flagged_annotators"].value == 0.25 and lines["flagged_annotators"].status == "bad"
    assert report.verdict.overall == "not trusted"
    assert users["clicker"].pseudonym in lines["flagged_annotators"].message
    # Nothing in the report names a person.
    assert "@example.org" not in response.text


def test_api_roles_and_unknown_campaign(client: TestClient, session: Session, seeded) -> None:  # noqa: F811
    campaign, _ = seeded
    annotator = bearer(session, "ann2@example.org")
    researcher = bearer(session, "res@example.org", Role.researcher)
    assert client.get(f"/api/v1/campaigns/{campaign.slug}/quality", headers=annotator).status_code == 403
    assert client.get(f"/api/v1/campaigns/{campaign.slug}/quality").status_code == 401
    missing = client.get("/api/v1/campaigns/nope/quality", headers=researcher)
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]


def test_page_renders_verdict_table_and_svg(client: TestClient, session: Session, seeded) -> None:  # noqa: F811
    campaign, users = seeded
    make_user(session, "res@example.org", Role.researcher)
    session.commit()
    sign_in(client, "res@example.org")
    page = client.get(f"/campaigns/{campaign.slug}/quality")
    assert page.status_code == 200
    html = page.text
    assert "Can this data be trusted?" in html and "not trusted" in html
    assert html.count("<svg") >= 4  # alpha, annotators, position, length, times
    for chart in (
        "Agreement per measure",
        "Annotators: agreement and reliability",
        "Position bias",
        "Time on task",
    ):
        assert chart in html
    assert users["clicker"].pseudonym in html and "too fast" in html
    assert "Krippendorff&#39;s alpha" in html or "Krippendorff's alpha" in html
    setup = client.get(f"/campaigns/{campaign.slug}/setup")
    assert f'href="/campaigns/{campaign.slug}/quality"' in setup.text


def test_page_for_annotators_is_forbidden_and_for_a_campaign_without_votes_explains(
    client: TestClient,
    session: Session,
    seeded,  # noqa: F811
) -> None:
    campaign, users = seeded
    sign_in(client, users["h1"].email)
    assert client.get(f"/campaigns/{campaign.slug}/quality").status_code == 403
    client.cookies.clear()
    make_user(session, "res@example.org", Role.researcher)
    make_campaign(session, slug="empty", task_kind="ranking")
    session.commit()
    sign_in(client, "res@example.org")
    page = client.get("/campaigns/empty/quality")
    assert page.status_code == 200 and "unknown" in page.text and "No answers yet" in page.text
    assert client.get("/campaigns/nope/quality").status_code == 404
