"""Writes a campaign's export to a folder: data.parquet, data.jsonl and the README.md dataset card."""

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from app.auth.models import UserKind
from app.campaigns.models import Campaign
from app.campaigns.service import campaign_progress
from app.db import utcnow
from app.exports import service, task_rows, writers
from app.exports.schemas import schema_for
from app.tasks.service import rubric_versions


@dataclass(frozen=True)
class ExportResult:
    rows: int
    out: Path


def export_campaign(
    session: Session,
    *,
    campaign: Campaign,
    fmt: service.ExportFormat,
    out: Path,
    annotator_kind: UserKind | None = None,
) -> ExportResult:
    """Raises Invalid (before writing anything) when the format does not fit the campaign."""
    service.check_format(session, campaign=campaign, fmt=fmt)
    schema = schema_for(fmt, aspects=task_rows.rating_aspects(session, campaign=campaign))
    rows = writers.write_files(
        service.iter_rows(session, campaign=campaign, fmt=fmt, annotator_kind=annotator_kind),
        fmt=fmt,
        out=out,
        schema=schema,
    )
    progress = campaign_progress(session, campaign=campaign)
    card = writers.dataset_card(
        fmt=fmt,
        campaign_slug=campaign.slug,
        campaign_name=campaign.name,
        guidelines=campaign.guidelines,
        license_id=campaign.license,
        overlap=campaign.overlap,
        rows=rows,
        votes=progress.votes,
        comparisons=progress.comparisons,
        agreement=service.agreement_summary(session, campaign=campaign),
        exported_at=utcnow().strftime("%Y-%m-%d %H:%M:%S UTC"),
        task_kind=campaign.task_kind.value,
        schema=schema,
        rubrics=[(r.version, r.aspects) for r in rubric_versions(session, campaign_id=campaign.id)],
    )
    (out / "README.md").write_text(card, encoding="utf-8")
    return ExportResult(rows=rows, out=out)
