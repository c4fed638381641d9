"""Writing export rows as JSON Lines and Parquet, and the dataset card that goes with them."""

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from app.exports.service import ExportFormat

_string_list = pa.list_(pa.string())

SCHEMAS: dict[str, pa.Schema] = {
    "pairwise": pa.schema(
        [
            ("prompt", pa.string()),
            ("chosen", pa.string()),
            ("rejected", pa.string()),
            ("chosen_system", pa.string()),
            ("rejected_system", pa.string()),
            ("strength", pa.float64()),
            ("n_votes", pa.int32()),
            ("agreement", pa.float64()),
            ("item_id", pa.string()),
            ("comparison_id", pa.int64()),
            ("tags", _string_list),
            ("chosen_media", _string_list),
            ("rejected_media", _string_list),
        ]
    ),
    "votes": pa.schema(
        [
            ("vote_id", pa.string()),
            ("campaign", pa.string()),
            ("item_id", pa.string()),
            ("comparison_id", pa.int64()),
            ("prompt", pa.string()),
            ("annotator", pa.string()),
            ("annotator_kind", pa.string()),
            ("outcome", pa.string()),
            ("winner_side", pa.string()),
            ("winner_system", pa.string()),
            ("loser_system", pa.string()),
            ("shown_a_system", pa.string()),
            ("shown_b_system", pa.string()),
            ("shown_a", pa.string()),
            ("shown_b", pa.string()),
            ("strength", pa.int8()),
            ("rationale", pa.string()),
            ("flags_a", _string_list),
            ("flags_b", _string_list),
            ("time_on_task_ms", pa.int64()),
            ("tags", _string_list),
            ("created_at", pa.string()),
            ("media_a", _string_list),
            ("media_b", _string_list),
        ]
    ),
}

COLUMN_DOCS: dict[str, str] = {
    "prompt": "the prompt shown to annotators",
    "chosen": "the candidate the annotators preferred (majority)",
    "rejected": "the other candidate",
    "chosen_system": "system that produced `chosen`",
    "rejected_system": "system that produced `rejected`",
    "strength": "mean strength (0..3) among votes for `chosen`; null when not asked",
    "n_votes": "all votes on this comparison, ties and both-bad included",
    "agreement": "share of `n_votes` that chose `chosen`",
    "item_id": "the item's id from the import file",
    "comparison_id": "Preflab's id of the pair",
    "tags": "the item's tags",
    "vote_id": "opaque vote id",
    "campaign": "campaign slug",
    "annotator": "pseudonymous annotator id (stable within this Preflab instance)",
    "annotator_kind": "human, or model for an LM judge's vote (the pairwise export counts humans only)",
    "winner_side": "a or b: the side preferred, as this annotator saw them (null for tie and both_bad)",
    "outcome": "preference, tie or both_bad",
    "winner_system": "system preferred (null for tie and both_bad)",
    "loser_system": "the other system (null for tie and both_bad)",
    "shown_a_system": "system shown first (as A) to this annotator",
    "shown_b_system": "system shown second (as B)",
    "shown_a": "text shown as A",
    "shown_b": "text shown as B",
    "rationale": "the annotator's free-text reason",
    "flags_a": "quality flags the annotator set on A",
    "flags_b": "quality flags the annotator set on B",
    "time_on_task_ms": "from the task being handed out to the vote",
    "created_at": "when the vote was stored (UTC, ISO 8601)",
    "chosen_media": "sha256 of each media file of `chosen`, in the order shown (empty for text)",
    "rejected_media": "sha256 of each media file of `rejected`, in the order shown",
    "media_a": "sha256 of each media file shown as A, in order (empty for text)",
    "media_b": "sha256 of each media file shown as B, in order",
}


def iter_jsonl(rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    for row in rows:
        yield (json.dumps(row, ensure_ascii=False) + "\n").encode()


def write_files(
    rows: Iterable[dict[str, Any]], *, fmt: ExportFormat, out: Path, batch_size: int = 5000
) -> int:
    """Writes data.jsonl and data.parquet side by side in one pass; returns the row count."""
    out.mkdir(parents=True, exist_ok=True)
    schema = SCHEMAS[fmt]
    count = 0
    batch: list[dict[str, Any]] = []
    with (
        (out / "data.jsonl").open("w", encoding="utf-8") as jsonl,
        pq.ParquetWriter(out / "data.parquet", schema) as parquet,
    ):
        for row in rows:
            jsonl.write(json.dumps(row, ensure_ascii=False) + "\n")
            batch.append(row)
            count += 1
            if len(batch) >= batch_size:
                parquet.write_table(pa.Table.from_pylist(batch, schema=schema))
                batch = []
        if batch or count == 0:
            parquet.write_table(pa.Table.from_pylist(batch, schema=schema))
    return count


def dataset_card(
    *,
    fmt: ExportFormat,
    campaign_slug: str,
    campaign_name: str,
    guidelines: str,
    license_id: str,
    overlap: int,
    rows: int,
    votes: int,
    comparisons: int,
    agreement: dict[str, float | int | None],
    exported_at: str,
) -> str:
    schema = SCHEMAS[fmt]
    alpha = agreement["krippendorff_alpha_nominal"]
    columns = "\n".join(f"| `{f.name}` | {f.type} | {COLUMN_DOCS.get(f.name, '')} |" for f in schema)
    licence = license_id or "other"
    quoted_guidelines = "\n".join("> " + line for line in (guidelines.strip() or "(none)").splitlines())
    what = (
        "one row per comparison with a majority preference (ties and both-bad stay out; see the "
        "`votes` export)"
        if fmt == "pairwise"
        else "one row per vote, in the order stored"
    )
    return f"""---
license: {licence}
pretty_name: "{campaign_name} ({fmt})"
configs:
- config_name: default
  data_files:
  - split: train
    path: data.parquet
---

# {campaign_name}: `{fmt}` export

Exported by Preflab from campaign `{campaign_slug}` at {exported_at}: {what}.
Load it with `datasets.load_dataset("parquet", data_files="data.parquet")`; `data.jsonl` holds the
same rows. The `pairwise` format has the `prompt`, `chosen` and `rejected` columns that TRL's
RewardTrainer and DPOTrainer read.

## Counts

| what | count |
|---|---|
| rows | {rows} |
| votes in the campaign | {votes} |
| comparisons in the campaign | {comparisons} |
| annotators per comparison (overlap) | {overlap} |

## Agreement

| measure | value |
|---|---|
| comparisons with 2+ votes | {agreement["units_with_2plus_votes"]} |
| pairwise percent agreement | {agreement["pairwise_agreement"]} |
| Krippendorff's alpha, nominal (first wins, second wins, tie, both bad) | {alpha} |

## Schema

| column | type | meaning |
|---|---|---|
{columns}

## Collection protocol

Blind pairwise comparison: annotators saw the prompt and two outputs as A and B, sides randomised per
annotator and recorded, system names hidden until after the vote. Each comparison was given to
{overlap} distinct annotator(s). Annotator ids are pseudonyms.

Guidelines given to annotators:

{quoted_guidelines}

## Licence

{licence}
"""
