"""Importing items with their candidates, and the comparisons built from them. No HTTP; callers commit."""

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign
from app.errors import ImportRejected
from app.items.models import Candidate, Comparison, Item, new_public_id
from app.items.schemas import ChosenRejectedLine, ImportFormat, ImportReport, ItemLine

CHUNK = 1000
ASSISTANT_MARKER = "\n\nAssistant:"


def import_items(
    session: Session, *, campaign: Campaign, lines: Iterable[str], fmt: ImportFormat = "preflab"
) -> ImportReport:
    """Validates every line first and stores nothing unless all are valid (raises ImportRejected)."""
    parsed = list(_parse(lines, fmt))
    if not parsed:
        raise ImportRejected("the file holds no items")
    existing = set(session.scalars(select(Item.external_id).where(Item.campaign_id == campaign.id)))
    new = [item for _, item in parsed if item.id not in existing]
    skipped = [item.id for _, item in parsed if item.id in existing]

    comparisons_created = 0
    for start in range(0, len(new), CHUNK):
        comparisons_created += _store_chunk(session, campaign=campaign, items=new[start : start + CHUNK])
    session.flush()
    return ImportReport(
        lines=len(parsed),
        items_created=len(new),
        comparisons_created=comparisons_created,
        items_skipped=len(skipped),
        skipped_ids=skipped[:20],
    )


def _parse(lines: Iterable[str], fmt: ImportFormat) -> Iterable[tuple[int, ItemLine]]:
    seen: dict[str, int] = {}
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
        if item.id in seen:
            raise ImportRejected(f"id '{item.id}' was already used on line {seen[item.id]}", line=number)
        seen[item.id] = number
        yield number, item


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


def _store_chunk(session: Session, *, campaign: Campaign, items: list[ItemLine]) -> int:
    item_ids = session.scalars(
        insert(Item).returning(Item.id, sort_by_parameter_order=True),
        [
            {
                "campaign_id": campaign.id,
                "external_id": it.id,
                "prompt": it.prompt,
                "context": it.context,
                "tags": it.tags,
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
    offset = 0
    for item_id, it in zip(item_ids, items, strict=True):
        ids = candidate_ids[offset : offset + len(it.candidates)]
        offset += len(it.candidates)
        comparison_rows += [
            {
                "campaign_id": campaign.id,
                "item_id": item_id,
                "candidate_a_id": ids[a],
                "candidate_b_id": ids[b],
                "open_slots": campaign.overlap,
                "vote_count": 0,
                "priority": it.priority,
            }
            for a, b in it.resolved_pairs()
        ]
    if comparison_rows:
        session.execute(insert(Comparison), comparison_rows)
    return len(comparison_rows)


def add_candidates(
    session: Session, *, campaign: Campaign, item: Item, candidates: list[tuple[str, str, dict[str, Any]]]
) -> tuple[int, int]:
    """Adds (system, content, metadata) candidates to an item, pairs each new one with every other
    candidate of the item, and returns (candidates added, comparisons added).

    A candidate whose content the item already has (from any system) is dropped: two identical
    outputs teach nothing when compared.
    """
    existing = session.execute(
        select(Candidate.id, Candidate.content).where(Candidate.item_id == item.id).order_by(Candidate.id)
    ).all()
    seen = {content for _, content in existing}
    fresh = []
    for system, content, meta in candidates:
        if content in seen:
            continue
        seen.add(content)
        fresh.append(
            {
                "item_id": item.id,
                "system": system,
                "content": content,
                "meta": meta,
                "public_id": new_public_id(),
            }
        )
    if not fresh:
        return 0, 0
    new_ids = session.scalars(
        insert(Candidate).returning(Candidate.id, sort_by_parameter_order=True), fresh
    ).all()
    old_ids = [candidate_id for candidate_id, _ in existing]
    pairs = [(a, b) for a in old_ids for b in new_ids] + [
        (a, b) for i, a in enumerate(new_ids) for b in new_ids[i + 1 :]
    ]
    if pairs:
        session.execute(
            insert(Comparison),
            [
                {
                    "campaign_id": campaign.id,
                    "item_id": item.id,
                    "candidate_a_id": a,
                    "candidate_b_id": b,
                    "open_slots": campaign.overlap,
                    "vote_count": 0,
                    "priority": 0,
                }
                for a, b in pairs
            ],
        )
    session.flush()
    return len(new_ids), len(pairs)
