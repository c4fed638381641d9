"""Quality-control settings of a campaign, the known answers of gold items, and the API's shapes.

A campaign's `quality` column stores `QualityConfig` with only the fields that differ from the
defaults; `{}` means no quality control at all (the Postgres fast path keeps serving such campaigns).

Known answers (`Item.gold_answer`), by task kind; systems are named as in the import line:
- pairwise (and arena): `{"winner": "<system>"}` — the better candidate; every pair of the item must
  include it — or `{"outcome": "tie"}` / `{"outcome": "both_bad"}`.
- single: `{"thumb": "up" | "down"}` — the same for every output of the item.
- checklist: `{"answers": {"<question id>": true | false, ...}}` — a subset of the questions may be
  given; only those are scored.
- rating: `{"ratings": {"<aspect>": value, ...}, "tolerance": 1}` — every output shown must be rated
  within `tolerance` of the value on each aspect given.
- ranking: `{"best": "<system>"}` — that candidate alone in the first place.
Segment campaigns take no gold items (spans have no single right answer to score against).
"""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.campaigns.models import Campaign, TaskKind

DEFAULT_PAUSE_MESSAGE = (
    "Your answers to our check questions have not matched the expected answers often enough, so work "
    "in this campaign is paused for you. An administrator will review it; thank you for your patience."
)
DEFAULT_QUALIFICATION_MESSAGE = (
    "Thank you for taking the qualification test. Your score did not reach the level this campaign "
    "needs, so it cannot offer you further tasks."
)


class QualityConfig(BaseModel):
    """Gold mixing, the pause rule, the qualification test and the per-annotator quota."""

    model_config = ConfigDict(extra="forbid")

    gold_rate: float = Field(
        0.0, ge=0.0, le=1.0, description="chance that a new task is a gold item the annotator has not seen"
    )
    min_gold_accuracy: float | None = Field(
        None, ge=0.0, le=1.0, description="pause an annotator whose gold accuracy falls below this"
    )
    min_gold_answers: int = Field(
        5, ge=1, le=10_000, description="gold votes needed before accuracy is judged"
    )
    pause_message: str = Field(DEFAULT_PAUSE_MESSAGE, min_length=1, max_length=2_000)
    qualification_required: bool = Field(
        False, description="annotators first answer every qualification item, in import order"
    )
    qualification_min_accuracy: float = Field(0.8, ge=0.0, le=1.0)
    qualification_message: str = Field(DEFAULT_QUALIFICATION_MESSAGE, min_length=1, max_length=2_000)
    quota: int | None = Field(
        None,
        ge=1,
        le=10_000_000,
        description="most votes on data items one annotator gives in this campaign (gold and "
        "qualification items do not count)",
    )


def quality_config(campaign: Campaign) -> QualityConfig:
    return QualityConfig.model_validate(campaign.quality or {})


def stored_quality(config: QualityConfig) -> dict[str, Any]:
    return config.model_dump(mode="json", exclude_defaults=True)


class PairwiseGold(BaseModel):
    model_config = ConfigDict(extra="forbid")

    winner: str | None = Field(None, min_length=1, max_length=200)
    outcome: Literal["tie", "both_bad"] | None = None

    @model_validator(mode="after")
    def _one(self) -> "PairwiseGold":
        if (self.winner is None) == (self.outcome is None):
            raise ValueError("give either winner (a system name) or outcome ('tie' or 'both_bad')")
        return self


class SingleGold(BaseModel):
    model_config = ConfigDict(extra="forbid")

    thumb: Literal["up", "down"]


class ChecklistGold(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: dict[str, bool] = Field(min_length=1)


class RatingGold(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ratings: dict[str, int] = Field(min_length=1)
    tolerance: int = Field(1, ge=0, le=100)


class RankingGold(BaseModel):
    model_config = ConfigDict(extra="forbid")

    best: str = Field(min_length=1, max_length=200)


GOLD_SHAPES: dict[TaskKind, type[BaseModel]] = {
    TaskKind.pairwise: PairwiseGold,
    TaskKind.arena: PairwiseGold,
    TaskKind.single: SingleGold,
    TaskKind.checklist: ChecklistGold,
    TaskKind.rating: RatingGold,
    TaskKind.ranking: RankingGold,
}


def check_gold_answer(
    kind: TaskKind,
    answer: dict[str, Any],
    *,
    systems: list[str],
    pairs: list[tuple[int, int]],
    question_ids: list[str],
    aspects: dict[str, tuple[int, int]],
) -> dict[str, Any]:
    """The known answer in its stored shape; raises ValueError saying what is wrong with it."""
    shape = GOLD_SHAPES.get(kind)
    if shape is None:
        raise ValueError(f"{kind.value} campaigns take no gold or qualification items")
    try:
        parsed = shape.model_validate(answer)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise ValueError(
            f"gold_answer{'.' + where if where else ''}: {error['msg']} "
            f"(a {kind.value} gold answer looks like {_EXAMPLES[kind]})"
        ) from None
    if isinstance(parsed, PairwiseGold) and parsed.winner is not None:
        if systems.count(parsed.winner) != 1:
            raise ValueError(
                f"gold_answer.winner '{parsed.winner}' is not one of this item's systems "
                f"({', '.join(systems)})"
            )
        winner = systems.index(parsed.winner)
        if any(winner not in pair for pair in pairs):
            raise ValueError("every pair of a gold item must include its gold_answer.winner")
    if isinstance(parsed, RankingGold) and systems.count(parsed.best) != 1:
        raise ValueError(
            f"gold_answer.best '{parsed.best}' is not one of this item's systems ({', '.join(systems)})"
        )
    if isinstance(parsed, ChecklistGold):
        unknown = sorted(set(parsed.answers) - set(question_ids))
        if unknown:
            raise ValueError(f"gold_answer.answers names unknown question(s) {', '.join(unknown)}")
    if isinstance(parsed, RatingGold):
        for aspect, value in parsed.ratings.items():
            if aspect not in aspects:
                raise ValueError(
                    f"gold_answer.ratings: unknown aspect '{aspect}'; the rubric has "
                    f"{', '.join(sorted(aspects))}"
                )
            low, high = aspects[aspect]
            if not low <= value <= high:
                raise ValueError(f"gold_answer.ratings.{aspect} must be {low} to {high}, not {value}")
    return parsed.model_dump(mode="json", exclude_none=True)


_EXAMPLES = {
    TaskKind.pairwise: '{"winner": "<system>"} or {"outcome": "tie"}',
    TaskKind.arena: '{"winner": "<system>"} or {"outcome": "tie"}',
    TaskKind.single: '{"thumb": "up"}',
    TaskKind.checklist: '{"answers": {"<question id>": true}}',
    TaskKind.rating: '{"ratings": {"<aspect>": 4}, "tolerance": 1}',
    TaskKind.ranking: '{"best": "<system>"}',
}


class AnnotatorRead(BaseModel):
    """One annotator's standing in a campaign."""

    pseudonym: str
    kind: str
    status: str
    paused_reason: str
    paused_at: datetime | None
    resumed_at: datetime | None
    votes: int = Field(description="every vote in this campaign")
    data_votes: int = Field(description="votes on data items: what the quota counts")
    quota: int | None
    gold_votes: int = Field(description="every gold vote, since the start")
    gold_correct: int
    gold_accuracy: float | None
    window_gold_votes: int = Field(description="gold votes since the start or the last resume: judged")
    window_gold_accuracy: float | None
    qualification_status: str | None = Field(description="null when the campaign requires no test")
    qualification_score: float | None


class QualitySummary(BaseModel):
    """The settings with the counts of known-answer items, for the settings API and page."""

    config: QualityConfig
    gold_items: int
    qualification_items: int
