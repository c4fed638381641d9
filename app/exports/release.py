"""Writes a campaign's export to a folder: data.parquet, data.jsonl and the README.md dataset card."""

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from app.campaigns.models import Campaign
from app.campaigns.service import campaign_progress
from app.db import utcnow
from app.exports import service, writers


@dataclass(frozen=True)
class ExportResult:
    rows: int
    out: Path


def export_campaign(
    session: Session, *, campaign: Campaign, fmt: service.ExportFormat, out: Path
) -> ExportResult:
    rows = writers.write_files(service.iter_rows(session, campaign=campaign, fmt=fmt), fmt=fmt, out=out)
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
    )
    (out / "README.md").write_text(card, encoding="utf-8")
    return ExportResult(rows=rows, out=out)
