"""`preflab rm`: train a reward model from a file or a campaign, and evaluate one on a file."""

import json
from pathlib import Path
from typing import Annotated, Literal

import typer

rm_app = typer.Typer(help="Reward models: train and evaluate.", no_args_is_help=True)

Format = Literal["chosen-rejected", "preflab-votes"]


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _campaign_pairs(slug: str, *, weight_by_strength: bool) -> list:  # type: ignore[type-arg]
    from app.campaigns.service import get_campaign
    from app.db import session_scope
    from app.errors import NotFound
    from app.rewards.training_data import iter_preference_pairs
    from workers.ml.reward import PreferencePair

    try:
        with session_scope() as session:
            campaign = get_campaign(session, slug=slug)
            rows = list(
                iter_preference_pairs(session, campaign=campaign, weight_by_strength=weight_by_strength)
            )
    except NotFound as exc:
        _fail(exc.message)
    return [PreferencePair(**row) for row in rows]


@rm_app.command("train")
def train_command(
    out: Annotated[Path, typer.Option("--out", help="directory for the trained model")],
    data: Annotated[Path | None, typer.Option("--data", help="a .jsonl or .jsonl.gz file")] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="chosen-rejected or preflab-votes")
    ] = "chosen-rejected",
    campaign: Annotated[str | None, typer.Option("--campaign", help="train on this campaign's votes")] = None,
    encoder: Annotated[str, typer.Option(help="hashing, minilm, or a local model directory")] = "hashing",
    epochs: Annotated[int, typer.Option(min=1, max=100)] = 8,
    lr: Annotated[float, typer.Option(min=0.0)] = 1e-3,
    held_out: Annotated[float, typer.Option("--held-out", min=0.0, max=0.9, help="fraction held out")] = 0.2,
    seed: int = 0,
    weight_by_strength: bool = False,
    include_judge: Annotated[bool, typer.Option(help="also use LM-judge votes (preflab-votes)")] = False,
    judge_weight: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.5,
    device: str = "auto",
) -> None:
    """Trains a Bradley-Terry reward model and prints its held-out metrics as JSON."""
    from workers.ml.reward import DataError, TrainConfig, load_pairs, split_by_prompt, train

    if (data is None) == (campaign is None):
        _fail("give exactly one of --data FILE or --campaign SLUG")
    if fmt not in ("chosen-rejected", "preflab-votes"):
        _fail(f"unknown --format {fmt!r}; use chosen-rejected or preflab-votes")
    try:
        if data is not None:
            pairs = load_pairs(data, fmt, include_judge=include_judge, judge_weight=judge_weight)  # type: ignore[arg-type]
        else:
            pairs = _campaign_pairs(str(campaign), weight_by_strength=weight_by_strength)
        if len(pairs) < 2:
            _fail(f"{len(pairs)} preference pair(s): too few to train")
        train_pairs, held_out_pairs = split_by_prompt(pairs, held_out_fraction=held_out, seed=seed)
        config = TrainConfig(encoder=encoder, epochs=epochs, lr=lr, seed=seed, device=device)
        result = train(train_pairs, held_out_pairs, config, out_dir=out)
    except (DataError, ValueError) as exc:
        _fail(str(exc))
    typer.echo(json.dumps({**result.metrics, "n_train": len(train_pairs), "out": str(out)}))


@rm_app.command("eval")
def eval_command(
    model_dir: Annotated[Path, typer.Argument(help="a directory written by `preflab rm train`")],
    data: Annotated[Path, typer.Option("--data", help="a .jsonl or .jsonl.gz file")],
    fmt: Annotated[str, typer.Option("--format")] = "chosen-rejected",
) -> None:
    """Prints accuracy, log_loss, ece and n on the file's pairs, as one JSON object."""
    from workers.ml.reward import DataError, load_pairs, load_reward_model

    if fmt not in ("chosen-rejected", "preflab-votes"):
        _fail(f"unknown --format {fmt!r}; use chosen-rejected or preflab-votes")
    try:
        model = load_reward_model(model_dir)
        metrics = model.evaluate(load_pairs(data, fmt))  # type: ignore[arg-type]
    except (DataError, ValueError) as exc:
        _fail(str(exc))
    typer.echo(json.dumps(metrics))
