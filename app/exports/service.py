"""Rows for exports and the votes API: every vote with provenance, and per-comparison majorities.

Rows are produced by streaming queries (`yield_per`), so exports do not hold a campaign in memory.
"""

from collections import Counter
from collections.abc import Iterator
from typing import Any, Literal

from sqlalchemy import Result, Row, Select, case, func, select
from sqlalchemy.orm import Session, aliased

from app.auth.models import User, UserKind
from app.campaigns.models import Campaign
from app.errors import NotFound
from app.items.models import Candidate, Comparison, Item
from app.media import service as media_service
from app.voting.models import Assignment, Outcome, Vote
from app.voting.schemas import VoteRecord

ExportFormat = Literal["pairwise", "votes"]
BATCH = 2000

_winner, _loser = aliased(Candidate), aliased(Candidate)
_left, _right = aliased(Candidate), aliased(Candidate)


def _vote_query(campaign: Campaign) -> Select[Any]:
    return (
        select(
            Vote,
            Item.external_id,
            Item.prompt,
            Item.tags,
            User.pseudonym,
            User.kind,
            _winner.system,
            _loser.system,
            _left.system,
            _right.system,
            _left.public_id,
            _right.public_id,
            _left.content,
            _right.content,
            _left.id,
            _right.id,
        )
        .join(Assignment, Assignment.id == Vote.assignment_id)
        .join(Comparison, Comparison.id == Vote.comparison_id)
        .join(Item, Item.id == Comparison.item_id)
        .join(User, User.id == Vote.annotator_id)
        .join(_left, _left.id == Assignment.left_candidate_id)
        .join(_right, _right.id == Assignment.right_candidate_id)
        .outerjoin(_winner, _winner.id == Vote.winner_candidate_id)
        .outerjoin(_loser, _loser.id == Vote.loser_candidate_id)
        .where(Vote.campaign_id == campaign.id)
        .order_by(Vote.id)
    )


def iter_vote_rows(session: Session, *, campaign: Campaign) -> Iterator[dict[str, Any]]:
    """One row per vote: who (pseudonymous), what was shown in which order, and what they chose."""
    rows = session.execute(_vote_query(campaign).execution_options(yield_per=BATCH))
    for (
        vote,
        item_id,
        prompt,
        tags,
        annotator,
        annotator_kind,
        winner,
        loser,
        left,
        right,
        left_id,
        right_id,
        left_content,
        right_content,
        left_pk,
        right_pk,
    ), media in _with_media(session, campaign=campaign, rows=rows, columns=(-2, -1)):
        by_side = {left_id: "a", right_id: "b"}
        flags = {side: [] for side in ("a", "b")}
        for candidate, names in (vote.flags or {}).items():
            if candidate in by_side:
                flags[by_side[candidate]] = list(names)
        yield {
            "vote_id": vote.public_id,
            "campaign": campaign.slug,
            "item_id": item_id,
            "comparison_id": vote.comparison_id,
            "prompt": prompt,
            "annotator": annotator,
            "annotator_kind": annotator_kind.value,
            "outcome": vote.outcome.value,
            "winner_side": _winner_side(vote, left_pk),
            "winner_system": winner,
            "loser_system": loser,
            "shown_a_system": left,
            "shown_b_system": right,
            "shown_a": left_content,
            "shown_b": right_content,
            "strength": vote.strength,
            "rationale": vote.rationale,
            "flags_a": flags["a"],
            "flags_b": flags["b"],
            "time_on_task_ms": vote.time_on_task_ms,
            "tags": list(tags or []),
            "created_at": vote.created_at.isoformat(),
            "media_a": media.get(left_pk, []),
            "media_b": media.get(right_pk, []),
        }


def _winner_side(vote: Vote, left_pk: int) -> str | None:
    """ "a" or "b" as this annotator saw them; a system name cannot say it when both sides share one."""
    if vote.winner_candidate_id is None:
        return None
    return "a" if vote.winner_candidate_id == left_pk else "b"


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
    query = _vote_query(campaign).limit(limit)
    if after is not None:
        after_id = session.scalar(
            select(Vote.id).where(Vote.public_id == after, Vote.campaign_id == campaign.id)
        )
        if after_id is None:
            raise NotFound(f"no vote '{after}' in campaign '{campaign.slug}'")
        query = query.where(Vote.id > after_id)
    records = []
    for (
        vote,
        item_id,
        _prompt,
        _tags,
        annotator,
        annotator_kind,
        winner,
        loser,
        left,
        right,
        left_id,
        right_id,
        _lc,
        _rc,
        _left_pk,
        _right_pk,
    ) in session.execute(query):
        systems = {left_id: left, right_id: right}
        records.append(
            VoteRecord(
                id=vote.public_id,
                item_id=item_id,
                comparison_id=vote.comparison_id,
                annotator=annotator,
                annotator_kind=annotator_kind.value,
                outcome=vote.outcome.value,
                winner_system=winner,
                loser_system=loser,
                shown_a_system=left,
                shown_b_system=right,
                strength=vote.strength,
                rationale=vote.rationale,
                flags={systems[c]: names for c, names in (vote.flags or {}).items() if c in systems},
                time_on_task_ms=vote.time_on_task_ms,
                created_at=vote.created_at,
            )
        )
    return records


def iter_pairwise_rows(session: Session, *, campaign: Campaign) -> Iterator[dict[str, Any]]:
    """One row per comparison whose votes name a winner by strict plurality over every outcome.

    Ties and both-bad votes count toward `n_votes` and against `agreement` but never become a pair.
    """
    wins_a = func.sum(case((Vote.winner_candidate_id == Comparison.candidate_a_id, 1), else_=0))
    wins_b = func.sum(case((Vote.winner_candidate_id == Comparison.candidate_b_id, 1), else_=0))
    ties = func.sum(case((Vote.outcome == Outcome.tie, 1), else_=0))
    both_bad = func.sum(case((Vote.outcome == Outcome.both_bad, 1), else_=0))
    strength_a = func.avg(case((Vote.winner_candidate_id == Comparison.candidate_a_id, Vote.strength)))
    strength_b = func.avg(case((Vote.winner_candidate_id == Comparison.candidate_b_id, Vote.strength)))
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
        # The pairwise dataset is human preferences; LM-judge votes are in the votes export, marked.
        .where(Vote.campaign_id == campaign.id, User.kind == UserKind.human)
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
    for row, media in _with_media(session, campaign=campaign, rows=rows, columns=(-2, -1)):
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


def iter_rows(session: Session, *, campaign: Campaign, fmt: ExportFormat) -> Iterator[dict[str, Any]]:
    if fmt == "pairwise":
        return iter_pairwise_rows(session, campaign=campaign)
    return iter_vote_rows(session, campaign=campaign)


def outcome_labels_by_comparison(session: Session, *, campaign: Campaign) -> Iterator[tuple[int, str]]:
    """(comparison id, outcome relative to the comparison's own candidate order) for every vote."""
    label = case(
        (Vote.winner_candidate_id == Comparison.candidate_a_id, "first"),
        (Vote.winner_candidate_id == Comparison.candidate_b_id, "second"),
        else_=Vote.outcome,
    )
    query = (
        select(Vote.comparison_id, label)
        .join(Comparison, Comparison.id == Vote.comparison_id)
        .where(Vote.campaign_id == campaign.id)
        .order_by(Vote.comparison_id)
        .execution_options(yield_per=BATCH * 5)
    )
    for comparison_id, outcome in session.execute(query):
        yield comparison_id, str(outcome)


def agreement_summary(session: Session, *, campaign: Campaign) -> dict[str, float | int | None]:
    """Percent agreement between pairs of annotators and Krippendorff's alpha (nominal).

    Alpha follows Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": from the
    coincidence matrix of values within each unit, alpha = 1 - D_o / D_e, counting only units with at
    least two values.
    """
    coincidences: Counter[tuple[str, str]] = Counter()
    agreeing_pairs = total_pairs = units = 0
    current: int | None = None
    values: list[str] = []

    def close_unit() -> None:
        nonlocal agreeing_pairs, total_pairs, units
        m = len(values)
        if m < 2:
            return
        units += 1
        counts = Counter(values)
        for a, na in counts.items():
            for b, nb in counts.items():
                pairs = na * (nb - 1) if a == b else na * nb
                coincidences[(a, b)] += pairs / (m - 1)
        agreeing_pairs += sum(n * (n - 1) // 2 for n in counts.values())
        total_pairs += m * (m - 1) // 2

    for comparison_id, outcome in outcome_labels_by_comparison(session, campaign=campaign):
        if comparison_id != current:
            close_unit()
            current, values = comparison_id, []
        values.append(outcome)
    close_unit()

    n_total = sum(coincidences.values())
    marginals: Counter[str] = Counter()
    for (a, _b), weight in coincidences.items():
        marginals[a] += weight
    observed = sum(w for (a, b), w in coincidences.items() if a != b)
    # alpha = 1 - (n - 1) * sum_{c != k} o_ck / sum_{c != k} n_c * n_k
    disagreeing_by_chance = n_total * n_total - sum(v * v for v in marginals.values())
    alpha = (
        None if disagreeing_by_chance <= 0 else round(1 - (n_total - 1) * observed / disagreeing_by_chance, 4)
    )
    return {
        "units_with_2plus_votes": units,
        "pairwise_agreement": round(agreeing_pairs / total_pairs, 4) if total_pairs else None,
        "krippendorff_alpha_nominal": alpha,
    }
