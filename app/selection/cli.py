"""`preflab simulate --oracle FILE`: how many votes each selection strategy needs to rank the systems
of a scores file, with simulated annotators (`app/selection/simulation.py`)."""

import json
from pathlib import Path
from typing import Annotated

import typer


def simulate_command(
    oracle: Annotated[
        Path,
        typer.Option("--oracle", help='JSON Lines scores: {"item", "system", "score"}, higher is better'),
    ],
    strategy: Annotated[
        list[str] | None,
        typer.Option("--strategy", help="uniform or active; repeat for both [default: both]"),
    ] = None,
    seeds: Annotated[int, typer.Option(min=1, max=1000, help="independent runs per strategy")] = 10,
    target_tau: Annotated[
        float, typer.Option("--target-tau", min=-1.0, max=1.0, help="Kendall's tau to reach and keep")
    ] = 0.9,
    budget: Annotated[
        int | None,
        typer.Option(min=10, help="votes per run [default: 100 per pair of systems, at least 2,000]"),
    ] = None,
    step: Annotated[
        int | None, typer.Option(min=1, help="votes between measurements [default: budget/50]")
    ] = None,
    uniform_fraction: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="share of active picks made uniformly")
    ] = 0.1,
    min_per_pair: Annotated[int, typer.Option(min=0, help="votes every pair gets before active picks")] = 0,
    clarity: Annotated[
        float, typer.Option(min=0.0, help="logits of a clean preference for the higher score")
    ] = 2.0,
    spammers: Annotated[float, typer.Option(min=0.0, max=1.0, help="share of random annotators")] = 0.1,
    position_bias: Annotated[float, typer.Option(help="mean logits toward the side shown first")] = 0.3,
    noise: Annotated[float, typer.Option(min=0.01, help="typical annotator temperature")] = 1.0,
    jobs: Annotated[int, typer.Option(min=1, max=64, help="processes to run the seeds on")] = 1,
) -> None:
    """Votes needed to reach Kendall's tau >= TARGET against the scores' ranking, per strategy (JSON)."""
    # numpy and scipy load only for this command, not for every `preflab` start.
    from app.selection.simulation import (
        AnnotatorModel,
        OracleError,
        ScoreTable,
        SelectionSettings,
        scores_factory,
        simulate_selection,
        summary,
    )
    from app.selection.strategies import STRATEGIES

    strategies = list(dict.fromkeys(strategy or ["uniform", "active"]))
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        typer.secho(
            f"error: unknown strategy {unknown[0]!r}; use {' or '.join(STRATEGIES)}",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(2)
    try:
        table = ScoreTable.read(oracle)
    except OracleError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc
    n = len(table.systems)
    votes = budget or max(2000, 100 * n * (n - 1) // 2)
    settings = SelectionSettings(
        budget=votes,
        step=step or max(1, votes // 50),
        uniform_fraction=uniform_fraction,
        min_per_pair=min_per_pair,
    )
    model = AnnotatorModel(spammer_fraction=spammers, position_bias=position_bias, noise=noise)
    results = simulate_selection(
        scores_factory(table, annotators=model, clarity=clarity),
        strategies=strategies,
        seeds=seeds,
        settings=settings,
        target_tau=target_tau,
        jobs=jobs,
    )
    report = summary(results, settings=settings, target_tau=target_tau)
    report = {"oracle": str(oracle), "systems": n, "items": len(table.items)} | report
    medians = {s: report["strategies"][s]["votes_to_target"]["median"] for s in strategies}
    if medians.get("active") and medians.get("uniform"):
        report["active_over_uniform"] = round(medians["active"] / medians["uniform"], 3)
    typer.echo(json.dumps(report, indent=2))
