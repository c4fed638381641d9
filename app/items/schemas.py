"""Shapes of import lines and import reports."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.tasks.schemas import ChecklistQuestion

# JSON Lines (preflab, chosen-rejected), or a data set's own JSON document (app/items/adapters/).
ImportFormat = Literal["preflab", "chosen-rejected", "fg-rlhf", "imagereward"]
# Files per candidate: several images make one answer; more is a different task.
MAX_MEDIA = 16


class CandidateLine(BaseModel):
    """One output: text (`content`), media files, or both (a caption with its image)."""

    model_config = ConfigDict(extra="forbid")

    system: str = Field(min_length=1, max_length=200)
    content: str = Field("", max_length=1_000_000)
    media: list[str] | None = Field(
        None,
        max_length=MAX_MEDIA,
        description="files relative to the import file, in the order shown (`preflab import` only)",
    )
    media_id: list[str] | None = Field(
        None, max_length=MAX_MEDIA, description="ids of files uploaded before (POST /api/v1/media)"
    )
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("media", "media_id", mode="before")
    @classmethod
    def _one_or_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _says_what_it_is(self) -> "CandidateLine":
        if self.media is not None and self.media_id is not None:
            raise ValueError("give media (files) or media_id (uploaded files), not both")
        if self.media == [] or self.media_id == []:
            raise ValueError("the media list is empty; leave it out for a text candidate")
        if "content" not in self.model_fields_set and self.media is None and self.media_id is None:
            raise ValueError("give content (text), media (files) or media_id (uploaded files)")
        return self


class ItemLine(BaseModel):
    """One line of a Preflab JSON Lines import."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    prompt: str = Field(max_length=1_000_000)
    context: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list, max_length=100)
    candidates: list[CandidateLine] = Field(
        min_length=1, max_length=100, description="two or more for pairwise kinds and rankings"
    )
    questions: list[ChecklistQuestion] = Field(
        default_factory=list, max_length=50, description="checklist campaigns: yes/no questions per output"
    )
    pairs: list[tuple[int | str, int | str]] | None = Field(
        None, description="pairs to compare, by candidate index or system name; default every pair"
    )
    priority: int = Field(
        0, ge=-1_000_000, le=1_000_000, description="higher is handed out first; ties in import order"
    )
    role: Literal["data", "gold", "qualification"] = Field(
        "data",
        description="gold: a known answer mixed in at the campaign's gold rate; qualification: asked "
        "first when the campaign requires a test (shapes of gold_answer in app/qc/schemas.py)",
    )
    gold_answer: dict[str, Any] | None = Field(None, description="the known answer of a gold item")

    @field_validator("questions")
    @classmethod
    def _question_ids_unique(cls, questions: list[ChecklistQuestion]) -> list[ChecklistQuestion]:
        ids = [q.id for q in questions]
        if len(set(ids)) != len(ids):
            raise ValueError("question ids repeat")
        return questions

    @model_validator(mode="after")
    def _gold_has_answer(self) -> "ItemLine":
        if self.role != "data" and not self.gold_answer:
            raise ValueError(f"a {self.role} item needs its known answer in gold_answer")
        if self.role == "data" and self.gold_answer is not None:
            raise ValueError("gold_answer goes with role 'gold' or 'qualification'")
        return self

    @model_validator(mode="after")
    def _pairs_resolve(self) -> "ItemLine":
        if self.pairs is not None:
            if not self.pairs:
                raise ValueError("pairs is empty; leave it out to compare every pair")
            self.resolved_pairs()
        return self

    def resolved_pairs(self) -> list[tuple[int, int]]:
        n = len(self.candidates)
        if self.pairs is None:
            return [(i, j) for i in range(n) for j in range(i + 1, n)]
        systems = [c.system for c in self.candidates]
        resolved: list[tuple[int, int]] = []
        for pair in self.pairs:
            a, b = (self._index(ref, systems) for ref in pair)
            if a == b:
                raise ValueError(f"pair {list(pair)} compares a candidate with itself")
            key = (min(a, b), max(a, b))
            if key in resolved:
                raise ValueError(f"pair {list(pair)} is listed twice")
            resolved.append(key)
        return resolved

    @staticmethod
    def _index(ref: int | str, systems: list[str]) -> int:
        if isinstance(ref, int):
            if not 0 <= ref < len(systems):
                raise ValueError(f"pair index {ref} is out of range (0..{len(systems) - 1})")
            return ref
        if systems.count(ref) != 1:
            raise ValueError(f"pair names system '{ref}', which is not exactly one candidate's system")
        return systems.index(ref)


class ChosenRejectedLine(BaseModel):
    """One line in the HH-RLHF style: a prompt (optional) and a chosen and a rejected answer."""

    model_config = ConfigDict(extra="ignore")

    id: str | None = Field(None, min_length=1, max_length=200)
    prompt: str | None = Field(None, max_length=1_000_000)
    chosen: str = Field(max_length=1_000_000)
    rejected: str = Field(max_length=1_000_000)


class ImportReport(BaseModel):
    lines: int
    items_created: int
    comparisons_created: int
    items_skipped: int = Field(description="ids already in the campaign: left exactly as they were")
    skipped_ids: list[str] = Field(description="up to 20 of the skipped ids")

    def summary(self) -> str:
        text = (
            f"{self.lines} lines: {self.items_created} new items, {self.comparisons_created} new comparisons"
        )
        if self.items_skipped:
            text += (
                f"; {self.items_skipped} ids already imported, left unchanged "
                f"(e.g. {', '.join(self.skipped_ids[:5])})"
            )
        return text
