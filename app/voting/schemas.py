"""API shapes for assignments and votes. Annotator-facing shapes never carry a system name."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.tasks.schemas import TaskAnswer, TaskView

Side = Literal["a", "b"]
VoteOutcome = Literal["a", "b", "tie", "both_bad"]


class ShownMedia(BaseModel):
    url: str = Field(description="the file, for signed-in users; names only a random id")
    mime: str = Field(description="image/*, audio/* or video/*: how to play it")
    duration_s: float | None = Field(None, description="audio and video, when the file's header says")


class ShownCandidate(BaseModel):
    id: str = Field(description="opaque candidate id")
    content: str
    media: list[ShownMedia] = Field(default_factory=list, description="in the order shown; empty for text")


class AssignmentRead(BaseModel):
    """An annotator's task: the prompt and the candidates in the order shown (A first, then B, C...)."""

    assignment_id: str
    campaign: str
    prompt: str
    context: dict[str, Any]
    candidates: list[ShownCandidate]
    lease_expires_at: datetime
    task: TaskView = Field(
        default_factory=lambda: TaskView(kind="pairwise"),
        description="what to ask: the task kind and its rubric, taxonomy, windows or questions",
    )


class VoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: VoteOutcome | None = Field(
        None, description="pairwise kinds: 'a' is the first candidate shown, 'b' the second"
    )
    strength: int | None = Field(
        None,
        ge=-3,
        le=3,
        description="for 'a' or 'b': how much better the chosen side is, 1 slightly .. 3 much better "
        "(0 unsure); negative values are refused, pick the other side instead; for 'tie' "
        "and 'both_bad' leave it out or send 0",
    )
    rationale: str = Field("", max_length=20_000)
    flags: dict[Side, list[str]] = Field(
        default_factory=dict, description="per-side quality flags from the campaign's list"
    )
    answer: TaskAnswer = Field(
        default_factory=TaskAnswer,
        description="ratings, ranking, spans, time ranges, windows, checklist or thumb, as the task "
        "kind asks; and the players' listening log",
    )


class VoteRead(BaseModel):
    id: str
    assignment_id: str
    outcome: VoteOutcome | None
    winner: str | None = Field(description="opaque id of the winning candidate, null for tie/both_bad")
    strength: int | None
    rationale: str
    flags: dict[Side, list[str]]
    answer: dict[str, Any] = Field(
        default_factory=dict, description="the stored answer; candidates named by their opaque ids"
    )
    rubric_version: int | None = None
    time_on_task_ms: int
    created_at: datetime
    revealed: dict[Side, str] | None = Field(
        None, description="system names by side, only when the campaign reveals them after the vote"
    )


class VoteRecord(BaseModel):
    """A stored vote as researchers see it (system names included)."""

    id: str
    item_id: str
    comparison_id: int
    annotator: str
    annotator_kind: Literal["human", "model"]
    outcome: Literal["preference", "tie", "both_bad"] | None
    winner_system: str | None
    loser_system: str | None
    shown_a_system: str
    shown_b_system: str | None
    strength: int | None
    rationale: str
    flags: dict[str, list[str]]
    time_on_task_ms: int
    created_at: datetime
