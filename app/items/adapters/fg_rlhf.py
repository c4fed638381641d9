"""Fine-Grained RLHF's qa-feedback files (Wu et al., 2023; allenai/FineGrainedRLHF,
`tasks/qa_feedback/data/*_feedback.json`) as Preflab items.

One record: a question, its grounding passages, four sampled predictions, span errors (type,
character offsets) marked on `prediction 1` only, and six pairwise preferences among the four
(1v2, 1v3, 1v4, 2v3, 2v4, 3v4: 1 the first is preferred, 2 the second, 0 neither).

The item is the question (its passages as context); what becomes candidates depends on the campaign:

- segment (spans): only `prediction 1`, the annotated one; its known spans stay in the candidate's
  metadata (`reference_spans`, labels mapped onto the campaign's taxonomy), so that new spans can be
  compared with them;
- ranking: the four predictions as one ranking; each carries its `reference_rank`, from the six
  preferences by Copeland score (wins minus losses; equal scores tie);
- pairwise, arena and rating by pair: the four predictions with the file's six pairs as `pairs`; each
  carries `reference_preferences` (its result against each other prediction: win, loss or tie);
- rating each and single: the four predictions, one task each, with the same metadata.

The human-written corrected prediction, missing information and gold answer are kept in metadata,
never in the item's context (the task page shows the context).
"""

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import ValidationError

from app.campaigns.models import Campaign, TaskKind
from app.errors import ImportRejected
from app.items.adapters.document import Record, dense_ranks, describe, joined, records
from app.items.schemas import ItemLine
from app.tasks.config import task_config
from app.tasks.units import unit_size

FORMAT = "fg-rlhf"
PREDICTIONS = 4
# The order of the file's `preference` list.
PAIRS = ((1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4))
# The paper's three categories: C1 irrelevance, repetition or incoherence; C2 incorrect or
# unverifiable facts; C3 incomplete information (the file's missing-info, which has no span).
CATEGORY = {
    "irrelevant": "irrelevant",
    "redundant": "irrelevant",
    "incoherent": "irrelevant",
    "wrong-grounding": "incorrect",
    "unverifiable": "incorrect",
}


def system(k: int) -> str:
    return f"prediction-{k}"


def read(lines: Iterable[str], *, campaign: Campaign) -> Iterator[tuple[int, ItemLine]]:
    shape = _shape(campaign)
    taxonomy = task_config(campaign).taxonomy
    seen: dict[str, int] = {}
    for record in records(joined(lines), fmt=FORMAT):
        try:
            data = _item(record, shape=shape, taxonomy=taxonomy)
            item = ItemLine.model_validate(data)
        except ValidationError as exc:
            raise record.rejected(describe(exc)) from None
        if item.id in seen:
            raise record.rejected(f"the same question and prediction 1 as record {seen[item.id]}")
        seen[item.id] = record.number
        yield record.line, item


def _shape(campaign: Campaign) -> str:
    """'annotated' (prediction 1 alone), 'pairs' (four, with the file's pairs) or 'all' (four)."""
    kind = campaign.task_kind
    if kind == TaskKind.checklist:
        raise ImportRejected(
            "fg-rlhf records have no checklist questions; import them into a segment (spans), ranking, "
            "pairwise, rating or single campaign"
        )
    if kind == TaskKind.segment:
        mode = task_config(campaign).segment_mode
        if mode != "spans":
            raise ImportRejected(
                f"fg-rlhf marks text spans; this segment campaign's mode is '{mode}' (use segment_mode spans)"
            )
        return "annotated"
    return "pairs" if unit_size(campaign) == "pair" else "all"


def _item(record: Record, *, shape: str, taxonomy: list[str]) -> dict[str, Any]:
    raw = record.value
    if not isinstance(raw, dict):
        raise record.rejected("each record must be a JSON object")
    question = _text(record, raw, "question")
    predictions = [_text(record, raw, f"prediction {k}") for k in range(1, PREDICTIONS + 1)]
    feedback = raw.get("feedback")
    if not isinstance(feedback, dict):
        raise record.rejected("'feedback' must be an object with 'errors'")
    spans = _spans(record, feedback.get("errors"), text=predictions[0], taxonomy=taxonomy)
    outcomes = _outcomes(record, raw.get("preference"))
    wins = [0] * PREDICTIONS
    for (a, b), winner in outcomes.items():
        if winner is not None:
            loser = b if winner == a else a
            wins[winner - 1] += 1
            wins[loser - 1] -= 1
    ranks = dense_ranks(wins, higher_is_better=True)

    candidates = []
    for k, text in enumerate(predictions, start=1):
        meta: dict[str, Any] = {
            "source": FORMAT,
            "prediction": k,
            "reference_rank": ranks[k - 1],
            "reference_score": wins[k - 1],
            "reference_preferences": {
                system(other): _result(k, other, outcomes)
                for other in range(1, PREDICTIONS + 1)
                if other != k
            },
        }
        if k == 1:
            meta["reference_spans"] = spans
            meta["missing_info"] = _missing(feedback.get("missing-info"))
            if isinstance(feedback.get("corrected-prediction"), str):
                meta["corrected_prediction"] = feedback["corrected-prediction"]
        if isinstance(raw.get("gold"), str):
            meta["gold"] = raw["gold"]
        candidates.append({"system": system(k), "content": text, "metadata": meta})
    if shape == "annotated":
        candidates = candidates[:1]
    digest = hashlib.sha256(f"{question}\x00{predictions[0]}".encode()).hexdigest()[:16]
    data: dict[str, Any] = {
        "id": f"fgrlhf-{digest}",
        "prompt": question,
        "context": _passages(record, raw.get("passages", [])),
        "tags": [FORMAT],
        "candidates": candidates,
    }
    if shape == "pairs":
        data["pairs"] = [[system(a), system(b)] for a, b in PAIRS]
    return data


def _text(record: Record, raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise record.rejected(f"'{key}' must be a non-empty string")
    return value


def _spans(record: Record, errors: Any, *, text: str, taxonomy: list[str]) -> list[dict[str, Any]]:
    if not isinstance(errors, list):
        raise record.rejected("'feedback.errors' must be a list")
    spans = []
    for index, error in enumerate(errors):
        where = f"feedback.errors.{index}"
        if not isinstance(error, dict):
            raise record.rejected(f"{where} must be an object")
        start, end, kind = error.get("start"), error.get("end"), error.get("error type")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
            raise record.rejected(f"{where}: 'start' and 'end' must be integers")
        if not 0 <= start < end <= len(text):
            raise record.rejected(
                f"{where}: [{start}, {end}) is not within prediction 1 ({len(text)} characters)"
            )
        if not isinstance(kind, str) or not kind:
            raise record.rejected(f"{where}: 'error type' must be a string")
        spans.append(
            {
                "start": start,
                "end": end,
                "text": text[start:end],
                "label": _label(record, kind, taxonomy, where=where),
                "source_type": kind,
            }
        )
    return sorted(spans, key=lambda s: (s["start"], s["end"]))


def _label(record: Record, kind: str, taxonomy: list[str], *, where: str) -> str:
    """The campaign's own label for a Fine-Grained RLHF error type: the type itself when the taxonomy
    has it (case aside), else its category in the paper, else the taxonomy's 'other'."""
    by_lower = {label.lower(): label for label in taxonomy}
    for guess in (kind.lower(), CATEGORY.get(kind.lower()), "other"):
        if guess is not None and guess in by_lower:
            return by_lower[guess]
    raise record.rejected(
        f"{where}: the error type '{kind}' has no label in the campaign's taxonomy ({', '.join(taxonomy)}); "
        f"add '{CATEGORY.get(kind.lower(), kind.lower())}' or 'other'"
    )


def _outcomes(record: Record, preference: Any) -> dict[tuple[int, int], int | None]:
    """The winner of each of the six pairs (None: no preference)."""
    if (
        not isinstance(preference, list)
        or len(preference) != len(PAIRS)
        or any(p not in (0, 1, 2) or isinstance(p, bool) for p in preference)
    ):
        raise record.rejected("'preference' must be a list of six values, each 0, 1 or 2")
    return {pair: (None, pair[0], pair[1])[p] for pair, p in zip(PAIRS, preference, strict=True)}


def _result(k: int, other: int, outcomes: dict[tuple[int, int], int | None]) -> str:
    winner = outcomes[(min(k, other), max(k, other))]
    return "tie" if winner is None else ("win" if winner == k else "loss")


def _missing(missing: Any) -> list[dict[str, Any]]:
    if not isinstance(missing, list):
        return []
    return [
        {"type": m.get("error type"), "passage_id": m.get("passage_id"), "sentence_ids": m.get("sentence_id")}
        for m in missing
        if isinstance(m, dict)
    ]


def _passages(record: Record, passages: Any) -> dict[str, str]:
    """Each passage as one readable string, keyed 'passage N' (the numbering missing-info uses)."""
    if not isinstance(passages, list):
        raise record.rejected("'passages' must be a list of [title, sentence, ...] lists")
    context = {}
    for n, passage in enumerate(passages, start=1):
        if not isinstance(passage, list) or not all(isinstance(part, str) for part in passage) or not passage:
            raise record.rejected(f"passages.{n - 1} must be a list of strings: a title, then sentences")
        title, sentences = passage[0], passage[1:]
        body = " ".join(" ".join(s.split()) for s in sentences)
        if body.startswith(title):  # the first sentence repeats the title
            body = body[len(title) :].lstrip()
        context[f"passage {n}"] = f"{title}: {body}" if body else title
    return context
