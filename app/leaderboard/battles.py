"""Battle logs in FastChat's cleaned-battle layout, turned into pair counts or style-feature rows."""

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from app.leaderboard.ratings import PairCounts
from app.leaderboard.style_control import standardised_differences

WINNERS = {"model_a": 1.0, "model_b": 0.0, "tie": 0.5, "tie (bothbad)": 0.5}
# (name, key for side a, key for side b) in conv_metadata.
STYLE_FEATURES = (
    ("length", "sum_assistant_a_tokens", "sum_assistant_b_tokens"),
    ("headers", "header_count_a", "header_count_b"),
    ("lists", "list_count_a", "list_count_b"),
    ("bold", "bold_count_a", "bold_count_b"),
)


class BattleFileError(ValueError):
    """A battle log that cannot be read; says where and why."""


def read_battles(path: Path) -> list[dict[str, Any]]:
    """A JSON Lines file (one battle a line) or a JSON array, as FastChat writes either."""
    if not path.is_file():
        raise BattleFileError(f"no such file: {path}")
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BattleFileError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
        numbered = list(enumerate(rows, 1))
    else:
        numbered = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    numbered.append((number, json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise BattleFileError(f"{path}:{number}: not JSON ({exc.msg})") from exc
    battles = []
    for number, row in numbered:
        if not isinstance(row, dict) or not {"model_a", "model_b", "winner"} <= row.keys():
            raise BattleFileError(f"{path}:{number}: a battle needs model_a, model_b and winner")
        if row["winner"] not in WINNERS:
            raise BattleFileError(
                f"{path}:{number}: winner {row['winner']!r} is not one of {', '.join(WINNERS)}"
            )
        if row["model_a"] == row["model_b"]:
            continue
        battles.append(row)
    if not battles:
        raise BattleFileError(f"{path}: no battles in it")
    return battles


def pair_counts(battles: list[dict[str, Any]]) -> list[PairCounts]:
    tally: Counter[tuple[str, str, float]] = Counter()
    for battle in battles:
        a, b, outcome = battle["model_a"], battle["model_b"], WINNERS[battle["winner"]]
        if a > b:  # one row per unordered pair
            a, b, outcome = b, a, 1.0 - outcome
        tally[(a, b, outcome)] += 1
    pairs = sorted({(a, b) for a, b, _ in tally})
    return [PairCounts(a, b, tally[(a, b, 1.0)], tally[(a, b, 0.0)], tally[(a, b, 0.5)]) for a, b in pairs]


def style_rows(battles: list[dict[str, Any]]) -> tuple[list[tuple[str, str, float, np.ndarray]], list[str]]:
    """(a, b, outcome, normalised feature differences) per battle with metadata, and feature names.

    Differences as `standardised_differences` makes them (FastChat's normalisation); features that
    never differ are left out.
    """
    rows, side_a, side_b = [], [], []
    for battle in battles:
        meta = battle.get("conv_metadata") or {}
        side_a.append([float(meta.get(key_a) or 0) for _, key_a, _ in STYLE_FEATURES])
        side_b.append([float(meta.get(key_b) or 0) for _, _, key_b in STYLE_FEATURES])
        rows.append((battle["model_a"], battle["model_b"], WINNERS[battle["winner"]]))
    matrix, names = standardised_differences(
        np.array(side_a, dtype=float), np.array(side_b, dtype=float), [name for name, _, _ in STYLE_FEATURES]
    )
    return [(a, b, o, matrix[k]) for k, (a, b, o) in enumerate(rows)], names
