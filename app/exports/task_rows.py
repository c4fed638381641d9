"""Row builders of the task-kind exports: ratings, rankings, segments, dense rewards, checklists, thumbs
and listening logs. Every row ends with the vote's provenance (`VoteContext.provenance`).

Stored answers name candidates by public id (app.tasks.answers); the rows add the system, the text, the
media digests and the position the annotator saw each output in (0 = A).
"""

from collections.abc import Iterator
from typing import Any

from sqlalchemy.orm import Session

from app.auth.models import UserKind
from app.campaigns.models import Campaign
from app.exports import dense
from app.exports.loader import Output, VoteContext, iter_votes, vote_query
from app.tasks.config import task_config
from app.tasks.models import Rubric
from app.tasks.service import rubric_versions

# Columns of `ratings-wide` that an aspect name may not take over; such an aspect becomes aspect_<name>.
WIDE_FIXED = (
    "prompt",
    "response",
    "candidate",
    "system",
    "position",
    "rubric_version",
    "media",
    "vote_id",
    "campaign",
    "item_id",
    "comparison_id",
    "annotator",
    "annotator_kind",
    "shown_systems",
    "shown_candidates",
    "time_on_task_ms",
    "created_at",
    "tags",
)


def aspect_column(name: str) -> str:
    return f"aspect_{name}" if name in WIDE_FIXED else name


def rating_aspects(session: Session, *, campaign: Campaign) -> list[str]:
    """Every aspect of every rubric version, in the order they first appear (the wide columns)."""
    names: list[str] = []
    for rubric in rubric_versions(session, campaign_id=campaign.id):
        names.extend(a["name"] for a in rubric.aspects if a["name"] not in names)
    return names


def _votes(
    session: Session,
    campaign: Campaign,
    annotator_kind: UserKind | None,
    max_vote_id: int | None,
    data_only: bool,
) -> Iterator[VoteContext]:
    query = vote_query(campaign, annotator_kind=annotator_kind, max_vote_id=max_vote_id, data_only=data_only)
    return iter_votes(session, campaign=campaign, query=query)


def _output_columns(output: Output) -> dict[str, Any]:
    return {"candidate": output.public_id, "system": output.system, "position": output.position}


def iter_rating_rows(
    session: Session,
    *,
    campaign: Campaign,
    annotator_kind: UserKind | None = None,
    max_vote_id: int | None = None,
    data_only: bool = True,
) -> Iterator[dict[str, Any]]:
    """`ratings`: one row per vote x output x aspect, with the scale of the rubric version used."""
    rubrics = {r.id: r for r in rubric_versions(session, campaign_id=campaign.id)}
    for ctx in _votes(session, campaign, annotator_kind, max_vote_id, data_only):
        ratings = ctx.vote.answer.get("ratings") or {}
        rubric = rubrics.get(ctx.vote.rubric_id) if ctx.vote.rubric_id is not None else None
        scales = {a["name"]: (a["min"], a["max"]) for a in (rubric.aspects if rubric else [])}
        order = [a["name"] for a in rubric.aspects] if rubric else []
        for output in ctx.shown:
            given = ratings.get(output.public_id)
            if not given:
                continue
            for aspect in [*order, *(name for name in given if name not in order)]:
                if aspect not in given:
                    continue
                low, high = scales.get(aspect, (None, None))
                yield {
                    **_output_columns(output),
                    "aspect": aspect,
                    "value": given[aspect],
                    "scale_min": low,
                    "scale_max": high,
                    "rubric_version": rubric.version if rubric else None,
                    "media": list(output.media),
                    **ctx.provenance(),
                }


def iter_rating_wide_rows(
    session: Session,
    *,
    campaign: Campaign,
    annotator_kind: UserKind | None = None,
    max_vote_id: int | None = None,
    data_only: bool = True,
) -> Iterator[dict[str, Any]]:
    """`ratings-wide`: one row per vote x output, one column per aspect (HelpSteer2's layout); an
    aspect the vote's rubric version lacks is null."""
    aspects = rating_aspects(session, campaign=campaign)
    versions: dict[int, Rubric] = {r.id: r for r in rubric_versions(session, campaign_id=campaign.id)}
    for ctx in _votes(session, campaign, annotator_kind, max_vote_id, data_only):
        ratings = ctx.vote.answer.get("ratings") or {}
        rubric = versions.get(ctx.vote.rubric_id) if ctx.vote.rubric_id is not None else None
        for output in ctx.shown:
            given = ratings.get(output.public_id)
            if not given:
                continue
            yield {
                "prompt": ctx.prompt,
                "response": output.content,
                **{aspect_column(name): given.get(name) for name in aspects},
                **_output_columns(output),
                "rubric_version": rubric.version if rubric else None,
                "media": list(output.media),
                **ctx.provenance(),
            }


def _places(ctx: VoteContext) -> list[list[Output]]:
    return [
        [o for o in (ctx.output(public_id) for public_id in group) if o is not None]
        for group in ctx.vote.answer.get("ranking") or []
    ]


def iter_ranking_rows(
    session: Session,
    *,
    campaign: Campaign,
    annotator_kind: UserKind | None = None,
    max_vote_id: int | None = None,
    data_only: bool = True,
) -> Iterator[dict[str, Any]]:
    """`rankings`: one row per vote with the whole order, best first; outputs in one place are tied."""
    for ctx in _votes(session, campaign, annotator_kind, max_vote_id, data_only):
        places = _places(ctx)
        if not places:
            continue
        yield {
            "prompt": ctx.prompt,
            "ranking_systems": [[o.system for o in place] for place in places],
            "ranking_candidates": [[o.public_id for o in place] for place in places],
            "n_outputs": sum(len(place) for place in places),
            "n_places": len(places),
            **ctx.provenance(),
        }


def iter_ranking_pair_rows(
    session: Session,
    *,
    campaign: Campaign,
    annotator_kind: UserKind | None = None,
    max_vote_id: int | None = None,
    data_only: bool = True,
) -> Iterator[dict[str, Any]]:
    """`ranking-pairs`: every pair of outputs of each ranking vote.

    A pair in different places is a preference: `chosen` is the better placed output, `margin` how
    many places apart they are. A pair in the same place is kept with `tie` true and every chosen_* /
    rejected_* column null (the two outputs are in `tied_systems` / `tied_candidates`): a tie is no
    preference, so a trainer fed the file unfiltered fails on it rather than learning a coin flip.
    """
    for ctx in _votes(session, campaign, annotator_kind, max_vote_id, data_only):
        placed = [(rank, o) for rank, place in enumerate(_places(ctx), start=1) for o in place]
        for i, (rank_i, first) in enumerate(placed):
            for rank_j, second in placed[i + 1 :]:
                tie = rank_i == rank_j
                yield {
                    "prompt": ctx.prompt,
                    "chosen": None if tie else first.content,
                    "rejected": None if tie else second.content,
                    "chosen_system": None if tie else first.system,
                    "rejected_system": None if tie else second.system,
                    "chosen_candidate": None if tie else first.public_id,
                    "rejected_candidate": None if tie else second.public_id,
                    "chosen_place": None if tie else rank_i,
                    "rejected_place": None if tie else rank_j,
                    "margin": None if tie else rank_j - rank_i,
                    "tie": tie,
                    "tied_systems": [first.system, second.system] if tie else [],
                    "tied_candidates": [first.public_id, second.public_id] if tie else [],
                    "chosen_media": [] if tie else list(first.media),
                    "rejected_media": [] if tie else list(second.media),
                    **ctx.provenance(),
                }


def _segment_row(**values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "mode": None,
        "candidate": None,
        "system": None,
        "position": None,
        "start": None,
        "end": None,
        "text": None,
        "start_s": None,
        "end_s": None,
        "label": None,
        "comment": None,
        "window_index": None,
        "preferred_candidate": None,
        "preferred_system": None,
        "tie": None,
        "media": [],
    }
    row.update(values)
    return row


def _common_length(ctx: VoteContext) -> float | None:
    """The length two aligned clips are judged over: the shorter one (as the task page splits them)."""
    durations = [o.duration_s for o in ctx.shown]
    return None if not durations or None in durations else min(d for d in durations if d is not None)


def iter_segment_rows(
    session: Session,
    *,
    campaign: Campaign,
    annotator_kind: UserKind | None = None,
    max_vote_id: int | None = None,
    data_only: bool = True,
) -> Iterator[dict[str, Any]]:
    """`segments`: one row per marked span (characters), time range (seconds) or window (the side
    preferred in it, or a tie). A vote that marked nothing has no row here (see `dense`)."""
    window_s = task_config(campaign).window_s
    for ctx in _votes(session, campaign, annotator_kind, max_vote_id, data_only):
        answer = ctx.vote.answer
        for span in answer.get("spans") or []:
            output = ctx.output(span["candidate"])
            if output is None:
                continue
            yield {
                **_segment_row(
                    mode="spans",
                    **_output_columns(output),
                    start=span["start"],
                    end=span["end"],
                    text=span["text"],
                    label=span["label"],
                    comment=span["comment"],
                    media=list(output.media),
                ),
                **ctx.provenance(),
            }
        for marked in answer.get("time_ranges") or []:
            output = ctx.output(marked["candidate"])
            if output is None:
                continue
            yield {
                **_segment_row(
                    mode="time",
                    **_output_columns(output),
                    start_s=marked["start_s"],
                    end_s=marked["end_s"],
                    label=marked["label"],
                    comment=marked["comment"],
                    media=list(output.media),
                ),
                **ctx.provenance(),
            }
        length = _common_length(ctx)
        for index, choice in enumerate(answer.get("windows") or []):
            start_s, end_s = dense.window_bounds(index, window_s=window_s, length_s=length)
            preferred = None if choice == "tie" else ctx.output(choice)
            yield {
                **_segment_row(
                    mode="windows",
                    start_s=start_s,
                    end_s=end_s,
                    window_index=index,
                    preferred_candidate=preferred.public_id if preferred else None,
                    preferred_system=preferred.system if preferred else None,
                    tie=choice == "tie",
                ),
                **ctx.provenance(),
            }


def iter_dense_rows(
    session: Session,
    *,
    campaign: Campaign,
    annotator_kind: UserKind | None = None,
    max_vote_id: int | None = None,
    data_only: bool = True,
) -> Iterator[dict[str, Any]]:
    """`dense`: one row per vote x output with segments covering the output and a reward each (the
    formulas are in app.exports.dense)."""
    window_s = task_config(campaign).window_s
    for ctx in _votes(session, campaign, annotator_kind, max_vote_id, data_only):
        answer = ctx.vote.answer
        length = _common_length(ctx)
        for output in ctx.shown:
            if "spans" in answer:
                mode = "spans"
                mine = [s for s in answer["spans"] if s["candidate"] == output.public_id]
                segments = dense.span_rewards(output.content, mine)
            elif "time_ranges" in answer:
                mode = "time"
                mine = [r for r in answer["time_ranges"] if r["candidate"] == output.public_id]
                segments = dense.time_rewards(mine, duration_s=output.duration_s, window_s=window_s)
            elif "windows" in answer:
                mode = "windows"
                segments = dense.window_rewards(
                    answer["windows"], output.public_id, window_s=window_s, length_s=length
                )
            else:
                continue
            yield {
                "prompt": ctx.prompt,
                "response": output.content,
                "mode": mode,
                **_output_columns(output),
                "segments": [s.as_row() for s in segments],
                "n_segments": len(segments),
                "media": list(output.media),
                **ctx.provenance(),
            }


def iter_checklist_rows(
    session: Session,
    *,
    campaign: Campaign,
    annotator_kind: UserKind | None = None,
    max_vote_id: int | None = None,
    data_only: bool = True,
) -> Iterator[dict[str, Any]]:
    """`checklist`: one row per vote x question, in the item's question order."""
    for ctx in _votes(session, campaign, annotator_kind, max_vote_id, data_only):
        answers = ctx.vote.answer.get("checklist") or {}
        texts = {q["id"]: q["text"] for q in ctx.questions}
        output = ctx.shown[0]
        for question_id in [*texts, *(q for q in answers if q not in texts)]:
            if question_id not in answers:
                continue
            yield {
                "prompt": ctx.prompt,
                "response": output.content,
                **_output_columns(output),
                "question_id": question_id,
                "question": texts.get(question_id),
                "answer": bool(answers[question_id]),
                "media": list(output.media),
                **ctx.provenance(),
            }


def iter_thumb_rows(
    session: Session,
    *,
    campaign: Campaign,
    annotator_kind: UserKind | None = None,
    max_vote_id: int | None = None,
    data_only: bool = True,
) -> Iterator[dict[str, Any]]:
    """`thumbs`: one row per vote; `prompt`, `completion` and `label` (true for up) are the columns TRL's
    KTOTrainer reads."""
    for ctx in _votes(session, campaign, annotator_kind, max_vote_id, data_only):
        thumb = ctx.vote.answer.get("thumb")
        if thumb is None:
            continue
        output = ctx.shown[0]
        yield {
            "prompt": ctx.prompt,
            "completion": output.content,
            "label": thumb == "up",
            "thumb": thumb,
            **_output_columns(output),
            "media": list(output.media),
            **ctx.provenance(),
        }


def iter_listening_rows(
    session: Session,
    *,
    campaign: Campaign,
    annotator_kind: UserKind | None = None,
    max_vote_id: int | None = None,
    data_only: bool = True,
) -> Iterator[dict[str, Any]]:
    """`listening`: one row per player event of each vote's listening log, in the order logged."""
    for ctx in _votes(session, campaign, annotator_kind, max_vote_id, data_only):
        for index, event in enumerate(ctx.vote.listening_log or []):
            output = ctx.output(event["candidate"])
            yield {
                "event_index": index,
                "candidate": event["candidate"],
                "system": output.system if output else None,
                "position": output.position if output else None,
                "event": event["event"],
                "media_s": event["media_s"],
                "wall_ms": event["wall_ms"],
                **ctx.provenance(),
            }
