"""`preflab leaderboard BATTLES`: rank the systems of any arena's battle log (FastChat's layout)."""

import json
from pathlib import Path
from typing import Annotated

import typer


def leaderboard_command(
    battles_file: Annotated[Path, typer.Argument(metavar="BATTLES", help="JSON Lines (or a JSON array)")],
    rounds: Annotated[
        int, typer.Option(min=0, max=100_000, help="bootstrap rounds for the intervals")
    ] = 1000,
    style_control: Annotated[
        bool, typer.Option("--style-control", help="control for length and markdown")
    ] = False,
    out: Annotated[Path | None, typer.Option("--out", help="write the JSON here instead of stdout")] = None,
    seed: int = 0,
) -> None:
    """Bradley-Terry ratings with 95% intervals and ranks, on the Elo scale (1000 at the mean)."""
    # numpy and scipy load only for this command, not for every `preflab` start.
    from app.leaderboard.battles import BattleFileError, pair_counts, read_battles, style_rows
    from app.leaderboard.ratings import bradley_terry_leaderboard
    from app.leaderboard.style_control import style_controlled

    try:
        battles = read_battles(battles_file)
    except BattleFileError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc
    if style_control:
        rows, names = style_rows(battles)
        board = style_controlled(rows, feature_names=names, rounds=rounds, seed=seed)
    else:
        board = bradley_terry_leaderboard(pair_counts(battles), rounds=rounds, seed=seed)
    result = {
        "battles": len(battles),
        "rounds": rounds,
        "style_control": style_control,
        "style_coefficients": board.style_coefficients,
        "systems": [
            {
                "system": r.system,
                "rating": round(r.score, 2),
                "lower": None if r.lower != r.lower else round(r.lower, 2),  # NaN without intervals
                "upper": None if r.upper != r.upper else round(r.upper, 2),
                "rank": r.rank,
                "battles": r.battles,
            }
            for r in board.ratings
        ],
    }
    text = json.dumps(result, indent=2)
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
