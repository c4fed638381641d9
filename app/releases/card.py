"""A release's dataset card (README.md): Hub front matter, then counts, agreement, schema, protocol,
rubric versions and licence.

Everything on it comes from the release row and the votes up to its boundary, and the front matter
lists one `configs` entry per format, so `datasets.load_dataset(<release folder>)` reads the first
format (and `load_dataset(folder, "<format>")` any other) with no loading script.
"""

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.campaigns.models import Campaign, Modality
from app.exports import service as exports
from app.exports.schemas import ASPECT_DOC, COLUMN_DOCS
from app.exports.writers import FORMAT_DOCS, PROTOCOLS, WrittenFile
from app.items.models import Comparison, Item
from app.judging.models import LMJudge
from app.releases.models import Release
from app.releases.schemas import ReleaseFilters
from app.routing.models import RoutingPlan
from app.selection.config import selection_config
from app.tasks.service import rubric_versions
from app.voting.models import Vote

# Hub task categories by what was judged.
TASK_CATEGORIES = {
    Modality.text: ["text-generation", "text-classification"],
    Modality.image: ["text-to-image"],
    Modality.audio: ["text-to-audio"],
    Modality.video: ["text-to-video"],
}


@dataclass
class CardFacts:
    campaign: Campaign
    release: Release
    filters: ReleaseFilters
    files: list[WrittenFile]
    content_hash: str
    schemas: dict[str, pa.Schema]
    rows_per_format: dict[str, int]
    votes_by_kind: dict[str, int]
    annotators_by_kind: dict[str, int]
    comparisons: int
    comparisons_voted: int
    items_by_role: dict[str, int]
    agreement: dict[str, float | int | None]
    rating_alpha: dict[str, float | None]
    judges: list[str]
    routing: str | None
    quality: dict[str, Any]
    rubrics: list[tuple[int, list[dict[str, Any]]]]
    weights_used: bool
    extra: dict[str, Any] = field(default_factory=dict)


def _rating_alpha(triples: list[tuple[str, str, str, int]]) -> dict[str, float | None]:
    """Krippendorff's alpha (interval) per rubric aspect: units are (comparison, output), coders
    annotators (app.quality.metrics)."""
    # Imported here: app.quality.metrics brings scipy.stats (~45 MB), and only rating releases use it.
    from app.quality import metrics

    by_aspect: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    for aspect, unit, coder, value in triples:
        by_aspect[aspect].append((unit, coder, value))
    result: dict[str, float | None] = {}
    for aspect in sorted(by_aspect):
        units, coders, values = zip(*by_aspect[aspect], strict=True)
        ratings = metrics.Ratings.from_triples(list(units), list(coders), list(values))
        alpha = metrics.krippendorff_alpha(ratings, level="interval")
        result[aspect] = None if alpha is None else round(float(alpha), 4)
    return result


def gather_facts(
    session: Session,
    *,
    campaign: Campaign,
    release: Release,
    filters: ReleaseFilters,
    files: list[WrittenFile],
    content_hash: str,
    schemas: dict[str, pa.Schema],
    rows_per_format: dict[str, int],
    rating_triples: list[tuple[str, str, str, int]],
    weights_used: bool,
    agreement: dict[str, float | int | None] | None = None,
) -> CardFacts:
    """`agreement`: exports.agreement_summary of the snapshot when the caller has it already."""
    in_snapshot = (Vote.campaign_id == campaign.id, Vote.id <= release.max_vote_id)
    by_kind = session.execute(
        select(User.kind, func.count(Vote.id), func.count(distinct(Vote.annotator_id)))
        .join(User, User.id == Vote.annotator_id)
        .where(*in_snapshot)
        .group_by(User.kind)
    ).all()
    comparisons = session.scalar(
        select(func.count()).select_from(Comparison).where(Comparison.campaign_id == campaign.id)
    )
    voted = session.scalar(select(func.count(distinct(Vote.comparison_id))).where(*in_snapshot))
    roles = session.execute(
        select(Item.role, func.count()).where(Item.campaign_id == campaign.id).group_by(Item.role)
    ).all()
    judges = list(
        session.scalars(select(LMJudge.name).where(LMJudge.campaign_id == campaign.id).order_by(LMJudge.id))
    )
    plan = session.scalar(select(RoutingPlan).where(RoutingPlan.campaign_id == campaign.id))
    routing = (
        None
        if plan is None
        else f"{plan.status.value}; human budget {plan.human_budget:g}, alpha {plan.alpha:g}, "
        f"calibration slice {plan.calibration_size} pairs"
    )
    return CardFacts(
        campaign=campaign,
        release=release,
        filters=filters,
        files=files,
        content_hash=content_hash,
        schemas=schemas,
        rows_per_format=rows_per_format,
        votes_by_kind={kind.value: int(n) for kind, n, _ in by_kind},
        annotators_by_kind={kind.value: int(a) for kind, _, a in by_kind},
        comparisons=int(comparisons or 0),
        comparisons_voted=int(voted or 0),
        items_by_role={role: int(n) for role, n in sorted(roles)},
        agreement=agreement
        if agreement is not None
        else exports.agreement_summary(session, campaign=campaign, max_vote_id=release.max_vote_id),
        rating_alpha=_rating_alpha(rating_triples),
        judges=judges,
        routing=routing,
        quality=dict(campaign.quality or {}),
        rubrics=[(r.version, r.aspects) for r in rubric_versions(session, campaign_id=campaign.id)],
        weights_used=weights_used,
    )


def _q(value: str) -> str:
    """A YAML scalar: JSON strings are valid YAML, and safe whatever the text holds."""
    return json.dumps(value, ensure_ascii=False)


def _front_matter(facts: CardFacts) -> str:
    campaign, release = facts.campaign, facts.release
    lines = [
        "---",
        f"license: {_q(campaign.license or 'other')}",
        f"pretty_name: {_q(f'{campaign.name} (release v{release.version})')}",
        "task_categories:",
        *(f"- {c}" for c in TASK_CATEGORIES.get(campaign.modality, ["text-generation"])),
        "tags:",
        *(f"- {t}" for t in ("preference", "human-feedback", "rlhf", "preflab")),
        "configs:",
    ]
    for index, fmt in enumerate(release.formats):
        lines += [f"- config_name: {_q(fmt)}"]
        if index == 0:
            lines += ["  default: true"]
        lines += ["  data_files:", "  - split: train", f"    path: {_q(fmt + '.parquet')}"]
    lines.append("---")
    return "\n".join(lines)


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    def cell(value: Any) -> str:
        text = "" if value is None else str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(out)


def _schema_section(fmt: str, schema: pa.Schema) -> str:
    rows = [
        (f"`{f.name}`", str(f.type), COLUMN_DOCS.get(f.name, ASPECT_DOC if f.type == pa.int16() else ""))
        for f in schema
    ]
    return f"### `{fmt}`\n\n{FORMAT_DOCS[fmt]}.\n\n" + _table(("column", "type", "meaning"), rows)


def render(facts: CardFacts) -> str:
    campaign, release, filters = facts.campaign, facts.release, facts.filters
    created = release.created_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    total_votes = sum(facts.votes_by_kind.values())
    counts = [
        ("votes in the snapshot (id <= boundary)", total_votes),
        ("votes kept by the filters", release.vote_count),
        ("votes by people (human)", facts.votes_by_kind.get("human", 0)),
        ("votes by LM judges (model)", facts.votes_by_kind.get("model", 0)),
        ("annotators, human", facts.annotators_by_kind.get("human", 0)),
        ("annotators, model", facts.annotators_by_kind.get("model", 0)),
        ("comparisons (units of work) in the campaign", facts.comparisons),
        ("comparisons with a vote in the snapshot", facts.comparisons_voted),
        *((f"items with role {role}", n) for role, n in facts.items_by_role.items()),
    ]
    files = _table(
        ("file", "rows", "bytes", "sha256"),
        [(f"`{f.name}`", f.rows, f.bytes, f"`{f.sha256}`") for f in facts.files],
    )
    agreement_rows: list[tuple[Any, ...]] = [
        ("comparisons with 2+ A/B votes", facts.agreement["units_with_2plus_votes"]),
        ("pairwise percent agreement", facts.agreement["pairwise_agreement"]),
        (
            "Krippendorff's alpha, nominal (first, second, tie, both bad)",
            facts.agreement["krippendorff_alpha_nominal"],
        ),
        *((f"Krippendorff's alpha, interval, aspect `{a}`", v) for a, v in facts.rating_alpha.items()),
    ]
    selection = selection_config(campaign)
    quality = facts.quality
    protocol_rows = [
        ("task kind", campaign.task_kind.value),
        ("modality", campaign.modality.value),
        ("annotators per unit (overlap)", campaign.overlap),
        ("pair selection", selection.strategy),
        ("LM judges", ", ".join(facts.judges) or "none"),
        ("routing between people and a judge", facts.routing or "none"),
        ("gold items mixed in (rate)", quality.get("gold_rate", 0.0)),
        ("pause below gold accuracy", quality.get("min_gold_accuracy")),
        ("qualification test required", bool(quality.get("qualification_required", False))),
        ("votes per annotator (quota)", quality.get("quota")),
    ]
    rubric = ""
    if facts.rubrics:
        rubric = _table(
            ("version", "aspects (scale)"),
            [
                (version, ", ".join(f"{a['name']} ({a['min']}..{a['max']})" for a in aspects))
                for version, aspects in facts.rubrics
            ],
        )
    else:
        rubric = "This campaign has no rubric."
    filters_text = ", ".join(f"`{k}` = {json.dumps(v)}" for k, v in filters.model_dump(mode="json").items())
    guidelines = "\n".join("> " + line for line in (campaign.guidelines.strip() or "(none)").splitlines())
    schema = "\n\n".join(_schema_section(fmt, facts.schemas[fmt]) for fmt in release.formats)
    first = release.formats[0]
    protocol = PROTOCOLS.get(campaign.task_kind.value, PROTOCOLS["pairwise"])
    weight_note = (
        "`annotator_weight` in `votes` is each annotator's reliability "
        f"({filters.annotator_weights}) fitted on the A/B votes of "
        + (
            "the whole campaign when the release was made."
            if filters.annotator_weights == "crowd_bt"
            else "this snapshot."
        )
        if facts.weights_used
        else "`annotator_weight` is null: no reliability model was fitted for this release."
    )
    gold_note = (
        "included in every format"
        if filters.include_gold
        else "left out of every format but `votes`, where they are flagged by `item_role` and scored in "
        "`gold_correct`"
    )
    return f"""{_front_matter(facts)}

# {campaign.name}: release v{release.version}

Release `{release.public_id}` of Preflab campaign `{campaign.slug}`, made {created}. It is an immutable
snapshot: the votes with id <= {release.max_vote_id}, filtered by {filters_text}.
Content hash (sha256 over the data files' manifest, `sha256  name` per line in name order):
`{facts.content_hash}`.

Load it with `datasets.load_dataset("<this folder or repo>")` (the `{first}` config) or
`datasets.load_dataset("<this folder or repo>", "<format>")`; each format's `.jsonl` file holds the
same rows as its `.parquet`. `pairwise` has the `prompt`, `chosen` and `rejected` columns that TRL's
RewardTrainer and DPOTrainer read. Gold and qualification items (known answers, mixed in to check
annotators) are {gold_note}.

## Files

{files}

## Counts

{_table(("what", "count"), counts)}

## Agreement

{_table(("measure", "value"), agreement_rows)}

Nominal agreement counts the votes with an A/B outcome in the snapshot (every annotator kind); it is
empty for task kinds that ask none. {weight_note}

## Schema

{schema}

## Collection protocol

{protocol} Annotator ids are pseudonyms, stable within this Preflab instance.

{_table(("setting", "value"), protocol_rows)}

Guidelines given to annotators:

{guidelines}

## Rubric versions

{rubric}

## Licence

{campaign.license or "other (no licence was set on the campaign)"}
"""
