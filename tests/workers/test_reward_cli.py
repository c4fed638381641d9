"""`preflab rm train` / `preflab rm eval`, the contract scripts rely on, run as real commands."""

import gzip
import json
from pathlib import Path

from sqlalchemy.orm import Session

from tests.conftest import run_cli
from tests.factories import seed_campaign_with_votes
from tests.support.tiny_encoder import build_tiny_encoder
from tests.workers.test_reward_trainer import HH


def test_train_from_a_file_then_eval_prints_one_json_object(cli_env: dict[str, str], tmp_path: Path) -> None:
    sample = tmp_path / "train.jsonl.gz"
    with gzip.open(HH, "rt") as source, gzip.open(sample, "wt") as target:
        for _, line in zip(range(300), source, strict=False):
            target.write(line)
    out = tmp_path / "rm"
    trained = run_cli(
        cli_env, "rm", "train", "--data", str(sample), "--format", "chosen-rejected", "--encoder", "hashing",
        "--out", str(out), "--epochs", "2",
    )  # fmt: skip
    summary = json.loads(trained.stdout)
    assert summary["n"] > 0 and (out / "weights.pt").is_file()
    assert summary["selection"]["validation_pairs"] > 0 and 1 <= summary["selection"]["epochs"] <= 2
    evaluated = run_cli(cli_env, "rm", "eval", str(out), "--data", str(HH), "--format", "chosen-rejected")
    metrics = json.loads(evaluated.stdout)
    assert metrics["n"] == 2312 and 0 <= metrics["accuracy"] <= 1 and metrics["log_loss"] > 0


def test_lora_training_from_a_file_round_trips_through_eval(cli_env: dict[str, str], tmp_path: Path) -> None:
    encoder = build_tiny_encoder(tmp_path / "tiny")
    data = tmp_path / "pairs.jsonl"
    data.write_text(
        "".join(
            json.dumps(
                {"prompt": f"question {i}", "chosen": "sorry i cannot help", "rejected": "sure the answer"}
            )
            + "\n"
            for i in range(40)
        )
    )
    out = tmp_path / "rm"
    trained = run_cli(
        cli_env, "rm", "train", "--data", str(data), "--encoder", str(encoder), "--lora",
        "--lora-rank", "4", "--lora-alpha", "8", "--lora-dropout", "0", "--lora-lr", "0.01",
        "--max-length", "16", "--epochs", "2", "--device", "cpu", "--out", str(out),
    )  # fmt: skip
    summary = json.loads(trained.stdout)
    assert (out / "adapter" / "adapter_config.json").is_file()
    assert json.loads((out / "adapter" / "adapter_config.json").read_text())["r"] == 4
    evaluated = run_cli(cli_env, "rm", "eval", str(out), "--data", str(data))
    metrics = json.loads(evaluated.stdout)
    assert metrics["n"] == 40 and 0 <= metrics["accuracy"] <= 1 and summary["n"] + summary["n_train"] == 40


def test_train_from_a_campaign(cli_env: dict[str, str], session: Session, tmp_path: Path) -> None:
    seed_campaign_with_votes(session, n_items=20)
    out = tmp_path / "rm"
    result = run_cli(cli_env, "rm", "train", "--campaign", "demo", "--out", str(out), "--epochs", "3")
    metrics = json.loads(result.stdout)
    assert metrics["n_train"] + metrics["n"] == 20


def test_bad_input_exits_non_zero_with_a_message(cli_env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"chosen": "a", "rejected": "b"}\nnot json\n')
    cases = [
        (["rm", "train", "--data", str(bad), "--out", str(tmp_path / "o")], "bad.jsonl:2: not JSON"),
        (
            ["rm", "train", "--data", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "o")],
            "no such file",
        ),
        (["rm", "train", "--campaign", "nope", "--out", str(tmp_path / "o")], "no campaign 'nope'"),
        (["rm", "train", "--out", str(tmp_path / "o")], "exactly one of --data"),
        (["rm", "eval", str(tmp_path), "--data", str(bad)], "not a reward model directory"),
        (
            [
                "rm",
                "train",
                "--data",
                str(bad),
                "--encoder",
                str(tmp_path / "x"),
                "--out",
                str(tmp_path / "o"),
            ],
            "not JSON",
        ),
    ]
    for args, message in cases:
        result = run_cli(cli_env, *args, check=False)
        assert result.returncode != 0 and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
