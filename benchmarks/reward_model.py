"""Reward-model benchmark: held-out accuracy and time per encoder on HH-RLHF harmless-base (test split).

    .venv/bin/python benchmarks/reward_model.py                        # hashing, minilm, minilm+hashing
    .venv/bin/python benchmarks/reward_model.py --encoders hashing     # seconds
    .venv/bin/python benchmarks/reward_model.py --lora minilm          # adds MiniLM fine-tuned with LoRA
    .venv/bin/python benchmarks/reward_model.py --seeds 0,1,2,3,4      # the spread over other splits

Fixed seed; 1,600 pairs to train and the rest held out, split by prompt (no prompt on both sides). The
trainer's own validation share of the 1,600 picks its settings; the held-out pairs are only scored.
Every encoder starts from nothing (no cache between runs), so the encode column is the real cost.
Prints a Markdown table beside the "shorter answer wins" baseline. Reads ../shared/data (never copied
into the repo); downloads nothing.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from workers.ml.reward import (  # noqa: E402
    PreferencePair,
    TrainConfig,
    load_pairs,
    pairwise_metrics,
    split_by_prompt,
    train,
)

DATA = ROOT.parent / "shared" / "data" / "hh_rlhf_harmless_base_test.jsonl.gz"


@dataclass
class Row:
    name: str
    accuracy: float
    log_loss: float | None = None
    ece: float | None = None
    val_log_loss: float | None = None
    chosen: str = "-"
    encode_s: float = 0.0
    train_s: float = 0.0
    total_s: float = 0.0


def _shorter_wins(held_out: list[PreferencePair]) -> Row:
    import torch

    shorter = torch.tensor([float(len(p.rejected) - len(p.chosen)) for p in held_out])
    return Row("shorter answer wins (baseline)", pairwise_metrics(torch.sign(shorter))["accuracy"])


def _run(
    name: str, config: TrainConfig, train_pairs: list[PreferencePair], held_out: list[PreferencePair]
) -> Row:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        result = train(train_pairs, held_out, config, out_dir=out)
    total = time.perf_counter() - started  # loading the encoder and saving included
    m, chosen = result.metrics, result.selection
    row = Row(
        name,
        m["accuracy"],
        m["log_loss"],
        m["ece"],
        chosen.get("val_log_loss"),
        f"L2 {chosen['weight_decay']:g}, {chosen['epochs']} ep",
        result.timings["encode_s"],
        result.timings["train_s"],
        total,
    )
    print(f"{name}: accuracy {row.accuracy:.3f} in {total:.0f} s", file=sys.stderr, flush=True)
    return row


def _table(rows: list[Row]) -> None:
    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    print(
        "| encoder | held-out accuracy | log loss | ECE | validation log loss | chosen on validation "
        "| encode (s) | train (s) | total (s) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r.name} | {r.accuracy:.3f} | {fmt(r.log_loss)} | {fmt(r.ece)} | {fmt(r.val_log_loss)} "
            f"| {r.chosen} | {r.encode_s:.0f} | {r.train_s:.0f} | {r.total_s:.0f} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument(
        "--encoders",
        default="hashing,minilm,minilm+hashing",
        help="comma-separated: hashing, minilm, minilm+hashing, a model directory (+hashing)",
    )
    parser.add_argument(
        "--lora", default="", help="comma-separated transformer encoders to fine-tune with LoRA"
    )
    parser.add_argument("--lora-epochs", type=int, default=1)
    parser.add_argument("--lora-max-length", type=int, default=128)
    parser.add_argument("--n-train", type=int, default=1600)
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs, help="at most, for frozen encoders")
    parser.add_argument("--seeds", default="0", help="comma-separated split seeds; a table for each")
    args = parser.parse_args()

    import torch

    pairs = load_pairs(args.data, "chosen-rejected")
    means: dict[str, list[float]] = {}
    for seed in [int(s) for s in args.seeds.split(",")]:
        train_pairs, held_out = split_by_prompt(pairs, n_train=args.n_train, seed=seed)
        rows = [_shorter_wins(held_out)]
        for encoder in [e for e in args.encoders.split(",") if e]:
            config = TrainConfig(encoder=encoder, epochs=args.epochs, seed=seed)
            rows.append(_run(encoder, config, train_pairs, held_out))
        for encoder in [e for e in args.lora.split(",") if e]:
            config = TrainConfig(
                encoder=encoder,
                lora=True,
                epochs=args.lora_epochs,
                max_length=args.lora_max_length,
                seed=seed,
            )
            name = f"{encoder} + LoRA (r 8, {args.lora_max_length} tokens)"
            rows.append(_run(name, config, train_pairs, held_out))
        print(
            f"\nHH-RLHF harmless-base test: {len(train_pairs)} pairs to train (a fifth of them, by prompt, "
            f"for validation), {len(held_out)} held out, seed {seed}, {torch.get_num_threads()} CPU threads\n"
        )
        _table(rows)
        for row in rows:
            means.setdefault(row.name, []).append(row.accuracy)
    if len(means[next(iter(means))]) > 1:
        print("\n| encoder | mean held-out accuracy | min | max |\n|---|---|---|---|")
        for name, accuracies in means.items():
            mean = statistics.mean(accuracies)
            print(f"| {name} | {mean:.3f} | {min(accuracies):.3f} | {max(accuracies):.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
