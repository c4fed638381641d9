"""A campaign's task settings, read with their defaults filled in."""

from app.campaigns.models import Campaign
from app.tasks.schemas import TaskConfig


def task_config(campaign: Campaign) -> TaskConfig:
    return TaskConfig.model_validate(campaign.task_config or {})


def stored_config(config: TaskConfig) -> dict[str, object]:
    """Only what differs from the defaults, so a campaign that changes nothing stores {} (the fast
    path serves only those)."""
    return config.model_dump(mode="json", exclude_defaults=True)
