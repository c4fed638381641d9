"""HTML page of a campaign's quality: the verdict, the charts and the table of annotators."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.campaigns import service as campaigns_service
from app.deps import Researcher, SessionDep
from app.quality import plots, service
from app.web import render

router = APIRouter(include_in_schema=False)


def charts(report: dict[str, Any]) -> dict[str, Any]:
    """Every chart of the page, drawn from the report's numbers."""
    rows = report["by_annotator"]
    flagged = {r["annotator"]: {f["code"] for f in r["flags"]} for r in rows}

    def rate_rows(key: str, code: str) -> list[plots.RateRow]:
        return [plots.RateRow("all annotators", report[key])] + [
            plots.RateRow(r["annotator"], r[key], highlight=code in flagged[r["annotator"]]) for r in rows
        ]

    gold = report["gold"]
    return {
        "alphas": plots.alpha_svg(report["alphas"]),
        "annotators": plots.annotator_scatter_svg(rows),
        "position": plots.rates_svg(
            rate_rows("position_bias", "position"),
            title="Position bias: how often the left side (A) wins",
            axis_label="Share of strict preferences won by the left side",
            chart_id="position",
        ),
        "length": plots.rates_svg(
            rate_rows("length_bias", "-"),
            title="Length bias: how often the longer output wins",
            axis_label="Share of strict preferences won by the longer output",
            chart_id="length",
        ),
        "gold": plots.rates_svg(
            rate_rows("gold", "gold"),
            title="Gold accuracy",
            axis_label="Share of gold items answered right",
            reference=gold["threshold"],
            reference_label=f"bar {gold['threshold']:.0%}",
            chart_id="gold",
        ),
        "times": plots.time_svg(report["time_on_task"]["histogram"]),
    }


@router.get("/campaigns/{slug}/quality")
def quality_page(request: Request, slug: str, session: SessionDep, user: Researcher) -> Response:
    campaign = campaigns_service.get_campaign(session, slug=slug)
    report = service.campaign_quality(session, campaign=campaign)
    context = {"user": user, "campaign": campaign, "report": report, "charts": charts(report)}
    return render(request, "quality/page.html", context)
