"""What a release request asks for, and what the API says about a release."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.auth.models import UserKind

WeightModel = Literal["dawid_skene", "crowd_bt", "none"]


class ReleaseFilters(BaseModel):
    """Which votes a release keeps. Unknown keys are refused, so a typo never silently widens it."""

    model_config = ConfigDict(extra="forbid")

    annotator_kind: UserKind | None = Field(
        None,
        description="human or model (LM judges) only; default both, except pairwise and distributions "
        "(people's votes)",
    )
    include_gold: bool = Field(
        False,
        description="also put gold and qualification items in the data formats (the votes format "
        "always has them, flagged)",
    )
    annotator_weights: WeightModel = Field(
        "dawid_skene", description="the reliability model behind the votes format's annotator_weight"
    )


class ReleaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    formats: list[str] = Field(min_length=1, max_length=20, description="export formats, e.g. pairwise")
    filters: ReleaseFilters = Field(default_factory=ReleaseFilters)


class ReleaseFile(BaseModel):
    name: str
    sha256: str
    bytes: int
    rows: int | None
    url: str


class ReleaseRead(BaseModel):
    id: str
    campaign: str
    version: int
    formats: list[str]
    filters: dict[str, Any]
    vote_count: int
    max_vote_id: int
    content_hash: str
    files: list[ReleaseFile]
    created_at: datetime
    created_by: str | None
    hub_repo: str | None
    hub_revision: str | None
    hub_pushed_at: datetime | None


class HubPush(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repo_id: str = Field(
        min_length=3, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$"
    )
    private: bool = True
