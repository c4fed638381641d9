"""`preflab leaderboard BATTLES.jsonl`: the contract, on battles with known strengths and a length effect."""

import json
import math
import random
from pathlib import Path

from tests.conftest import run_cli

STRENGTHS = {"alpha": 1.0, "beta": 0.3, "gamma": 0.0, "delta": -0.8}


def _battles(path: Path, n: int = 3000, length_effect: float = 2.0) -> Path:
    rng = random.Random(0)
    with path.open("w") as handle:
        for _ in range(n):
            a, b = rng.sample(sorted(STRENGTHS), 2)
            tokens_a, tokens_b = rng.randint(50, 500), rng.randint(50, 500)
            logit = (
                STRENGTHS[a] - STRENGTHS[b] + length_effect * (tokens_a - tokens_b) / (tokens_a + tokens_b)
            )
            winner = (
                "tie"
                if rng.random() < 0.1
                else ("model_a" if rng.random() < 1 / (1 + math.exp(-logit)) else "model_b")
            )
            meta = {"sum_assistant_a_tokens": tokens_a, "sum_assistant_b_tokens": tokens_b}
            handle.write(
                json.dumps({"model_a": a, "model_b": b, "winner": winner, "conv_metadata": meta}) + "\n"
            )
    return path


def test_ratings_intervals_and_ranks_follow_the_contract(cli_env: dict[str, str], tmp_path: Path) -> None:
    battles = _battles(tmp_path / "battles.jsonl")
    result = json.loads(run_cli(cli_env, "leaderboard", str(battles), "--rounds", "200").stdout)
    systems = result["systems"]
    assert [s["system"] for s in systems] == ["alpha", "beta", "gamma", "delta"]
    assert all(set(s) >= {"rating", "lower", "upper", "rank", "battles"} for s in systems)
    assert all(s["lower"] <= s["rating"] <= s["upper"] for s in systems)
    assert abs(sum(s["rating"] for s in systems) / 4 - 1000) < 0.05
    assert sum(s["battles"] for s in systems) == 2 * 3000 and systems[0]["rank"] == 1

    out = tmp_path / "board.json"
    run_cli(cli_env, "leaderboard", str(battles), "--rounds", "30", "--style-control", "--out", str(out))
    controlled = json.loads(out.read_text())
    assert controlled["style_control"] and controlled["style_coefficients"]["length"] > 0.2
    assert controlled["systems"][0]["system"] == "alpha"


def test_bad_battle_files_exit_non_zero_with_the_line(cli_env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps({"model_a": "x", "model_b": "y", "winner": "model_a"}) + "\n" + '{"model_a": "x"}\n'
    )
    wrong_winner = tmp_path / "w.jsonl"
    wrong_winner.write_text(json.dumps({"model_a": "x", "model_b": "y", "winner": "both"}) + "\n")
    for path, message in [
        (bad, "bad.jsonl:2: a battle needs model_a, model_b and winner"),
        (wrong_winner, "winner 'both' is not one of"),
        (tmp_path / "missing.jsonl", "no such file"),
    ]:
        result = run_cli(cli_env, "leaderboard", str(path), check=False)
        assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr
