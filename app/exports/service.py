"""Rows for exports and the votes API: every vote with provenance, per-comparison majorities, and
the registry of formats (the task-kind ones are built in `task_rows`).

Rows are produced by streaming queries (`yield_per`), so exports do not hold a campaign in memory.
"""

from collections.abc import Callable, Iterator
from typing import Any, Literal, get_args

import numpy as np
from sqlalchemy import Result, Row, case, func, select
from sqlalchemy.orm import Session, aliased

from app.auth.models import User, UserKind
from app.campaigns.models import Campaign, TaskKind
from app.errors import Invalid, NotFound
from app.exports import loader, task_rows
from app.exports.loader import VoteContext, iter_votes, vote_query
from app.exports.outcomes import CODES, outcome_arrays
from app.items.models import Candidate, Comparison, Item
from app.media import service as media_service
from app.tasks import service as tasks_service
from app.voting.models import Outcome, Vote
from app.voting.schemas import VoteRecord

ExportFormat = Literal[
    "pairwise",
    "votes",
    "ratings",
    "ratings-wide",
    "rankings",
    "ranking-pairs",
    "segments",
    "dense",
    "checklist",
    "thumbs",
    "listening",
    "distributions",
]
FORMATS: tuple[str, ...] = get_args(ExportFormat)
BATCH = 2000

# The task kinds whose votes each format reads; None: every kind.
_PREFERENCE_KINDS = frozenset({TaskKind.pairwise, TaskKind.arena})
FORMAT_KINDS: dict[str, frozenset[TaskKind] | None] = {
    "pairwise": _PREFERENCE_KINDS,
    "votes": None,
    "ratings": frozenset({TaskKind.rating, TaskKind.pairwise}),
    "ratings-wide": frozenset({TaskKind.rating, TaskKind.pairwise}),
    "rankings": frozenset({TaskKind.ranking}),
    "ranking-pairs": frozenset({TaskKind.ranking}),
    "segments": frozenset({TaskKind.segment}),
    "dense": frozenset({TaskKind.segment}),
    "checklist": frozenset({TaskKind.checklist}),
    "thumbs": frozenset({TaskKind.single}),
    "listening": None,
    "distributions": _PREFERENCE_KINDS,
}


def formats_for(campaign: Campaign) -> list[str]:
    return [f for f, kinds in FORMAT_KINDS.items() if kinds is None or campaign.task_kind in kinds]


def check_format(session: Session, *, campaign: Campaign, fmt: str) -> None:
    """Raises Invalid when `fmt` is unknown or reads answers this campaign's task kind never asks."""
    fits = ", ".join(formats_for(campaign))
    if fmt not in FORMAT_KINDS:
        raise Invalid(f"unknown export format '{fmt}'; campaign '{campaign.slug}' exports as {fits}")
    kinds = FORMAT_KINDS[fmt]
    if kinds is not None and campaign.task_kind not in kinds:
        raise Invalid(
            f"campaign '{campaign.slug}' is a {campaign.task_kind.value} campaign and has no {fmt} data; "
            f"it exports as {fits}",
            field="format",
        )
    if fmt.startswith("ratings") and not tasks_service.rubric_versions(session, campaign_id=campaign.id):
        raise Invalid(
            f"campaign '{campaign.slug}' has no rubric, so its votes carry no ratings; it exports as "
            + ", ".join(f for f in formats_for(campaign) if not f.startswith("ratings")),
            field="format",
        )


def _side_flags(ctx: VoteContext) -> dict[str, list[str]]:
    sides = {o.public_id: "ab"[o.position] for o in ctx.shown[:2]}
    flags: dict[str, list[str]] = {"a": [], "b": []}
    for candidate, names in (ctx.vote.flags or {}).items():
        if candidate in sides:
            flags[sides[candidate]] = list(names)
    return flags


def iter_vote_rows(
    session: Session,
    *,
    campaign: Campaign,
    annotator_kind: UserKind | None = None,
    max_vote_id: int | None = None,
    data_only: bool = False,
    weights: dict[int, float] | None = None,
) -> Iterator[dict[str, Any]]:
    """One row per vote of any task kind: who (pseudonymous), what was shown in which order, and the
    A/B outcome when the kind asks one. B is null for one-output units; a ranking's order is in
    `shown_systems` (A and B are its first two). Gold and qualification items are in, flagged by
    `item_role` and scored in `gold_correct`; `weights` (annotator id: reliability) fills
    `annotator_weight`."""
    query = vote_query(
        campaign,
        annotator_kind=annotator_kind,
        max_vote_id=max_vote_id,
        data_only=data_only,
        with_answers=False,
    )
    weights = weights or {}
    slug = campaign.slug
    # Straight from the query's rows (loader.iter_votes' VoteContext and Outputs per vote cost a third
    # of this format's time at a million votes); the columns are those of loader.VoteRow.
    for batch in loader.iter_batches(session, campaign=campaign, query=query):
        candidates, media = batch.candidates, batch.media
        for row, order in zip(batch.rows, batch.orders, strict=True):
            (_, public_id, comparison_id, annotator_id, outcome, winner_id, loser_id, strength, rationale) = (
                row[:9]
            )
            shown = [candidates[candidate_id] for candidate_id in order]
            left = shown[0]
            right = shown[1] if len(order) > 1 else None
            winner_side = order.index(winner_id) if winner_id in order else None
            loser_side = order.index(loser_id) if loser_id in order else None
            flags_a: list[str] = []
            flags_b: list[str] = []
            flags = loader.small_json(row[9])
            if flags:
                sides = {c[0]: side for c, side in zip(shown[:2], "ab", strict=False)}
                for candidate, names in flags.items():
                    side = sides.get(candidate)
                    if side == "a":
                        flags_a = list(names)
                    elif side == "b":
                        flags_b = list(names)
            yield {
                "vote_id": public_id,
                "campaign": slug,
                "item_id": row[loader.ITEM_ID],
                "comparison_id": comparison_id,
                "prompt": row[loader.PROMPT],
                "annotator": row[loader.PSEUDONYM],
                "annotator_kind": row[loader.KIND].value,
                "outcome": outcome.value if outcome is not None else None,
                "winner_side": "ab"[winner_side] if winner_side is not None and winner_side < 2 else None,
                "winner_system": shown[winner_side][1] if winner_side is not None else None,
                "loser_system": shown[loser_side][1] if loser_side is not None else None,
                "shown_a_system": left[1],
                "shown_b_system": right[1] if right else None,
                "shown_a": left[2],
                "shown_b": right[2] if right else None,
                "shown_systems": [c[1] for c in shown],
                "shown_candidates": [c[0] for c in shown],
                "strength": strength,
                "rationale": rationale,
                "flags_a": flags_a,
                "flags_b": flags_b,
                "time_on_task_ms": row[11],
                "tags": list(loader.small_json(row[loader.TAGS]) or []),
                "created_at": row[13].isoformat(),
                "media_a": [f.sha256 for f in media.get(order[0], ())],
                "media_b": [f.sha256 for f in media.get(order[1], ())] if right else [],
                "item_role": row[loader.ROLE],
                "gold_correct": row[12],
                "annotator_weight": weights.get(annotator_id),
            }


def _with_media(
    session: Session, *, campaign: Campaign, rows: Result[Any], columns: tuple[int, int]
) -> Iterator[tuple[Row[Any], dict[int, list[str]]]]:
    """Each streamed row with the media digests of the candidates in its `columns` (candidate ids).

    Looked up once per streamed batch, so exports stay streaming; a text-only campaign skips it.
    """
    if not media_service.campaign_has_media(session, campaign_id=campaign.id):
        for row in rows:
            yield row, {}
        return
    for batch in rows.partitions():
        ids = [row[column] for row in batch for column in columns]
        media = media_service.sha256s_of_candidates(session, candidate_ids=ids)
        for row in batch:
            yield row, media


def list_vote_records(
    session: Session, *, campaign: Campaign, after: str | None, limit: int
) -> list[VoteRecord]:
    query = vote_query(campaign).limit(limit)
    if after is not None:
        after_id = session.scalar(
            select(Vote.id).where(Vote.public_id == after, Vote.campaign_id == campaign.id)
        )
        if after_id is None:
            raise NotFound(f"no vote '{after}' in campaign '{campaign.slug}'")
        query = query.where(Vote.id > after_id)
    records = []
    for ctx in iter_votes(session, campaign=campaign, query=query, stream=False):
        vote = ctx.vote
        winner, loser = ctx.output_by_id(vote.winner_candidate_id), ctx.output_by_id(vote.loser_candidate_id)
        systems = {o.public_id: o.system for o in ctx.shown}
        records.append(
            VoteRecord(
                id=vote.public_id,
                item_id=ctx.item_id,
                comparison_id=vote.comparison_id,
                annotator=ctx.annotator,
                annotator_kind=ctx.annotator_kind,  # type: ignore[arg-type]
                outcome=vote.outcome.value if vote.outcome is not None else None,
                winner_system=winner.system if winner else None,
                loser_system=loser.system if loser else None,
                shown_a_system=ctx.shown[0].system,
                shown_b_system=ctx.shown[1].system if len(ctx.shown) > 1 else None,
                strength=vote.strength,
                rationale=vote.rationale,
                flags={systems[c]: names for c, names in (vote.flags or {}).items() if c in systems},
                time_on_task_ms=vote.time_on_task_ms,
                created_at=vote.created_at,
            )
        )
    return records


def _tallies(
    session: Session,
    *,
    campaign: Campaign,
    annotator_kind: UserKind | None,
    max_vote_id: int | None,
    data_only: bool,
) -> Iterator[tuple[Row[Any], dict[int, list[str]]]]:
    """Per pair comparison (in id order): outcome counts relative to its own candidate order, mean
    strengths, the item and both candidates; with the candidates' media digests."""
    wins_a = func.sum(case((Vote.winner_candidate_id == Comparison.candidate_a_id, 1), else_=0))
    wins_b = func.sum(case((Vote.winner_candidate_id == Comparison.candidate_b_id, 1), else_=0))
    ties = func.sum(case((Vote.outcome == Outcome.tie, 1), else_=0))
    both_bad = func.sum(case((Vote.outcome == Outcome.both_bad, 1), else_=0))
    strength_a = func.avg(case((Vote.winner_candidate_id == Comparison.candidate_a_id, Vote.strength)))
    strength_b = func.avg(case((Vote.winner_candidate_id == Comparison.candidate_b_id, Vote.strength)))
    conditions = [
        Vote.campaign_id == campaign.id,
        Vote.outcome.is_not(None),
        Comparison.candidate_b_id.is_not(None),
        # Human preferences by default; LM-judge votes are in the votes export, marked.
        User.kind == (annotator_kind or UserKind.human),
    ]
    if max_vote_id is not None:
        conditions.append(Vote.id <= max_vote_id)
    if data_only:
        conditions.append(Comparison.item_id.in_(select(Item.id).where(Item.role == "data")))
    tallies = (
        select(
            Vote.comparison_id.label("comparison_id"),
            func.count().label("n"),
            wins_a.label("wins_a"),
            wins_b.label("wins_b"),
            ties.label("ties"),
            both_bad.label("both_bad"),
            strength_a.label("strength_a"),
            strength_b.label("strength_b"),
        )
        .join(Comparison, Comparison.id == Vote.comparison_id)
        .join(User, User.id == Vote.annotator_id)
        .where(*conditions)
        .group_by(Vote.comparison_id)
        .subquery()
    )
    first, second = aliased(Candidate), aliased(Candidate)
    query = (
        select(
            tallies,
            Item.external_id,
            Item.prompt,
            Item.tags,
            first.system.label("first_system"),
            first.content.label("first_content"),
            second.system.label("second_system"),
            second.content.label("second_content"),
            first.id.label("first_id"),
            second.id.label("second_id"),
        )
        .join(Comparison, Comparison.id == tallies.c.comparison_id)
        .join(Item, Item.id == Comparison.item_id)
        .join(first, first.id == Comparison.candidate_a_id)
        .join(second, second.id == Comparison.candidate_b_id)
        .order_by(tallies.c.comparison_id)
        .execution_options(yield_per=BATCH)
    )
    rows = session.execute(query)
    yield from _with_media(session, campaign=campaign, rows=rows, columns=(-2, -1))


def iter_pairwise_rows(
    session: Session,
    *,
    campaign: Campaign,
    annotator_kind: UserKind | None = None,
    max_vote_id: int | None = None,
    data_only: bool = True,
) -> Iterator[dict[str, Any]]:
    """One row per comparison whose votes name a winner by strict plurality over every outcome.

    Only votes with an A/B outcome count (not ratings of a pair, nor per-window answers). Ties and
    both-bad votes count toward `n_votes` and against `agreement` but never become a pair. People's
    votes by default; `annotator_kind="model"` gives the LM judges' majorities instead.
    """
    tallies = _tallies(
        session,
        campaign=campaign,
        annotator_kind=annotator_kind,
        max_vote_id=max_vote_id,
        data_only=data_only,
    )
    for row, media in tallies:
        wins_a_n, wins_b_n = int(row.wins_a or 0), int(row.wins_b or 0)
        best_other = max(int(row.ties or 0), int(row.both_bad or 0))
        if wins_a_n > max(wins_b_n, best_other):
            chosen, rejected, wins, strength = (
                (row.first_system, row.first_content, row.first_id),
                (row.second_system, row.second_content, row.second_id),
                wins_a_n,
                row.strength_a,
            )
        elif wins_b_n > max(wins_a_n, best_other):
            chosen, rejected, wins, strength = (
                (row.second_system, row.second_content, row.second_id),
                (row.first_system, row.first_content, row.first_id),
                wins_b_n,
                row.strength_b,
            )
        else:
            continue
        yield {
            "prompt": row.prompt,
            "chosen": chosen[1],
            "rejected": rejected[1],
            "chosen_system": chosen[0],
            "rejected_system": rejected[0],
            "strength": round(float(strength), 4) if strength is not None else None,
            "n_votes": int(row.n),
            "agreement": round(wins / int(row.n), 4),
            "item_id": row.external_id,
            "comparison_id": row.comparison_id,
            "tags": list(row.tags or []),
            "chosen_media": media.get(chosen[2], []),
            "rejected_media": media.get(rejected[2], []),
        }


DISTRIBUTION_OUTCOMES = ("first", "second", "tie", "both_bad")


def iter_distribution_rows(
    session: Session,
    *,
    campaign: Campaign,
    annotator_kind: UserKind | None = None,
    max_vote_id: int | None = None,
    data_only: bool = True,
) -> Iterator[dict[str, Any]]:
    """One row per pair comparison with at least one A/B vote: how many votes went each way (first and
    second in the comparison's own order, not the side shown), their shares, and the strict plurality
    (null when there is none), so a trainer can use soft labels instead of majorities."""
    tallies = _tallies(
        session,
        campaign=campaign,
        annotator_kind=annotator_kind,
        max_vote_id=max_vote_id,
        data_only=data_only,
    )
    for row, media in tallies:
        n = int(row.n)
        counts = dict(
            zip(
                DISTRIBUTION_OUTCOMES,
                (int(row.wins_a or 0), int(row.wins_b or 0), int(row.ties or 0), int(row.both_bad or 0)),
                strict=True,
            )
        )
        top = max(counts.values())
        leaders = [name for name, count in counts.items() if count == top]
        yield {
            "prompt": row.prompt,
            "first": row.first_content,
            "second": row.second_content,
            "first_system": row.first_system,
            "second_system": row.second_system,
            **{f"n_{name}": count for name, count in counts.items()},
            "n_votes": n,
            **{f"share_{name}": round(count / n, 4) for name, count in counts.items()},
            "majority": leaders[0] if len(leaders) == 1 else None,
            "mean_strength_first": round(float(row.strength_a), 4) if row.strength_a is not None else None,
            "mean_strength_second": round(float(row.strength_b), 4) if row.strength_b is not None else None,
            "item_id": row.external_id,
            "comparison_id": row.comparison_id,
            "tags": list(row.tags or []),
            "first_media": media.get(row.first_id, []),
            "second_media": media.get(row.second_id, []),
        }


RowBuilder = Callable[..., Iterator[dict[str, Any]]]
BUILDERS: dict[str, RowBuilder] = {
    "pairwise": iter_pairwise_rows,
    "votes": iter_vote_rows,
    "ratings": task_rows.iter_rating_rows,
    "ratings-wide": task_rows.iter_rating_wide_rows,
    "rankings": task_rows.iter_ranking_rows,
    "ranking-pairs": task_rows.iter_ranking_pair_rows,
    "segments": task_rows.iter_segment_rows,
    "dense": task_rows.iter_dense_rows,
    "checklist": task_rows.iter_checklist_rows,
    "thumbs": task_rows.iter_thumb_rows,
    "listening": task_rows.iter_listening_rows,
    "distributions": iter_distribution_rows,
}


def iter_rows(
    session: Session,
    *,
    campaign: Campaign,
    fmt: ExportFormat,
    annotator_kind: UserKind | None = None,
    max_vote_id: int | None = None,
    include_gold: bool = False,
    weights: dict[int, float] | None = None,
) -> Iterator[dict[str, Any]]:
    """The rows of one format; call `check_format` first for a clear refusal of a misfit.

    `max_vote_id` limits every format to a snapshot; gold and qualification items are left out of
    every format but `votes` (where they are flagged) unless `include_gold`."""
    if fmt == "votes":
        return iter_vote_rows(
            session,
            campaign=campaign,
            annotator_kind=annotator_kind,
            max_vote_id=max_vote_id,
            weights=weights,
        )
    return BUILDERS[fmt](
        session,
        campaign=campaign,
        annotator_kind=annotator_kind,
        max_vote_id=max_vote_id,
        data_only=not include_gold,
    )


def agreement_summary(
    session: Session, *, campaign: Campaign, max_vote_id: int | None = None
) -> dict[str, float | int | None]:
    """Percent agreement between pairs of annotators and Krippendorff's alpha (nominal).

    Alpha follows Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": from the
    coincidence matrix of values within each unit, alpha = 1 - D_o / D_e, counting only units with at
    least two values. Units are comparisons, values the outcome codes of app.exports.outcomes, counted
    per unit with numpy (a million votes in well under a second, in bounded memory).
    """
    comparison, _, code = outcome_arrays(session, campaign=campaign, max_vote_id=max_vote_id)
    return agreement_of(comparison, code)


def agreement_of(comparison: np.ndarray, code: np.ndarray) -> dict[str, float | int | None]:
    """agreement_summary on outcome_arrays' comparison ids and codes (a release reads them once for
    this and the reliability fit)."""
    n_values = len(CODES)
    _, unit = np.unique(comparison, return_inverse=True)
    n_units = int(unit.max()) + 1 if unit.size else 0
    counts = np.bincount(unit * n_values + code, minlength=n_units * n_values).reshape(n_units, n_values)
    del unit
    m = counts.sum(axis=1)
    counts, m = counts[m >= 2], m[m >= 2]
    units = int(m.size)
    # o_ck = sum over units of n_c (n_k - [c == k]) / (m - 1)
    share = counts / (m - 1)[:, None].astype(float)
    coincidences = counts.T.astype(float) @ share - np.diag(share.sum(axis=0))
    agreeing_pairs = int((counts * (counts - 1) // 2).sum())
    total_pairs = int((m * (m - 1) // 2).sum())
    n_total = float(coincidences.sum())
    marginals = coincidences.sum(axis=1)
    observed = n_total - float(np.trace(coincidences))
    # alpha = 1 - (n - 1) * sum_{c != k} o_ck / sum_{c != k} n_c * n_k
    disagreeing_by_chance = n_total * n_total - float(marginals @ marginals)
    alpha = (
        None if disagreeing_by_chance <= 0 else round(1 - (n_total - 1) * observed / disagreeing_by_chance, 4)
    )
    return {
        "units_with_2plus_votes": units,
        "pairwise_agreement": round(agreeing_pairs / total_pairs, 4) if total_pairs else None,
        "krippendorff_alpha_nominal": alpha,
    }
