"""A campaign's selection settings (stored in `campaign.selection`, non-default fields only)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.campaigns.models import Campaign


class SelectionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    strategy: Literal["ordered", "uniform", "active"] = Field(
        "ordered",
        description="ordered: priority, then import order; uniform: a random open system pair; active: "
        "the pair whose next vote tells most about the ranking of the systems",
    )
    target: Literal["systems", "reward_data"] = Field(
        "systems",
        description="active: rank the systems (pick system pairs), or gather reward-model data (the "
        "active reward model's uncertain, uncovered pairs first, set as priorities by a job)",
    )
    # The criteria of app/selection/ranking.py (CRITERIA).
    criterion: Literal["ranking", "information", "interval"] = Field(
        "ranking", description="active: what a vote is worth (see app/selection/ranking.py)"
    )
    uniform_fraction: float = Field(0.1, ge=0.0, le=1.0, description="active: share of uniform picks")
    min_per_pair: int = Field(0, ge=0, le=1_000, description="votes every system pair gets first")
    refresh_s: float = Field(
        2.0, ge=0.0, le=3_600, description="how stale the vote counts behind a pick may be, per process"
    )


def picks_system_pairs(config: SelectionConfig) -> bool:
    """Whether the assignment service picks a system pair per lease (else it follows priorities)."""
    return config.strategy == "uniform" or (config.strategy == "active" and config.target == "systems")


def prioritises_reward_data(config: SelectionConfig) -> bool:
    return config.strategy == "active" and config.target == "reward_data"


def selection_config(campaign: Campaign) -> SelectionConfig:
    return SelectionConfig.model_validate(campaign.selection or {})


def stored_selection(config: SelectionConfig) -> dict[str, object]:
    return config.model_dump(mode="json", exclude_defaults=True)
