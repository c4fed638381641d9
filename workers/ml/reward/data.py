"""Training pairs: reading them from files, and splitting them by prompt."""

import gzip
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from app.items.service import split_shared_dialogue

FileFormat = Literal["chosen-rejected", "preflab-votes"]


class DataError(ValueError):
    """A training file that cannot be read, with the line and the reason."""


@dataclass(frozen=True)
class PreferencePair:
    prompt: str
    chosen: str
    rejected: str
    weight: float = 1.0
    source: str = "human"  # "model" for LM-judge labels
    group: str = ""  # pairs with the same group (prompt) stay on one side of a split


@dataclass(frozen=True)
class RatedResponse:
    prompt: str
    response: str
    ratings: dict[str, float] = field(default_factory=dict)


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        raise DataError(f"no such file: {path}")
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}:{number}: not JSON ({exc.msg})") from exc
                if not isinstance(row, dict):
                    raise DataError(f"{path}:{number}: expected a JSON object")
                yield number, row
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot be read ({exc})") from exc


def load_pairs(
    path: str | Path, fmt: FileFormat, *, include_judge: bool = False, judge_weight: float = 0.5
) -> list[PreferencePair]:
    """Pairs from a JSON Lines file (.jsonl or .jsonl.gz).

    chosen-rejected: HH-RLHF lines `{"prompt"?, "chosen", "rejected"}`; without a prompt, the dialogue
    both answers share becomes the prompt. preflab-votes: the `votes` export; preference votes give
    a pair, ties and both-bad none, and LM-judge votes only with include_judge (weighted).
    """
    path = Path(path)
    pairs = []
    for number, row in _lines(path):
        if fmt == "chosen-rejected":
            chosen, rejected = row.get("chosen"), row.get("rejected")
            if not isinstance(chosen, str) or not isinstance(rejected, str):
                raise DataError(f"{path}:{number}: needs string fields 'chosen' and 'rejected'")
            prompt = row.get("prompt")
            if isinstance(prompt, str):
                pairs.append(PreferencePair(prompt, chosen, rejected, group=prompt))
            else:
                shared, chosen_tail, rejected_tail = split_shared_dialogue(chosen, rejected)
                pairs.append(PreferencePair(shared, chosen_tail, rejected_tail, group=shared))
        elif fmt == "preflab-votes":
            pair = _pair_from_vote(row, include_judge=include_judge, judge_weight=judge_weight)
            if pair is not None:
                pairs.append(pair)
        else:
            raise DataError(f"unknown format {fmt!r}; use chosen-rejected or preflab-votes")
    if not pairs:
        raise DataError(f"{path}: no preference pairs in it")
    return pairs


def _pair_from_vote(
    row: dict[str, Any], *, include_judge: bool, judge_weight: float
) -> PreferencePair | None:
    if row.get("outcome") != "preference":
        return None
    kind = row.get("annotator_kind", "human")
    if kind != "human" and not include_judge:
        return None
    shown = {"a": row.get("shown_a"), "b": row.get("shown_b")}
    side = row.get("winner_side")
    if side in shown:
        chosen, rejected = shown[side], shown["b" if side == "a" else "a"]
    else:
        # Exports from before winner_side: the system names say the side unless both sides share one.
        systems = {"a": row.get("shown_a_system"), "b": row.get("shown_b_system")}
        if systems["a"] == systems["b"]:
            return None
        by_system = {systems["a"]: shown["a"], systems["b"]: shown["b"]}
        chosen, rejected = by_system.get(row.get("winner_system")), by_system.get(row.get("loser_system"))
    if not isinstance(chosen, str) or not isinstance(rejected, str):
        return None
    weight = 1.0 if kind == "human" else judge_weight
    return PreferencePair(
        str(row.get("prompt", "")),
        chosen,
        rejected,
        weight=weight,
        source="human" if kind == "human" else "model",
        group=str(row.get("item_id", row.get("prompt", ""))),
    )


def split_by_prompt(
    pairs: list[PreferencePair],
    *,
    n_train: int | None = None,
    held_out_fraction: float | None = None,
    seed: int = 0,
) -> tuple[list[PreferencePair], list[PreferencePair]]:
    """Train and held-out pairs with no prompt on both sides (a model must not be tested on prompts it
    trained on). n_train counts pairs: whole groups are added until it is reached."""
    groups: dict[str, list[PreferencePair]] = {}
    for pair in pairs:
        groups.setdefault(pair.group or pair.prompt, []).append(pair)
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    if n_train is None:
        fraction = 0.2 if held_out_fraction is None else held_out_fraction
        n_train = round(len(pairs) * (1 - fraction))
    train: list[PreferencePair] = []
    held_out: list[PreferencePair] = []
    for key in keys:
        (train if len(train) < n_train else held_out).extend(groups[key])
    return train, held_out
