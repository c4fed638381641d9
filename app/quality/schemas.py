"""API shape of a campaign's quality report (`service.campaign_quality`)."""

from typing import Any, Literal

from pydantic import BaseModel, Field


class RateRead(BaseModel):
    """k of n with its Wilson 95% interval and the two-sided binomial test against 50%."""

    k: int
    n: int
    rate: float | None
    low: float | None
    high: float | None
    p_value: float | None


class GoldRead(RateRead):
    threshold: float = Field(description="accuracy below this flags an annotator")
    min_answers: int = Field(description="gold votes needed before accuracy is judged")


class AlphaRead(BaseModel):
    measure: str = Field(description="preference, ratings, rating:<aspect>, ranking, spans, spans_any, ...")
    label: str
    level: Literal["nominal", "ordinal", "interval", "ratio"]
    aspect: str | None
    alpha: float | None = Field(description="Krippendorff's alpha; null when undefined")
    band: Literal["reliable", "tentative", "unreliable", "undefined"]
    units: int
    pairable_units: int = Field(description="units with at least two values")
    values: int
    annotators: int


class Flag(BaseModel):
    code: Literal["low_agreement", "low_reliability", "gold", "position", "too_fast"]
    message: str


class TimeOnTaskRead(BaseModel):
    median_ms: float | None
    too_fast: int
    too_slow: int
    median_z: float | None = None


class AnnotatorQuality(BaseModel):
    annotator: str = Field(description="pseudonym, as in exports")
    votes: int
    alpha_vs_rest: float | None = Field(description="on the campaign's main measure")
    alpha_without: float | None = Field(description="the main measure's alpha with this annotator left out")
    alpha_vs_rest_by_measure: dict[str, float | None]
    position_bias: RateRead = Field(description="share of strict preferences won by the left side (A)")
    length_bias: RateRead = Field(description="share of strict preferences won by the longer output")
    time_on_task: TimeOnTaskRead
    flag_consistency: dict[str, Any]
    rating_preference: dict[str, Any]
    gold: RateRead
    dawid_skene_weight: float | None = Field(description="reliability weight in [0, 1]")
    spammer_score: float | None
    crowd_bt_eta: float | None
    crowd_bt_weight: float | None
    flags: list[Flag]


class JudgeMeasure(BaseModel):
    measure: str
    alpha_vs_humans: float | None
    shared_units: int
    agrees_with_majority: RateRead | None = None


class JudgeQuality(BaseModel):
    annotator: str
    votes: int
    measures: list[JudgeMeasure]


class VerdictLine(BaseModel):
    check: str
    status: Literal["ok", "warn", "bad", "info"]
    value: float | None
    message: str


class Verdict(BaseModel):
    overall: Literal["trusted", "use with care", "not trusted", "unknown"]
    summary: str
    lines: list[VerdictLine]


class TimeOnTaskSummary(BaseModel):
    median_ms: float | None
    too_fast: int
    too_slow: int
    threshold_z: float
    histogram: dict[str, Any]


class QualityReport(BaseModel):
    """Human votes only, except `judges` (LM judges against the people)."""

    campaign: str
    kind: str
    votes: int
    annotators: int
    comparisons: int = Field(description="A/B comparisons with a vote")
    comparisons_with_2plus_votes: int
    agreement: dict[str, float | None] = Field(description="A/B preference agreement (pairwise campaigns)")
    primary_measure: str | None
    alphas: list[AlphaRead]
    position_bias: RateRead
    length_bias: RateRead
    time_on_task: TimeOnTaskSummary
    flag_consistency: dict[str, Any]
    rating_preference: dict[str, Any]
    gold: GoldRead
    reliability: dict[str, Any]
    by_annotator: list[AnnotatorQuality]
    judges: list[JudgeQuality]
    verdict: Verdict
