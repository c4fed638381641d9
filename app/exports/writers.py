"""Writing export rows as JSON Lines and Parquet, and the dataset card that goes with them.

Both files are deterministic: the same rows give the same bytes (keys in the row builders' fixed
order, no time stamps; Parquet with fixed writer options and one row group per batch), so a release
can promise byte-identical files for the same request on the same votes.
"""

import gc
import hashlib
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from app.exports.schemas import ASPECT_DOC, COLUMN_DOCS, SCHEMAS
from app.exports.service import ExportFormat

# What one row is, per format (the dataset card's first line).
FORMAT_DOCS: dict[str, str] = {
    "pairwise": "one row per comparison with a majority preference (ties and both-bad stay out; see the "
    "`votes` export)",
    "votes": "one row per vote, in the order stored",
    "ratings": "one row per vote, output and rated aspect",
    "ratings-wide": "one row per vote and output, one column per rubric aspect",
    "rankings": "one row per vote with the full order given, ties kept",
    "ranking-pairs": "one row per pair of outputs of each ranking vote: a preference when they are in "
    "different places, a row with `tie` true (and no chosen/rejected) when they share one",
    "segments": "one row per marked span, time range or window",
    "dense": "one row per vote and output, with segments covering the output and a reward each",
    "checklist": "one row per vote and checklist question",
    "thumbs": "one row per vote (thumbs up or down)",
    "listening": "one row per player event of each vote's listening log",
    "distributions": "one row per pair comparison: the count and share of votes for each outcome "
    "(first, second, tie, both bad), not only the majority",
}

# How the votes were collected, per task kind (the card's protocol section).
PROTOCOLS: dict[str, str] = {
    "pairwise": "Blind pairwise comparison: annotators saw the prompt and two outputs as A and B, sides "
    "randomised per annotator and recorded, system names hidden until after the vote.",
    "arena": "Pairwise battles between two anonymous systems; names revealed after the vote.",
    "rating": "Annotators rated outputs on the rubric's aspects, one output per task or both outputs of a "
    "pair side by side (order randomised and recorded), system names hidden.",
    "ranking": "Annotators ordered all outputs of an item best first, ties allowed; the order shown was "
    "shuffled per annotator and recorded, system names hidden.",
    "segment": "Annotators marked stretches of an output (text spans snapped to whole words, or time "
    "ranges of a clip) with a label from the campaign's taxonomy, or chose A, B or tie per fixed window "
    "of two aligned clips; system names hidden.",
    "checklist": "Annotators answered yes or no to each of the item's checklist questions about one "
    "output; system names hidden.",
    "single": "Annotators gave one output a thumbs up or down; system names hidden.",
}


def iter_jsonl(rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    for row in rows:
        yield (json.dumps(row, ensure_ascii=False) + "\n").encode()


# Spelled out so that a pyarrow upgrade changing a default does not silently change a release's bytes.
PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": True,
    "write_statistics": True,
    "version": "2.6",
    "data_page_version": "1.0",
    "store_schema": True,
}
BATCH_ROWS = 5000


@dataclass(frozen=True)
class WrittenFile:
    name: str
    sha256: str
    bytes: int
    rows: int | None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "bytes": self.bytes, "rows": self.rows}


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def describe(path: Path, rows: int | None) -> WrittenFile:
    return WrittenFile(name=path.name, sha256=file_digest(path), bytes=path.stat().st_size, rows=rows)


def _table(batch: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    # from_pylist picks the schema's columns out of the rows in C++ (a missing key is null), twice as
    # fast as building per-column lists in Python first; the same table, so the same bytes.
    return pa.Table.from_pylist(batch, schema=schema)


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Export rows hold no reference cycles (reference counting frees each batch), but the dicts and
    lists they allocate keep triggering the cyclic collector, whose older generations walk every
    object the app has loaded: a quarter of a million-vote write. The youngest generation collects
    less often while it runs; the setting is process-wide and is put back afterwards. (No gc.freeze
    here: unfreezing would also thaw what the server froze at start-up.)"""
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], 50_000), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


def write_rows(
    rows: Iterable[dict[str, Any]],
    *,
    schema: pa.Schema,
    jsonl_path: Path,
    parquet_path: Path,
    batch_size: int = BATCH_ROWS,
) -> int:
    """Streams rows into a JSON Lines file and a Parquet file in one pass (a row group per batch);
    returns the row count. Memory holds one batch."""
    jsonl_path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    batch: list[dict[str, Any]] = []
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    with (
        _fewer_collections(),
        jsonl_path.open("w", encoding="utf-8", newline="\n") as jsonl,
        pq.ParquetWriter(parquet_path, schema, **PARQUET_OPTIONS) as parquet,
    ):
        for row in rows:
            batch.append(row)
            count += 1
            if len(batch) >= batch_size:
                jsonl.write("".join(dumps(r) + "\n" for r in batch))
                parquet.write_table(_table(batch, schema))
                batch = []
        if batch or count == 0:
            jsonl.write("".join(dumps(r) + "\n" for r in batch))
            parquet.write_table(_table(batch, schema))
    return count


def write_files(
    rows: Iterable[dict[str, Any]],
    *,
    fmt: ExportFormat,
    out: Path,
    batch_size: int = BATCH_ROWS,
    schema: pa.Schema | None = None,
) -> int:
    """Writes data.jsonl and data.parquet side by side in one pass; returns the row count."""
    return write_rows(
        rows,
        schema=schema if schema is not None else SCHEMAS[fmt],
        jsonl_path=out / "data.jsonl",
        parquet_path=out / "data.parquet",
        batch_size=batch_size,
    )


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
    task_kind: str = "pairwise",
    schema: pa.Schema | None = None,
    rubrics: list[tuple[int, list[dict[str, Any]]]] | None = None,
) -> str:
    schema = schema if schema is not None else SCHEMAS[fmt]
    alpha = agreement["krippendorff_alpha_nominal"]
    columns = "\n".join(
        f"| `{f.name}` | {f.type} | {COLUMN_DOCS.get(f.name, ASPECT_DOC if f.type == pa.int16() else '')} |"
        for f in schema
    )
    licence = license_id or "other"
    quoted_guidelines = "\n".join("> " + line for line in (guidelines.strip() or "(none)").splitlines())
    what = FORMAT_DOCS[fmt]
    protocol = PROTOCOLS.get(task_kind, PROTOCOLS["pairwise"])
    rubric_section = ""
    if rubrics:
        lines = "\n".join(
            f"| {version} | " + ", ".join(f"{a['name']} ({a['min']}..{a['max']})" for a in aspects) + " |"
            for version, aspects in rubrics
        )
        rubric_section = f"\n## Rubric versions\n\n| version | aspects (scale) |\n|---|---|\n{lines}\n"
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
same rows. The `pairwise` and `ranking-pairs` formats have the `prompt`, `chosen` and `rejected`
columns that TRL's RewardTrainer and DPOTrainer read (drop `ranking-pairs` rows with `tie` true
first); `thumbs` has the `prompt`, `completion` and `label` columns of TRL's KTOTrainer. Rows of LM
judges have `annotator_kind` = model.

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

Agreement counts votes with an A/B outcome only; it is empty for task kinds that ask none.
{rubric_section}
## Schema

| column | type | meaning |
|---|---|---|
{columns}

## Collection protocol

Task kind `{task_kind}`. {protocol} Each unit of work was given to {overlap} distinct annotator(s).
Annotator ids are pseudonyms.

Guidelines given to annotators:

{quoted_guidelines}

## Licence

{licence}
"""
