"""Campaign lifecycle and progress. No HTTP here; callers commit."""

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from app.auth.models import User
from app.campaigns.models import DEFAULT_SIDE_FLAGS, Campaign, CampaignStatus
from app.campaigns.schemas import CampaignCreate, CampaignProgress, CampaignUpdate
from app.errors import Conflict, Invalid, NotFound
from app.items.models import Comparison, Item
from app.selection import live as selection_live
from app.selection.config import SelectionConfig, stored_selection
from app.tasks import service as tasks_service
from app.tasks.config import stored_config, task_config
from app.tasks.schemas import TaskConfig
from app.voting.models import Vote


def create_campaign(session: Session, *, data: CampaignCreate, created_by: User | None) -> Campaign:
    if session.scalar(select(Campaign.id).where(Campaign.slug == data.slug)) is not None:
        raise Conflict(f"a campaign with slug '{data.slug}' already exists", field="slug")
    fields = data.model_dump(exclude={"task_config", "rubric", "selection"})
    fields["side_flags"] = (
        _clean_flags(data.side_flags) if data.side_flags is not None else list(DEFAULT_SIDE_FLAGS)
    )
    campaign = Campaign(
        **fields,
        task_config=stored_config(data.task_config),
        selection=stored_selection(data.selection),
        created_by_id=created_by.id if created_by else None,
    )
    session.add(campaign)
    session.flush()
    rubric = data.rubric or tasks_service.default_rubric(campaign)
    if rubric is not None:
        tasks_service.set_rubric(session, campaign=campaign, spec=rubric)
    return campaign


_CAMPAIGN_BY_SLUG = select(Campaign).where(Campaign.slug == bindparam("slug"))


def get_campaign(session: Session, *, slug: str) -> Campaign:
    campaign = session.scalar(_CAMPAIGN_BY_SLUG, {"slug": slug})
    if campaign is None:
        raise NotFound(f"no campaign '{slug}'")
    return campaign


def list_campaigns(session: Session, *, statuses: list[CampaignStatus] | None = None) -> list[Campaign]:
    query = select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc())
    if statuses:
        query = query.where(Campaign.status.in_(statuses))
    return list(session.scalars(query))


def update_campaign(session: Session, *, campaign: Campaign, data: CampaignUpdate) -> Campaign:
    changes = data.model_dump(exclude_unset=True)
    if "side_flags" in changes and changes["side_flags"] is not None:
        changes["side_flags"] = _clean_flags(changes["side_flags"])
    new_config = changes.pop("task_config", None)
    if new_config is not None:
        _change_task_config(session, campaign=campaign, config=TaskConfig.model_validate(new_config))
    new_selection = changes.pop("selection", None)
    if new_selection is not None:
        campaign.selection = stored_selection(SelectionConfig.model_validate(new_selection))
        selection_live.forget(campaign.id)
    new_overlap = changes.pop("overlap", None)
    if new_overlap is not None and new_overlap != campaign.overlap:
        _change_overlap(session, campaign=campaign, overlap=new_overlap)
    for name, value in changes.items():
        if value is None:
            raise Invalid(f"{name} cannot be null", field=name)
        setattr(campaign, name, value)
    session.flush()
    return campaign


# These decide which candidates make a unit of work, so they hold once units exist.
_UNIT_SETTINGS = ("rate", "segment_mode", "max_ranked")


def _change_task_config(session: Session, *, campaign: Campaign, config: TaskConfig) -> None:
    current = task_config(campaign)
    changed = [name for name in _UNIT_SETTINGS if getattr(config, name) != getattr(current, name)]
    if changed and session.scalar(select(Item.id).where(Item.campaign_id == campaign.id).limit(1)):
        raise Conflict(
            f"task_config.{changed[0]} decides how items were split into tasks; it cannot change once "
            "items are imported (make a new campaign)",
            field=f"task_config.{changed[0]}",
        )
    campaign.task_config = stored_config(config)


def _change_overlap(session: Session, *, campaign: Campaign, overlap: int) -> None:
    # Open slots are stored per comparison, so a new overlap shifts each of them by the difference; a
    # lower overlap may not go below what was already handed out.
    delta = overlap - campaign.overlap
    # Gold and qualification units have no open slots (app.qc hands them to everyone): left alone.
    data_items = select(Item.id).where(Item.campaign_id == campaign.id, Item.role == "data")
    if delta < 0:
        most_taken = session.scalar(
            select(func.max(campaign.overlap - Comparison.open_slots)).where(
                Comparison.campaign_id == campaign.id, Comparison.item_id.in_(data_items)
            )
        )
        if most_taken is not None and most_taken > overlap:
            raise Conflict(
                f"overlap cannot drop to {overlap}: some comparisons already have {most_taken} annotators",
                field="overlap",
            )
    session.execute(
        update(Comparison)
        .where(Comparison.campaign_id == campaign.id, Comparison.item_id.in_(data_items))
        .values(open_slots=Comparison.open_slots + delta)
    )
    campaign.overlap = overlap


def delete_campaign(session: Session, *, campaign: Campaign) -> None:
    if session.scalar(select(Vote.id).where(Vote.campaign_id == campaign.id).limit(1)) is not None:
        raise Conflict(f"campaign '{campaign.slug}' has votes; close it instead of deleting it")
    session.delete(campaign)
    session.flush()


def campaign_progress(session: Session, *, campaign: Campaign) -> CampaignProgress:
    items = session.scalar(select(func.count()).select_from(Item).where(Item.campaign_id == campaign.id)) or 0
    # Gold and qualification units are outside the data: they take no overlap and complete nothing.
    data_items = select(Item.id).where(Item.campaign_id == campaign.id, Item.role == "data")
    comparisons = (
        session.scalar(
            select(func.count())
            .select_from(Comparison)
            .where(Comparison.campaign_id == campaign.id, Comparison.item_id.in_(data_items))
        )
        or 0
    )
    data_units = select(Comparison.id).where(
        Comparison.campaign_id == campaign.id, Comparison.item_id.in_(data_items)
    )
    votes = (
        session.scalar(
            select(func.count())
            .select_from(Vote)
            .where(Vote.campaign_id == campaign.id, Vote.comparison_id.in_(data_units))
        )
        or 0
    )
    return CampaignProgress(
        items=items, comparisons=comparisons, votes=votes, votes_needed=comparisons * campaign.overlap
    )


def _clean_flags(flags: list[str]) -> list[str]:
    cleaned = []
    for flag in flags:
        flag = flag.strip()
        if not flag or len(flag) > 40:
            raise Invalid("each side flag must be 1 to 40 characters", field="side_flags")
        if flag not in cleaned:
            cleaned.append(flag)
    return cleaned
