"""A campaign's votes as reward-model training pairs (plain dicts; the trainer under workers/ turns
them into tensors). Ties and both-bad votes carry no preference and are left out."""

import hashlib
import json
from collections.abc import Iterator
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from app.auth.models import User, UserKind
from app.campaigns.models import Campaign
from app.items.models import Candidate, Comparison, Item
from app.quality.service import annotator_weights
from app.voting.models import Outcome, Vote

_winner, _loser = aliased(Candidate), aliased(Candidate)
# The trainer divides by a batch's summed weights: a batch of spammer pairs at weight 0 would be 0/0.
RELIABILITY_FLOOR = 0.05


def strength_weight(strength: int | None) -> float:
    """Stronger preferences count more: unsure 0.5, slightly 1, clearly 1.5, much better 2."""
    return 1.0 if strength is None else 0.5 + 0.5 * strength


def iter_preference_pairs(
    session: Session,
    *,
    campaign: Campaign,
    weight_by_strength: bool = False,
    include_judge: bool = False,
    judge_weight: float = 0.5,
    weighting: Literal["none", "reliability"] = "none",
) -> Iterator[dict[str, Any]]:
    """Human preference votes, and LM-judge votes (annotators of kind model) only when asked, each
    weighted by judge_weight on top of any strength weight; `source` says which a pair is.

    `weighting="reliability"` also multiplies each human vote by its annotator's Dawid-Skene weight
    (`quality.service.annotator_weights`, fitted on the people's votes alone), so a spammer's pairs
    count for little (RELIABILITY_FLOOR).
    """
    kinds = [UserKind.human, UserKind.model] if include_judge else [UserKind.human]
    reliability = (
        annotator_weights(session, campaign=campaign, human_only=True) if weighting == "reliability" else {}
    )
    rows = session.execute(
        select(
            Item.external_id,
            Item.prompt,
            _winner.content,
            _loser.content,
            Vote.strength,
            User.kind,
            Vote.annotator_id,
        )
        .join(_winner, _winner.id == Vote.winner_candidate_id)
        .join(_loser, _loser.id == Vote.loser_candidate_id)
        .join(Item, Item.id == _winner.item_id)
        .join(User, User.id == Vote.annotator_id)
        .where(Vote.campaign_id == campaign.id, Vote.outcome == Outcome.preference, User.kind.in_(kinds))
        .order_by(Vote.id)
        .execution_options(yield_per=2000)
    )
    for item_id, prompt, chosen, rejected, strength, kind, annotator_id in rows:
        weight = strength_weight(strength) if weight_by_strength else 1.0
        if kind == UserKind.model:
            weight *= judge_weight
        elif weighting == "reliability":
            weight *= max(reliability.get(annotator_id, 1.0), RELIABILITY_FLOOR)
        yield {
            "prompt": prompt,
            "chosen": chosen,
            "rejected": rejected,
            "weight": weight,
            "source": kind.value,
            "group": item_id,
        }


def has_ratings(session: Session, *, campaign: Campaign) -> bool:
    """Whether any vote of the campaign rated outputs on a rubric (a vote with ratings records one)."""
    return bool(
        session.scalar(
            select(Vote.id).where(Vote.campaign_id == campaign.id, Vote.rubric_id.is_not(None)).limit(1)
        )
    )


def iter_rated_responses(
    session: Session, *, campaign: Campaign, include_judge: bool = False
) -> Iterator[dict[str, Any]]:
    """One row per vote and rated output: {"prompt", "response", "ratings": {aspect: value}}, for the
    regression and joint heads. Human votes; LM-judge votes only when asked."""
    kinds = [UserKind.human, UserKind.model] if include_judge else [UserKind.human]
    votes = session.execute(
        select(Vote.answer, Item.prompt)
        .join(User, User.id == Vote.annotator_id)
        .join(Comparison, Comparison.id == Vote.comparison_id)
        .join(Item, Item.id == Comparison.item_id)
        .where(Vote.campaign_id == campaign.id, Vote.rubric_id.is_not(None), User.kind.in_(kinds))
        .order_by(Vote.id)
    ).all()
    wanted = {candidate for answer, _ in votes for candidate in (answer or {}).get("ratings", {})}
    texts = {
        public_id: content
        for public_id, content in session.execute(
            select(Candidate.public_id, Candidate.content).where(Candidate.public_id.in_(wanted))
        )
    }
    for answer, prompt in votes:
        for candidate, ratings in answer["ratings"].items():
            yield {
                "prompt": prompt,
                "response": texts[candidate],
                "ratings": {aspect: float(value) for aspect, value in ratings.items()},
            }


def preference_votes_by_kind(session: Session, *, campaign: Campaign) -> dict[str, int]:
    """{"human": n, "model": n}: how many preference votes each kind of annotator gave."""
    rows = session.execute(
        select(User.kind, func.count())
        .select_from(Vote)
        .join(User, User.id == Vote.annotator_id)
        .where(Vote.campaign_id == campaign.id, Vote.outcome == Outcome.preference)
        .group_by(User.kind)
    ).all()
    counts = {kind.value: 0 for kind in UserKind}
    counts.update({kind.value: int(n) for kind, n in rows})
    return counts


def snapshot(pairs: list[dict[str, Any]]) -> dict[str, Any]:
    """What a model was trained on, to compare versions: counts and a hash of the votes in order."""
    digest = hashlib.sha256()
    for pair in pairs:
        # Weights follow from the training settings, not the votes: two versions trained on the same
        # votes with and without strength weights share a hash.
        vote = {key: value for key, value in pair.items() if key != "weight"}
        digest.update(json.dumps(vote, sort_keys=True, ensure_ascii=False).encode())
    return {
        "n_pairs": len(pairs),
        "n_human": sum(1 for p in pairs if p["source"] == "human"),
        "n_model": sum(1 for p in pairs if p["source"] == "model"),
        "n_items": len({p["group"] for p in pairs}),
        "sha256": digest.hexdigest(),
    }
