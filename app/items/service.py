"""Importing items with their candidates, and the comparisons built from them. No HTTP; callers commit."""

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign, TaskKind
from app.config import Settings, get_settings
from app.errors import DomainError, ImportRejected
from app.items import adapters
from app.items.models import Candidate, Comparison, Item, new_public_id
from app.items.schemas import ChosenRejectedLine, ImportFormat, ImportReport, ItemLine
from app.media import service as media_service
from app.media.models import MediaFile
from app.qc.schemas import check_gold_answer
from app.tasks import service as tasks_service
from app.tasks.config import task_config
from app.tasks.schemas import Aspect
from app.tasks.units import comparison_row, unit_size, units

CHUNK = 1000
ASSISTANT_MARKER = "\n\nAssistant:"


# Media of one item's candidates, by candidate index: the media_file ids in the order shown.
ItemMedia = dict[int, list[int]]


def import_items(
    session: Session,
    *,
    campaign: Campaign,
    lines: Iterable[str],
    fmt: ImportFormat = "preflab",
    media_base: Path | None = None,
    settings: Settings | None = None,
) -> ImportReport:
    """Validates every line first and stores nothing unless all are valid (raises ImportRejected).

    Candidates may name media: `media` paths are read relative to `media_base` (the import file's
    folder; None refuses them, as the API does), `media_id` names files uploaded before. Every file is
    checked (present, an accepted type, under the size limit) before any is stored.
    """
    settings = settings or get_settings()
    parsed = list(_parse(lines, fmt, campaign=campaign, media_base=media_base, settings=settings))
    for number, item in parsed:
        _check_fits_kind(campaign, item, number=number)
    if not parsed:
        raise ImportRejected("the file holds no items")
    known_answers = _known_answers(session, campaign=campaign, parsed=parsed)
    uploaded = _uploaded_media(session, parsed=parsed)
    existing = set(session.scalars(select(Item.external_id).where(Item.campaign_id == campaign.id)))
    new = [(number, item) for number, item in parsed if item.id not in existing]
    skipped = [item.id for _, item in parsed if item.id in existing]
    media = _store_media(
        session, new=new, uploaded=uploaded, media_base=media_base or Path(), settings=settings
    )
    if unit_size(campaign) == "pair" and task_config(campaign).segment_mode == "windows":
        _check_aligned(session, campaign=campaign, new=new, media=media)

    comparisons_created = 0
    for start in range(0, len(new), CHUNK):
        chunk = [item for _, item in new[start : start + CHUNK]]
        comparisons_created += _store_chunk(
            session, campaign=campaign, items=chunk, media=media, known_answers=known_answers
        )
    session.flush()
    return ImportReport(
        lines=len(parsed),
        items_created=len(new),
        comparisons_created=comparisons_created,
        items_skipped=len(skipped),
        skipped_ids=skipped[:20],
    )


def _parse(
    lines: Iterable[str],
    fmt: ImportFormat,
    *,
    campaign: Campaign,
    media_base: Path | None,
    settings: Settings,
) -> Iterable[tuple[int, ItemLine]]:
    items = (
        adapters.read(fmt, lines, campaign=campaign, media_base=media_base)
        if fmt in adapters.FORMATS
        else _json_lines(lines, fmt)
    )
    seen: dict[str, int] = {}
    for number, item in items:
        if item.id in seen:
            raise ImportRejected(f"id '{item.id}' was already used on line {seen[item.id]}", line=number)
        seen[item.id] = number
        _check_media_files(item, number=number, media_base=media_base, settings=settings)
        yield number, item


def _json_lines(lines: Iterable[str], fmt: ImportFormat) -> Iterable[tuple[int, ItemLine]]:
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ImportRejected(f"not valid JSON ({exc.msg} at column {exc.colno})", line=number) from None
        if not isinstance(data, dict):
            raise ImportRejected("each line must be a JSON object", line=number)
        try:
            item = ItemLine.model_validate(data) if fmt == "preflab" else _from_chosen_rejected(data)
        except ValidationError as exc:
            raise ImportRejected(_describe(exc), line=number) from None
        except ValueError as exc:
            raise ImportRejected(str(exc), line=number) from None
        yield number, item


def _check_fits_kind(campaign: Campaign, item: ItemLine, *, number: int) -> None:
    """Refuses a line the campaign's task kind cannot make tasks of."""
    try:
        units(campaign, n_candidates=len(item.candidates), pairs=_pairs_or_none(item))
    except ValueError as exc:
        raise ImportRejected(str(exc), line=number) from None
    if campaign.task_kind == TaskKind.checklist and not item.questions:
        raise ImportRejected("a checklist item needs its questions ('questions': [{id, text}])", line=number)
    if item.questions and campaign.task_kind != TaskKind.checklist:
        raise ImportRejected(
            f"questions are for checklist campaigns; this one is {campaign.task_kind.value}", line=number
        )
    if item.pairs is not None and unit_size(campaign) != "pair":
        raise ImportRejected(
            f"pairs are for pairwise tasks; this campaign is {campaign.task_kind.value}", line=number
        )


def _known_answers(
    session: Session, *, campaign: Campaign, parsed: list[tuple[int, ItemLine]]
) -> dict[str, dict[str, Any]]:
    """The checked gold answers of gold and qualification lines, by item id (ImportRejected if wrong)."""
    if all(item.role == "data" for _, item in parsed):
        return {}
    rubric = tasks_service.current_rubric(session, campaign_id=campaign.id)
    parsed_aspects = [Aspect.model_validate(a) for a in (rubric.aspects if rubric else [])]
    aspects = {a.name: (a.min, a.max) for a in parsed_aspects}
    checked: dict[str, dict[str, Any]] = {}
    for number, item in parsed:
        if item.role == "data":
            continue
        try:
            checked[item.id] = check_gold_answer(
                campaign.task_kind,
                item.gold_answer or {},
                systems=[c.system for c in item.candidates],
                pairs=_pairs_or_none(item) if unit_size(campaign) == "pair" else [],
                question_ids=[q.id for q in item.questions],
                aspects=aspects,
            )
        except ValueError as exc:
            raise ImportRejected(str(exc), line=number) from None
    return checked


def _pairs_or_none(item: ItemLine) -> list[tuple[int, int]]:
    return item.resolved_pairs() if len(item.candidates) >= 2 else []


# Two renderings of one clip differ by a frame or two of container padding; more is another clip.
ALIGNED_SLACK_S = 0.1


def _check_aligned(
    session: Session, *, campaign: Campaign, new: list[tuple[int, ItemLine]], media: dict[str, ItemMedia]
) -> None:
    """Per-window preferences compare clips window by window: each pair must be of equal length."""
    if campaign.task_kind != TaskKind.segment:
        return
    ids = {media_id for by_index in media.values() for ids in by_index.values() for media_id in ids}
    durations = dict(session.execute(select(MediaFile.id, MediaFile.meta).where(MediaFile.id.in_(ids))).all())
    for number, item in new:
        lengths = []
        for index in range(len(item.candidates)):
            files = media.get(item.id, {}).get(index, [])
            known = [durations[f].get("duration_s") for f in files]
            if not files or None in known:
                raise ImportRejected(
                    f"candidates.{index}: per-window preferences need an audio or video clip whose length "
                    "the file's header states (WAV, MP3, OGG, FLAC, MP4)",
                    line=number,
                )
            lengths.append(sum(known))
        if max(lengths) - min(lengths) > ALIGNED_SLACK_S:
            listed = ", ".join(f"{length:.2f} s" for length in lengths)
            raise ImportRejected(
                f"per-window preferences compare clips of equal length; these are {listed}", line=number
            )


def _check_media_files(item: ItemLine, *, number: int, media_base: Path | None, settings: Settings) -> None:
    """Refuses a line whose media files are unsafe to name, missing, too large or of a wrong type."""
    for index, candidate in enumerate(item.candidates):
        for ref in candidate.media or []:
            where = f"candidates.{index}.media '{ref}'"
            if media_base is None:
                raise ImportRejected(
                    f"{where}: files are read only by `preflab import`; upload them to POST "
                    "/api/v1/media and name them with media_id",
                    line=number,
                )
            try:
                media_service.inspect_path(media_path(media_base, ref), settings=settings)
            except ValueError as exc:
                raise ImportRejected(f"{where}: {exc}", line=number) from None
            except DomainError as exc:
                raise ImportRejected(f"{where}: {exc.message}", line=number) from None
            except OSError as exc:
                raise ImportRejected(f"{where}: cannot be read ({exc.strerror})", line=number) from None


def media_path(base: Path, ref: str) -> Path:
    """A media path from an import line, within `base`. Raises ValueError for an absolute path or one
    that climbs out with '..': an import file must not reach files its author did not put beside it."""
    # Backslashes count as separators too, so that a file written on Windows cannot climb out with them.
    path = PurePosixPath(ref.replace("\\", "/"))
    if path.is_absolute() or PureWindowsPath(ref).drive:
        raise ValueError("absolute paths are refused; give the path relative to the import file")
    parts = path.parts
    if ".." in parts:
        raise ValueError("'..' is refused; keep media files in the import file's folder or below it")
    if not parts:
        raise ValueError("the path is empty")
    return base.joinpath(*parts)


def _uploaded_media(session: Session, *, parsed: list[tuple[int, ItemLine]]) -> dict[str, MediaFile]:
    """The uploaded files that lines name by media_id; an unknown id rejects its line."""
    wanted = {ref for _, item in parsed for c in item.candidates for ref in c.media_id or []}
    found = media_service.media_by_public_id(session, public_ids=wanted)
    for number, item in parsed:
        for index, candidate in enumerate(item.candidates):
            for ref in candidate.media_id or []:
                if ref not in found:
                    raise ImportRejected(
                        f"candidates.{index}.media_id: no uploaded media '{ref}' (POST /api/v1/media gives "
                        "the id)",
                        line=number,
                    )
    return found


def _store_media(
    session: Session,
    *,
    new: list[tuple[int, ItemLine]],
    uploaded: dict[str, MediaFile],
    media_base: Path,
    settings: Settings,
) -> dict[str, ItemMedia]:
    """Stores the files the new items name (each once) and returns their ids by item and candidate."""
    stored: dict[Path, int] = {}
    by_item: dict[str, ItemMedia] = {}
    for number, item in new:
        for index, candidate in enumerate(item.candidates):
            ids: list[int] = [uploaded[ref].id for ref in candidate.media_id or []]
            for ref in candidate.media or []:
                path = media_path(media_base, ref)
                if path not in stored:
                    try:
                        stored[path] = media_service.store_path(session, path=path, settings=settings).id
                    except (DomainError, OSError) as exc:  # changed since it was checked
                        reason = exc.message if isinstance(exc, DomainError) else exc.strerror
                        raise ImportRejected(
                            f"candidates.{index}.media '{ref}': {reason}", line=number
                        ) from None
                ids.append(stored[path])
            if ids:
                by_item.setdefault(item.id, {})[index] = ids
    return by_item


def _from_chosen_rejected(data: dict[str, Any]) -> ItemLine:
    line = ChosenRejectedLine.model_validate(data)
    prompt, chosen, rejected = line.prompt, line.chosen, line.rejected
    if prompt is None:
        prompt, chosen, rejected = split_shared_dialogue(chosen, rejected)
    if chosen == rejected:
        raise ValueError("chosen and rejected are the same text")
    item_id = (
        line.id or "cr-" + hashlib.sha256(json.dumps([prompt, chosen, rejected]).encode()).hexdigest()[:16]
    )
    return ItemLine(
        id=item_id,
        prompt=prompt,
        candidates=[
            {"system": "chosen", "content": chosen, "metadata": {"source_label": "chosen"}},
            {"system": "rejected", "content": rejected, "metadata": {"source_label": "rejected"}},
        ],
    )


def split_shared_dialogue(chosen: str, rejected: str) -> tuple[str, str, str]:
    """Splits HH-RLHF style transcripts into the shared dialogue and the two final assistant turns."""
    shared = 0
    for a, b in zip(chosen, rejected, strict=False):
        if a != b:
            break
        shared += 1
    cut = chosen.rfind(ASSISTANT_MARKER, 0, shared + 1)
    if cut < 0:
        return "", chosen, rejected
    cut += len(ASSISTANT_MARKER)
    return chosen[:cut].strip(), chosen[cut:].strip(), rejected[cut:].strip()


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error["loc"]) or "line"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def _store_chunk(
    session: Session,
    *,
    campaign: Campaign,
    items: list[ItemLine],
    media: dict[str, ItemMedia],
    known_answers: dict[str, dict[str, Any]],
) -> int:
    item_ids = session.scalars(
        insert(Item).returning(Item.id, sort_by_parameter_order=True),
        [
            {
                "campaign_id": campaign.id,
                "external_id": it.id,
                "prompt": it.prompt,
                "context": it.context,
                "tags": it.tags,
                "questions": [q.model_dump() for q in it.questions],
                "role": it.role,
                "gold_answer": known_answers.get(it.id, {}),
            }
            for it in items
        ],
    ).all()
    candidate_rows = [
        {
            "item_id": item_id,
            "system": c.system,
            "content": c.content,
            "meta": c.metadata,
            "public_id": new_public_id(),
        }
        for item_id, it in zip(item_ids, items, strict=True)
        for c in it.candidates
    ]
    candidate_ids = session.scalars(
        insert(Candidate).returning(Candidate.id, sort_by_parameter_order=True), candidate_rows
    ).all()
    comparison_rows = []
    attached: list[tuple[int, list[int]]] = []
    offset = 0
    for item_id, it in zip(item_ids, items, strict=True):
        ids = candidate_ids[offset : offset + len(it.candidates)]
        offset += len(it.candidates)
        attached += [(ids[index], media_ids) for index, media_ids in media.get(it.id, {}).items()]
        rows = [
            comparison_row(
                campaign=campaign,
                item_id=item_id,
                candidate_ids=[ids[index] for index in unit],
                systems=[it.candidates[index].system for index in unit],
                priority=it.priority,
            )
            for unit in units(campaign, n_candidates=len(ids), pairs=_pairs_or_none(it))
        ]
        if it.role != "data":
            # Known-answer units are handed out by app.qc to every annotator, never through open slots.
            rows = [row | {"open_slots": 0} for row in rows]
        comparison_rows += rows
    if comparison_rows:
        session.execute(insert(Comparison), comparison_rows)
    media_service.attach(session, rows=attached)
    return len(comparison_rows)


@dataclass(frozen=True)
class NewCandidate:
    """An output to add to an item: text, media (already in the store, in the order shown), or both."""

    system: str
    content: str
    meta: dict[str, Any]
    media: tuple[MediaFile, ...] = ()


def add_candidates(
    session: Session, *, campaign: Campaign, item: Item, candidates: Sequence[NewCandidate]
) -> tuple[int, int]:
    """Adds candidates to an item, pairs each new one with every other candidate of the item, and
    returns (candidates added, comparisons added).

    A candidate the item already has (same content and the same media, by sha256, from any system)
    is dropped: two identical outputs teach nothing when compared.
    """
    existing = session.execute(
        select(Candidate.id, Candidate.content).where(Candidate.item_id == item.id).order_by(Candidate.id)
    ).all()
    existing_media = media_service.media_of_candidates(session, candidate_ids=[cid for cid, _ in existing])
    seen = {
        (content, tuple(m.sha256 for m in existing_media.get(candidate_id, [])))
        for candidate_id, content in existing
    }
    fresh = []
    fresh_media: list[list[int]] = []
    for candidate in candidates:
        key = (candidate.content, tuple(m.sha256 for m in candidate.media))
        if key in seen:
            continue
        seen.add(key)
        fresh.append(
            {
                "item_id": item.id,
                "system": candidate.system,
                "content": candidate.content,
                "meta": candidate.meta,
                "public_id": new_public_id(),
            }
        )
        fresh_media.append([m.id for m in candidate.media])
    if not fresh:
        return 0, 0
    new_ids = session.scalars(
        insert(Candidate).returning(Candidate.id, sort_by_parameter_order=True), fresh
    ).all()
    media_service.attach(session, rows=zip(new_ids, fresh_media, strict=True))
    old_ids = [candidate_id for candidate_id, _ in existing]
    system_of = dict(
        session.execute(select(Candidate.id, Candidate.system).where(Candidate.item_id == item.id)).all()
    )
    size = unit_size(campaign)
    if size == "one":
        new_units: list[list[int]] = [[candidate_id] for candidate_id in new_ids]
    elif size == "all":
        # A fresh ranking of everything the item has now; earlier rankings stay as they were.
        everything = old_ids + list(new_ids)
        new_units = [everything[: task_config(campaign).max_ranked]] if len(everything) >= 2 else []
    else:
        new_units = [[a, b] for a in old_ids for b in new_ids] + [
            [a, b] for i, a in enumerate(new_ids) for b in new_ids[i + 1 :]
        ]
    if new_units:
        session.execute(
            insert(Comparison),
            [
                comparison_row(
                    campaign=campaign,
                    item_id=item.id,
                    candidate_ids=unit,
                    systems=[system_of[candidate_id] for candidate_id in unit],
                    priority=0,
                )
                for unit in new_units
            ],
        )
    session.flush()
    return len(new_ids), len(new_units)
