"""API shapes for campaigns."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.campaigns.models import CampaignStatus, Modality, TaskKind
from app.qc.schemas import QualityConfig
from app.selection.config import SelectionConfig
from app.tasks.schemas import RubricSpec, TaskConfig

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"


class CampaignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=SLUG_PATTERN, description="lowercase letters, digits and dashes")
    name: str = Field(min_length=1, max_length=200)
    task_kind: TaskKind = TaskKind.pairwise
    modality: Modality = Modality.text
    overlap: int = Field(1, ge=1, le=100, description="distinct annotators per comparison")
    guidelines: str = Field("", max_length=100_000)
    reveal_identities: bool = False
    require_rationale: bool = False
    side_flags: list[str] | None = Field(None, max_length=20)
    lease_seconds: int = Field(600, ge=10, le=86_400)
    license: str = Field("", max_length=100)
    status: CampaignStatus = CampaignStatus.active
    task_config: TaskConfig = Field(
        default_factory=TaskConfig, description="settings of the task kind; every field has a default"
    )
    selection: SelectionConfig = Field(
        default_factory=SelectionConfig, description="which comparison an annotator gets next"
    )
    rubric: RubricSpec | None = Field(
        None,
        description="aspects to rate: rating campaigns default to HelpSteer2's five; a pairwise campaign "
        "with a rubric asks for ratings of both outputs beside the preference",
    )


class CampaignUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    guidelines: str | None = Field(None, max_length=100_000)
    reveal_identities: bool | None = None
    require_rationale: bool | None = None
    side_flags: list[str] | None = Field(None, max_length=20)
    lease_seconds: int | None = Field(None, ge=10, le=86_400)
    license: str | None = Field(None, max_length=100)
    status: CampaignStatus | None = None
    overlap: int | None = Field(None, ge=1, le=100)
    task_config: TaskConfig | None = Field(
        None, description="rate, segment_mode and max_ranked are fixed once items are imported"
    )
    selection: SelectionConfig | None = None


class CampaignRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    slug: str
    name: str
    task_kind: TaskKind
    modality: Modality
    overlap: int
    guidelines: str
    reveal_identities: bool
    require_rationale: bool
    side_flags: list[str]
    lease_seconds: int
    license: str
    status: CampaignStatus
    task_config: TaskConfig
    selection: SelectionConfig
    quality: QualityConfig = Field(
        default_factory=QualityConfig,
        description="quality control: PUT /api/v1/campaigns/{slug}/quality-control",
    )
    created_at: datetime


class CampaignProgress(BaseModel):
    items: int
    comparisons: int
    votes: int
    votes_needed: int
