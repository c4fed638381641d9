"""A campaign's votes as reward-model training pairs (plain dicts; the trainer under workers/ turns
them into tensors). Ties and both-bad votes carry no preference and are left out."""

import hashlib
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from app.campaigns.models import Campaign
from app.items.models import Candidate, Item
from app.voting.models import Outcome, Vote

_winner, _loser = aliased(Candidate), aliased(Candidate)


def strength_weight(strength: int | None) -> float:
    """Stronger preferences count more: unsure 0.5, slightly 1, clearly 1.5, much better 2."""
    return 1.0 if strength is None else 0.5 + 0.5 * strength


def iter_preference_pairs(
    session: Session, *, campaign: Campaign, weight_by_strength: bool = False
) -> Iterator[dict[str, Any]]:
    rows = session.execute(
        select(Item.external_id, Item.prompt, _winner.content, _loser.content, Vote.strength)
        .join(_winner, _winner.id == Vote.winner_candidate_id)
        .join(_loser, _loser.id == Vote.loser_candidate_id)
        .join(Item, Item.id == _winner.item_id)
        .where(Vote.campaign_id == campaign.id, Vote.outcome == Outcome.preference)
        .order_by(Vote.id)
        .execution_options(yield_per=2000)
    )
    for item_id, prompt, chosen, rejected, strength in rows:
        yield {
            "prompt": prompt,
            "chosen": chosen,
            "rejected": rejected,
            "weight": strength_weight(strength) if weight_by_strength else 1.0,
            # Every vote here is a person's; LM-judge labels (a later kind of annotator) will say "model".
            "source": "human",
            "group": item_id,
        }


def snapshot(pairs: list[dict[str, Any]]) -> dict[str, Any]:
    """What a model was trained on, to compare versions: counts and a hash of the pairs in order."""
    digest = hashlib.sha256()
    for pair in pairs:
        digest.update(json.dumps(pair, sort_keys=True, ensure_ascii=False).encode())
    return {
        "n_pairs": len(pairs),
        "n_items": len({p["group"] for p in pairs}),
        "sha256": digest.hexdigest(),
    }
