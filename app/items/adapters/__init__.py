"""Adapters from public data sets' own layouts to Preflab import items (`ItemLine`).

Each module reads one source's file as it is published (a JSON document, not JSON Lines) and yields
(line, item) pairs: the line a record starts on, for error messages and the import's duplicate check.
Malformed records are refused with ImportRejected naming the record and its line.
"""

from collections.abc import Iterable, Iterator
from pathlib import Path

from app.campaigns.models import Campaign
from app.items.adapters import fg_rlhf, imagereward
from app.items.schemas import ItemLine

FORMATS = (fg_rlhf.FORMAT, imagereward.FORMAT)


def read(
    fmt: str, lines: Iterable[str], *, campaign: Campaign, media_base: Path | None
) -> Iterator[tuple[int, ItemLine]]:
    if fmt == fg_rlhf.FORMAT:
        return fg_rlhf.read(lines, campaign=campaign)
    if fmt == imagereward.FORMAT:
        return imagereward.read(lines, campaign=campaign, media_base=media_base)
    raise ValueError(f"no adapter for the format '{fmt}'")
