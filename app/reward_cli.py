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
    encoder: Annotated[
        str,
        typer.Option(
            help="hashing, minilm, minilm+hashing, or a local model directory (optionally +hashing)"
        ),
    ] = "hashing",
    epochs: Annotated[int, typer.Option(min=1, max=100, help="at most; the best on validation is kept")] = 8,
    lr: Annotated[
        float | None, typer.Option(min=0.0, help="learning rate of the heads [default: 1e-2]")
    ] = None,
    weight_decay: Annotated[
        float | None,
        typer.Option(min=0.0, help="L2 strength on the heads [default: chosen on validation pairs]"),
    ] = None,
    validation: Annotated[
        float, typer.Option(min=0.05, max=0.5, help="share of the training pairs that picks the settings")
    ] = 0.2,
    batch_size: Annotated[int, typer.Option(min=1, max=4096)] = 32,
    max_length: Annotated[int, typer.Option(min=16, max=8192, help="tokens per (prompt, response)")] = 256,
    lora: Annotated[
        bool, typer.Option(help="fine-tune the transformer end to end with LoRA adapters")
    ] = False,
    lora_rank: Annotated[int, typer.Option(min=1, max=1024)] = 8,
    lora_alpha: Annotated[float, typer.Option(min=0.0)] = 16.0,
    lora_dropout: Annotated[float, typer.Option(min=0.0, max=0.9)] = 0.05,
    lora_lr: Annotated[float, typer.Option(min=0.0, help="learning rate of the adapters")] = 2e-4,
    held_out: Annotated[float, typer.Option("--held-out", min=0.0, max=0.9, help="fraction held out")] = 0.2,
    seed: int = 0,
    weight_by_strength: bool = False,
    include_judge: Annotated[bool, typer.Option(help="also use LM-judge votes (preflab-votes)")] = False,
    judge_weight: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.5,
    device: Annotated[str, typer.Option(help="auto (the GPU when there is one), cpu or cuda")] = "auto",
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
        config = TrainConfig(
            encoder=encoder,
            epochs=epochs,
            lr=lr,
            batch_size=batch_size,
            max_length=max_length,
            seed=seed,
            weight_by_strength=weight_by_strength,
            weight_decay=weight_decay,
            validation_fraction=validation,
            lora=lora,
            lora_rank=lora_rank,
            lora_alpha=lora_alpha,
            lora_dropout=lora_dropout,
            lora_lr=lora_lr,
            device=device,
        )
        result = train(train_pairs, held_out_pairs, config, out_dir=out)
    except (DataError, ValueError) as exc:
        _fail(str(exc))
    summary = {**result.metrics, "n_train": len(train_pairs), "out": str(out), "selection": result.selection}
    typer.echo(json.dumps(summary))


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
