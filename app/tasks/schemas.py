"""What a campaign asks per task kind, and the shapes of the answers an annotator sends.

Sides are letters in the order shown (a, b, c, ...), as the annotator saw them; the service maps them
to candidate ids before anything is stored, because the side order differs per annotator.
"""

import string
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SIDES = string.ascii_lowercase[:9]
Side = Literal["a", "b", "c", "d", "e", "f", "g", "h", "i"]
ASPECT_NAME = r"^[a-z][a-z0-9_]{0,39}$"
# Fine-Grained RLHF's error types (Wu et al., 2023) plus the catch-all a taxonomy always needs.
DEFAULT_TAXONOMY = ["irrelevant", "incorrect", "incomplete", "unsafe", "other"]
MAX_RANKED = 9


class Aspect(BaseModel):
    """One rated aspect: an integer scale with a label for some or all of its points."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=ASPECT_NAME, description="lowercase identifier, e.g. helpfulness")
    description: str = Field("", max_length=2_000)
    min: int = Field(0, ge=-10, le=10)
    max: int = Field(4, ge=-10, le=10)
    anchors: dict[int, str] = Field(
        default_factory=dict, description="labels for points of the scale, e.g. {0: 'not at all'}"
    )

    @model_validator(mode="after")
    def _scale_makes_sense(self) -> "Aspect":
        if not self.min < self.max:
            raise ValueError(f"aspect '{self.name}': min must be below max")
        if self.max - self.min > 10:
            raise ValueError(f"aspect '{self.name}': a scale has at most 11 points")
        outside = sorted(k for k in self.anchors if not self.min <= k <= self.max)
        if outside:
            raise ValueError(f"aspect '{self.name}': anchors {outside} are outside {self.min}..{self.max}")
        for label in self.anchors.values():
            if not 1 <= len(label) <= 200:
                raise ValueError(f"aspect '{self.name}': an anchor label has 1 to 200 characters")
        return self


class RubricSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    aspects: list[Aspect] = Field(min_length=1, max_length=20)

    @field_validator("aspects")
    @classmethod
    def _names_unique(cls, aspects: list[Aspect]) -> list[Aspect]:
        names = [a.name for a in aspects]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"aspect names repeat: {', '.join(repeated)}")
        return aspects


def _likert(name: str, description: str) -> Aspect:
    return Aspect(
        name=name, description=description, min=0, max=4, anchors={0: "very low", 2: "medium", 4: "very high"}
    )


# HelpSteer2's five attributes on its 0-4 scale (Wang et al., 2024, "HelpSteer2").
HELPSTEER2 = RubricSpec(
    aspects=[
        _likert("helpfulness", "Overall helpfulness of the response to the prompt."),
        _likert("correctness", "Inclusion of all pertinent facts without errors."),
        _likert("coherence", "Consistency and clarity of expression."),
        _likert("complexity", "Intellectual depth required to write the response."),
        _likert("verbosity", "Amount of detail included, relative to what the prompt asks for."),
    ]
)


class RubricRead(BaseModel):
    version: int
    aspects: list[Aspect]
    in_use: bool = Field(description="a vote recorded this version: it can no longer change")


class TaskConfig(BaseModel):
    """Per-campaign settings of its task kind; every field has a default."""

    model_config = ConfigDict(extra="forbid")

    rate: Literal["each", "pair"] = Field(
        "each", description="rating campaigns: one output per task, or both outputs of a pair"
    )
    segment_mode: Literal["spans", "time", "windows"] = Field(
        "spans",
        description="segment campaigns: text spans, time ranges on a clip, or A/B/tie per fixed window "
        "of two aligned clips",
    )
    window_s: float = Field(1.0, gt=0, le=600, description="windows mode: the window length in seconds")
    taxonomy: list[str] = Field(default_factory=lambda: list(DEFAULT_TAXONOMY), min_length=1, max_length=40)
    min_listen_s: float = Field(
        0, ge=0, le=3_600, description="audio/video: seconds each side must be played before a vote"
    )
    max_ranked: int = Field(MAX_RANKED, ge=2, le=MAX_RANKED, description="ranking: outputs per task")

    @field_validator("taxonomy")
    @classmethod
    def _labels(cls, labels: list[str]) -> list[str]:
        cleaned = [label.strip() for label in labels]
        if any(not 1 <= len(label) <= 60 for label in cleaned):
            raise ValueError("a taxonomy label has 1 to 60 characters")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("taxonomy labels repeat")
        return cleaned


class Span(BaseModel):
    """A labelled stretch of one output's text, by character offsets [start, end)."""

    model_config = ConfigDict(extra="forbid")

    side: Side = "a"
    start: int = Field(ge=0)
    end: int = Field(gt=0)
    label: str = Field(min_length=1, max_length=60)
    comment: str = Field("", max_length=2_000)


class TimeRange(BaseModel):
    """A labelled stretch of one output's clip, in seconds of media time."""

    model_config = ConfigDict(extra="forbid")

    side: Side = "a"
    start_s: float = Field(ge=0)
    end_s: float = Field(gt=0)
    label: str = Field(min_length=1, max_length=60)
    comment: str = Field("", max_length=2_000)


class ListenEvent(BaseModel):
    """One player event: what happened, to which side, at which media time and wall-clock offset."""

    model_config = ConfigDict(extra="forbid")

    side: Side
    event: Literal["play", "pause", "seek", "switch", "ended"]
    media_s: float = Field(ge=0, le=86_400)
    wall_ms: int = Field(ge=0, le=86_400_000, description="milliseconds since the task was shown")


class TaskAnswer(BaseModel):
    """The parts of a vote beyond A/B/tie/both bad; which ones a campaign needs depends on its kind."""

    model_config = ConfigDict(extra="forbid")

    ratings: dict[Side, dict[str, int]] | None = Field(
        None, description="per side shown: aspect name -> value on the rubric's scale"
    )
    ranking: list[list[Side]] | None = Field(
        None, description="best first; sides in one inner list are tied", max_length=MAX_RANKED
    )
    spans: list[Span] | None = Field(None, max_length=500)
    time_ranges: list[TimeRange] | None = Field(None, max_length=500)
    windows: list[Literal["a", "b", "tie"]] | None = Field(
        None, max_length=10_000, description="one preference per window of the aligned clips"
    )
    checklist: dict[str, bool] | None = Field(None, description="question id -> yes (true) or no")
    thumb: Literal["up", "down"] | None = None
    listening_log: list[ListenEvent] | None = Field(None, max_length=5_000)


class ChecklistQuestion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    text: str = Field(min_length=1, max_length=2_000)


class TaskView(BaseModel):
    """What the annotator's page needs to ask the right questions; nothing in it names a system."""

    kind: str
    rubric_version: int | None = None
    aspects: list[Aspect] = Field(default_factory=list)
    rate: Literal["each", "pair"] = "each"
    segment_mode: Literal["spans", "time", "windows"] = "spans"
    window_s: float = 1.0
    taxonomy: list[str] = Field(default_factory=list)
    min_listen_s: float = 0
    questions: list[ChecklistQuestion] = Field(default_factory=list)
