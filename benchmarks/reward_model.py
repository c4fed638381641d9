"""Reward-model benchmark: held-out accuracy and time per encoder on HH-RLHF harmless-base (test split).

    .venv/bin/python benchmarks/reward_model.py                       # hashing and minilm
    .venv/bin/python benchmarks/reward_model.py --encoders hashing    # seconds

Fixed seed; 1,600 pairs to train and the rest held out, split by prompt (no prompt on both sides);
the same default settings the platform trains with. Prints a Markdown table beside the "shorter
answer wins" baseline. Reads ../shared/data (never copied into the repo); downloads nothing.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from workers.ml.reward import TrainConfig, load_pairs, pairwise_metrics, split_by_prompt, train  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "hh_rlhf_harmless_base_test.jsonl.gz"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument(
        "--encoders", default="hashing,minilm", help="comma-separated: hashing, minilm, a path"
    )
    parser.add_argument("--n-train", type=int, default=1600)
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch

    pairs = load_pairs(args.data, "chosen-rejected")
    train_pairs, held_out = split_by_prompt(pairs, n_train=args.n_train, seed=args.seed)
    shorter = torch.tensor([float(len(p.rejected) - len(p.chosen)) for p in held_out])
    baseline = pairwise_metrics(torch.sign(shorter))
    rows = [("shorter answer wins (baseline)", baseline["accuracy"], None, None, 0.0)]
    for encoder in [e for e in args.encoders.split(",") if e]:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as out:
            result = train(
                train_pairs,
                held_out,
                TrainConfig(encoder=encoder, epochs=args.epochs, seed=args.seed),
                out_dir=out,
            )
        seconds = time.perf_counter() - started
        m = result.metrics
        rows.append((encoder, m["accuracy"], m["log_loss"], m["ece"], seconds))
        print(f"{encoder}: accuracy {m['accuracy']:.3f} in {seconds:.0f} s", file=sys.stderr, flush=True)

    print(
        f"\nHH-RLHF harmless-base test: {len(train_pairs)} pairs to train, {len(held_out)} held out, "
        f"seed {args.seed}, {args.epochs} epochs, {torch.get_num_threads()} CPU threads\n"
    )
    print("| encoder | held-out accuracy | log loss | ECE | encode + train (s) |")
    print("|---|---|---|---|---|")
    for name, accuracy, log_loss, ece, seconds in rows:
        fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
        print(f"| {name} | {accuracy:.3f} | {fmt(log_loss)} | {fmt(ece)} | {seconds:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
