"""Dataset releases: freeze a snapshot boundary, write every requested format and a card into
`<data dir>/releases/<campaign>/<version>/`, hash the files, and never touch them again.

Same request twice: a request is keyed by its formats, filters and snapshot (the campaign's highest
vote id and its vote count at that id). When a release with the same key exists, it is returned
instead of writing a copy under a new version: the files would be byte-identical, and a version
number should mean new data or a new request. Any new vote gives a new snapshot, so a new version.

Files are written to a temporary folder, then renamed into place once the row is flushed (the unique
(campaign, version) key is taken first, so two concurrent requests cannot write the same folder).
"""

import hashlib
import json
import logging
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import User, UserKind
from app.campaigns.models import Campaign, TaskKind
from app.config import get_settings
from app.db import utcnow
from app.errors import Conflict, DomainError, Invalid, NotFound, Unavailable
from app.exports import service as exports
from app.exports import task_rows, writers
from app.exports.outcomes import outcome_arrays
from app.exports.schemas import schema_for
from app.exports.weights import snapshot_weights
from app.releases import card
from app.releases.models import Release
from app.releases.schemas import ReleaseCreate, ReleaseFilters
from app.voting.models import Vote

log = logging.getLogger(__name__)
CARD_NAME = "README.md"


@dataclass(frozen=True)
class Snapshot:
    max_vote_id: int  # 0 when the campaign has no vote yet
    total_votes: int  # the campaign's votes with id <= max_vote_id
    kept_votes: int  # of those, the ones the annotator filter keeps


def releases_root() -> Path:
    return get_settings().data_dir / "releases"


def release_folder(*, campaign: Campaign, release: Release) -> Path:
    return releases_root() / campaign.slug / str(release.version)


def canonical_formats(session: Session, *, campaign: Campaign, formats: list[str]) -> list[str]:
    """Each format checked against the campaign (Invalid names the misfit), once, in the registry's
    order, so that the same set asked in another order is the same request."""
    for fmt in formats:
        exports.check_format(session, campaign=campaign, fmt=fmt)
    wanted = set(formats)
    return [fmt for fmt in exports.FORMATS if fmt in wanted]


def take_snapshot(session: Session, *, campaign: Campaign, annotator_kind: UserKind | None) -> Snapshot:
    max_id = session.scalar(select(func.max(Vote.id)).where(Vote.campaign_id == campaign.id)) or 0
    total = session.scalar(
        select(func.count()).select_from(Vote).where(Vote.campaign_id == campaign.id, Vote.id <= max_id)
    )
    kept = total
    if annotator_kind is not None:
        kept = session.scalar(
            select(func.count())
            .select_from(Vote)
            .join(User, User.id == Vote.annotator_id)
            .where(Vote.campaign_id == campaign.id, Vote.id <= max_id, User.kind == annotator_kind)
        )
    return Snapshot(max_vote_id=int(max_id), total_votes=int(total or 0), kept_votes=int(kept or 0))


def request_key(*, formats: list[str], filters: ReleaseFilters, snapshot: Snapshot) -> str:
    body = {
        "formats": formats,
        "filters": filters.model_dump(mode="json"),
        "max_vote_id": snapshot.max_vote_id,
        "total_votes": snapshot.total_votes,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def create_release(
    session: Session, *, campaign: Campaign, data: ReleaseCreate, user: User | None
) -> tuple[Release, bool]:
    """The release for this request on the campaign's current votes: (release, True) when written now,
    (the existing one, False) when the same request on the same snapshot was released before.
    Raises Invalid, before anything is stored or written, for a format that does not fit."""
    formats = canonical_formats(session, campaign=campaign, formats=data.formats)
    snapshot = take_snapshot(session, campaign=campaign, annotator_kind=data.filters.annotator_kind)
    key = request_key(formats=formats, filters=data.filters, snapshot=snapshot)
    existing = session.scalar(
        select(Release)
        .where(Release.campaign_id == campaign.id, Release.request_key == key)
        .order_by(Release.version)
        .limit(1)
    )
    if existing is not None:
        return existing, False
    last = session.scalar(select(func.max(Release.version)).where(Release.campaign_id == campaign.id))
    release = Release(
        campaign_id=campaign.id,
        version=(last or 0) + 1,
        formats=formats,
        filters=data.filters.model_dump(mode="json"),
        max_vote_id=snapshot.max_vote_id,
        vote_count=snapshot.kept_votes,
        request_key=key,
        created_by_id=user.id if user else None,
        # Whole seconds: the card prints it, and a re-render must print the same.
        created_at=utcnow().replace(microsecond=0),
    )
    session.add(release)
    session.flush()  # takes (campaign, version) before any file is written

    target = release_folder(campaign=campaign, release=release)
    staging = target.parent / f".staging-{release.version}-{secrets.token_hex(4)}"
    try:
        files, text = write_release_files(session, campaign=campaign, release=release, folder=staging)
        if target.exists():
            # Left by an attempt whose transaction rolled back: no stored release owns it.
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    release.files = [f.as_dict() for f in files]
    release.content_hash = content_hash(files)
    release.card = text
    session.flush()
    return release, True


def content_hash(files: list[writers.WrittenFile]) -> str:
    """sha256 of a sha256sum-style manifest of the data files (the card, which prints it, is left out)."""
    manifest = "".join(
        f"{f.sha256}  {f.name}\n" for f in sorted(files, key=lambda f: f.name) if f.name != CARD_NAME
    )
    return hashlib.sha256(manifest.encode()).hexdigest()


def _weights(
    session: Session, *, campaign: Campaign, release: Release, model: str, arrays: tuple[np.ndarray, ...]
) -> dict[int, float]:
    if model == "none" or campaign.task_kind not in (TaskKind.pairwise, TaskKind.arena):
        return {}
    try:
        return snapshot_weights(
            session,
            campaign=campaign,
            max_vote_id=release.max_vote_id,
            model=model,  # type: ignore[arg-type]
            arrays=arrays,  # type: ignore[arg-type]
        )
    except (DomainError, ValueError, ArithmeticError, IndexError) as exc:
        # The column is a help, not the data: without a fit it stays null.
        log.warning("annotator weights for %s unavailable: %s", campaign.slug, exc)
        return {}


def _collect_ratings(
    rows: Iterator[dict[str, Any]], sink: list[tuple[str, str, str, int]]
) -> Iterator[dict[str, Any]]:
    for row in rows:
        sink.append(
            (row["aspect"], f"{row['comparison_id']}:{row['candidate']}", row["annotator"], row["value"])
        )
        yield row


def write_release_files(
    session: Session, *, campaign: Campaign, release: Release, folder: Path
) -> tuple[list[writers.WrittenFile], str]:
    """Every format's `<format>.parquet` and `<format>.jsonl`, then README.md, into `folder`.

    Depends only on the release row and the votes up to its boundary (plus the campaign's settings),
    so rendering a release again before anything changes gives the same bytes."""
    filters = ReleaseFilters.model_validate(release.filters)
    folder.mkdir(parents=True, exist_ok=True)
    aspects = task_rows.rating_aspects(session, campaign=campaign)
    # The snapshot's A/B outcomes, read once for the card's agreement and the reliability fit, both
    # before any row is written: their arrays are freed before the rows' batches take memory, so the
    # two never add up in a release's peak.
    arrays = outcome_arrays(session, campaign=campaign, max_vote_id=release.max_vote_id)
    agreement = exports.agreement_of(arrays[0], arrays[2])
    weights = (
        _weights(session, campaign=campaign, release=release, model=filters.annotator_weights, arrays=arrays)
        if "votes" in release.formats
        else {}
    )
    del arrays
    files: list[writers.WrittenFile] = []
    schemas = {}
    rows_per_format: dict[str, int] = {}
    ratings: list[tuple[str, str, str, int]] = []
    for fmt in release.formats:
        schema = schema_for(fmt, aspects=aspects)
        schemas[fmt] = schema
        rows = exports.iter_rows(
            session,
            campaign=campaign,
            fmt=fmt,  # type: ignore[arg-type]
            annotator_kind=filters.annotator_kind,
            max_vote_id=release.max_vote_id,
            include_gold=filters.include_gold,
            weights=weights,
        )
        if fmt == "ratings":
            rows = _collect_ratings(rows, ratings)
        parquet, jsonl = folder / f"{fmt}.parquet", folder / f"{fmt}.jsonl"
        count = writers.write_rows(rows, schema=schema, jsonl_path=jsonl, parquet_path=parquet)
        rows_per_format[fmt] = count
        files += [writers.describe(parquet, count), writers.describe(jsonl, count)]
    text = card.render(
        card.gather_facts(
            session,
            campaign=campaign,
            release=release,
            filters=filters,
            files=files,
            content_hash=content_hash(files),
            schemas=schemas,
            rows_per_format=rows_per_format,
            rating_triples=ratings,
            weights_used=bool(weights),
            agreement=agreement,
        )
    )
    (folder / CARD_NAME).write_text(text, encoding="utf-8", newline="\n")
    files.append(writers.describe(folder / CARD_NAME, None))
    return files, text


def list_releases(session: Session, *, campaign: Campaign) -> list[Release]:
    return list(
        session.scalars(
            select(Release).where(Release.campaign_id == campaign.id).order_by(Release.version.desc())
        )
    )


def get_release(session: Session, *, public_id: str) -> Release:
    release = session.scalar(select(Release).where(Release.public_id == public_id))
    if release is None:
        raise NotFound(f"no release '{public_id}'")
    return release


def release_campaign(session: Session, *, release: Release) -> Campaign:
    return session.get_one(Campaign, release.campaign_id)


def file_path(session: Session, *, release: Release, name: str) -> Path:
    """The stored file `name` of the release; only names the release lists (so no path tricks)."""
    names = [f["name"] for f in release.files]
    if name not in names:
        raise NotFound(f"release v{release.version} has no file '{name}'; it has {', '.join(names)}")
    path = release_folder(campaign=release_campaign(session, release=release), release=release) / name
    if not path.is_file():
        raise NotFound(f"the file '{name}' of release v{release.version} is missing from the data directory")
    return path


MEDIA_TYPES = {
    ".parquet": "application/vnd.apache.parquet",
    ".jsonl": "application/x-ndjson",
    ".md": "text/markdown; charset=utf-8",
}


def media_type(name: str) -> str:
    return MEDIA_TYPES.get(Path(name).suffix, "application/octet-stream")


def push_to_hub(
    session: Session, *, release: Release, repo_id: str, private: bool, token: str, endpoint: str = ""
) -> Release:
    """Uploads the release folder to a Hugging Face dataset repository and records the commit."""
    if not token:
        raise Conflict(
            "pushing to the Hugging Face Hub needs a token: set PREFLAB_HF_TOKEN (a write token) and restart"
        )
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    campaign = release_campaign(session, release=release)
    folder = release_folder(campaign=campaign, release=release)
    if not folder.is_dir():
        raise NotFound(f"the files of release v{release.version} are missing from the data directory")
    api = HfApi(endpoint=endpoint or None, token=token)
    message = f"Preflab release v{release.version} of {campaign.slug} ({release.content_hash[:12]})"
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        commit = api.upload_folder(
            folder_path=str(folder),
            repo_id=repo_id,
            repo_type="dataset",
            commit_message=message,
        )
    except HfHubHTTPError as exc:
        raise Unavailable(f"the Hugging Face Hub refused the push: {exc}") from exc
    except OSError as exc:
        raise Unavailable(f"cannot reach the Hugging Face Hub: {exc}") from exc
    release.hub_repo = repo_id
    release.hub_revision = commit.oid
    release.hub_pushed_at = utcnow()
    session.flush()
    return release


def check_filters(raw: dict[str, Any]) -> ReleaseFilters:
    try:
        return ReleaseFilters.model_validate(raw)
    except ValueError as exc:
        raise Invalid(f"bad filters: {exc}", field="filters") from exc
