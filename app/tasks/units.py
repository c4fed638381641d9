"""Which candidates of an item make one unit of work, by task kind."""

from app.campaigns.models import Campaign, TaskKind
from app.items.models import pair_key
from app.tasks.config import task_config


def unit_size(campaign: Campaign) -> str:
    """'pair', 'one' or 'all' (every candidate of the item, for rankings)."""
    kind = campaign.task_kind
    if kind in (TaskKind.pairwise, TaskKind.arena):
        return "pair"
    config = task_config(campaign)
    if kind == TaskKind.ranking:
        return "all"
    if kind == TaskKind.rating:
        return "pair" if config.rate == "pair" else "one"
    if kind == TaskKind.segment:
        return "pair" if config.segment_mode == "windows" else "one"
    return "one"


def units(campaign: Campaign, *, n_candidates: int, pairs: list[tuple[int, int]]) -> list[tuple[int, ...]]:
    """Units as tuples of candidate indices; raises ValueError when the item cannot make one."""
    size = unit_size(campaign)
    if size == "one":
        return [(i,) for i in range(n_candidates)]
    if size == "all":
        limit = task_config(campaign).max_ranked
        if not 2 <= n_candidates <= limit:
            raise ValueError(f"a ranking orders 2 to {limit} candidates; this item has {n_candidates}")
        return [tuple(range(n_candidates))]
    if n_candidates < 2:
        raise ValueError(f"a {campaign.task_kind.value} task compares two candidates; this item has one")
    return list(pairs)


def comparison_row(
    *, campaign: Campaign, item_id: int, candidate_ids: list[int], systems: list[str], priority: int
) -> dict[str, object]:
    """The insert row of one unit whose candidates are `candidate_ids` (already in order), made by
    `systems`."""
    return {
        "campaign_id": campaign.id,
        "item_id": item_id,
        "candidate_a_id": candidate_ids[0],
        "candidate_b_id": candidate_ids[1] if len(candidate_ids) > 1 else None,
        "members": list(candidate_ids) if len(candidate_ids) > 2 else None,
        "pair_key": pair_key(*systems) if len(systems) == 2 else None,
        "open_slots": campaign.overlap,
        "vote_count": 0,
        "priority": priority,
    }
