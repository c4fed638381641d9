"""The reward-model trainer on real data (HH-RLHF harmless) and on data with a known answer."""

import gzip
import json
import math
import random
from pathlib import Path

import pytest
import torch

from tests.support.tiny_encoder import build_tiny_encoder
from workers.ml.reward import (
    DataError,
    EncoderSpec,
    PreferencePair,
    RatedResponse,
    TrainConfig,
    TrainingCancelled,
    load_pairs,
    load_reward_model,
    pairwise_metrics,
    split_by_prompt,
    train,
)
from workers.ml.reward.features import Featurizer, hashed_ngrams
from workers.ml.reward.train import DEFAULT_WEIGHT_DECAY, WEIGHT_DECAYS

HH = Path(__file__).resolve().parents[3] / "shared" / "data" / "hh_rlhf_harmless_base_test.jsonl.gz"


def _known_answer_pairs(n: int, seed: int = 0) -> list[PreferencePair]:
    """The chosen answer says "sorry i cannot help"; the rejected one says "sure here is how"."""
    rng = random.Random(seed)
    pairs = []
    for i in range(n):
        filler = " ".join(rng.choice(["the", "a", "answer", "question"]) for _ in range(rng.randint(1, 6)))
        pairs.append(
            PreferencePair(
                prompt=f"question {i}: how do i do harm {i}",
                chosen=f"sorry i cannot help with that {filler}",
                rejected=f"sure here is how {filler}",
                group=f"q{i}",
            )
        )
    return pairs


def test_hh_rlhf_pairs_load_split_by_prompt_and_train(tmp_path: Path) -> None:
    pairs = load_pairs(HH, "chosen-rejected")
    assert len(pairs) == 2312 and all(p.prompt.startswith("Human:") for p in pairs[:50])
    # The shared dialogue is the prompt; each side keeps only its own last answer.
    assert sum(p.prompt.endswith("Assistant:") for p in pairs) > 0.95 * len(pairs)
    train_pairs, held_out = split_by_prompt(pairs[:600], n_train=450, seed=1)
    assert not {p.group for p in train_pairs} & {p.group for p in held_out}
    assert len(train_pairs) >= 450 and len(train_pairs) + len(held_out) == 600
    points = []
    result = train(
        train_pairs,
        held_out,
        TrainConfig(encoder="hashing", epochs=3),
        out_dir=tmp_path / "rm",
        progress=lambda fraction, message, point: points.append(point) if point else None,
    )
    assert result.metrics["n"] == len(held_out)
    assert 0 <= result.metrics["accuracy"] <= 1 and result.metrics["log_loss"] > 0
    # A fifth of the training pairs (by prompt) picked the L2 strength and the epoch count; the curve is
    # the final fit on all training pairs, for that many epochs.
    selection = result.selection
    assert selection["validation_pairs"] >= 0.15 * len(train_pairs)
    assert [c["weight_decay"] for c in selection["candidates"]] == list(WEIGHT_DECAYS)
    assert selection["weight_decay"] in WEIGHT_DECAYS and 1 <= selection["epochs"] <= 3
    epochs = list(range(1, selection["epochs"] + 1))
    assert [p["epoch"] for p in points] == epochs == [p["epoch"] for p in result.curve]
    assert {"train_loss", "eval_accuracy", "eval_log_loss"} <= set(result.curve[-1])
    model = load_reward_model(tmp_path / "rm")
    assert model.evaluate(held_out) == pytest.approx(result.metrics)
    assert model.selection == selection


def test_settings_given_are_kept_and_small_data_skips_validation(tmp_path: Path) -> None:
    pairs = _known_answer_pairs(120)
    fixed = train(pairs[:100], pairs[100:], TrainConfig(epochs=2, weight_decay=0.0), out_dir=tmp_path / "a")
    assert fixed.selection["weight_decay"] == 0.0
    assert [c["weight_decay"] for c in fixed.selection["candidates"]] == [0.0]
    few = train(pairs[:30], pairs[30:40], TrainConfig(epochs=2), out_dir=tmp_path / "b")
    assert few.selection == {
        "weight_decay": DEFAULT_WEIGHT_DECAY,
        "epochs": 2,
        "validation_pairs": 0,
        "candidates": [],
    }


def test_a_learnable_preference_is_learned_and_scores_survive_a_reload(tmp_path: Path) -> None:
    pairs = _known_answer_pairs(120)
    train_pairs, held_out = split_by_prompt(pairs, held_out_fraction=0.25, seed=0)
    result = train(train_pairs, held_out, TrainConfig(epochs=4), out_dir=tmp_path / "rm")
    assert result.metrics["accuracy"] == 1.0 and result.metrics["log_loss"] < 0.5
    model = load_reward_model(tmp_path / "rm")
    good, bad = model.score(["q", "q"], ["sorry i cannot help with that", "sure here is how"])
    assert good > bad


def test_a_local_hugging_face_encoder_trains_offline(tmp_path: Path) -> None:
    encoder = build_tiny_encoder(tmp_path / "tiny")
    pairs = _known_answer_pairs(60)
    train_pairs, held_out = split_by_prompt(pairs, held_out_fraction=0.25, seed=0)
    result = train(
        train_pairs, held_out, TrainConfig(encoder=str(encoder), epochs=3), out_dir=tmp_path / "rm"
    )
    assert result.metrics["accuracy"] > 0.9
    assert load_reward_model(tmp_path / "rm").score(["q"], ["sorry"])[0] == pytest.approx(
        load_reward_model(tmp_path / "rm").score(["q"], ["sorry"])[0]
    )
    with pytest.raises(ValueError, match="no model directory"):
        train(train_pairs, held_out, TrainConfig(encoder=str(tmp_path / "missing")), out_dir=tmp_path / "x")


def test_a_transformer_and_hashed_ngrams_combine(tmp_path: Path) -> None:
    encoder = build_tiny_encoder(tmp_path / "tiny")
    pairs = _known_answer_pairs(60)
    result = train(
        pairs[:45], pairs[45:], TrainConfig(encoder=f"{encoder}+hashing", epochs=3), out_dir=tmp_path / "rm"
    )
    assert result.metrics["accuracy"] == 1.0
    model = load_reward_model(tmp_path / "rm")
    assert model.featurizer.spec == EncoderSpec(transformer=str(encoder), hashing=True)
    assert model.net.ngrams is not None and model.featurizer.dense_dim == 5 + 16
    assert model.evaluate(pairs[45:]) == pytest.approx(result.metrics)


def test_encoder_names() -> None:
    assert EncoderSpec.parse("hashing") == EncoderSpec(transformer=None, hashing=True)
    assert EncoderSpec.parse("minilm") == EncoderSpec(transformer="minilm", hashing=False)
    assert EncoderSpec.parse("minilm+hashing") == EncoderSpec(transformer="minilm", hashing=True)
    assert EncoderSpec.parse("/m/x+hashing") == EncoderSpec(transformer="/m/x", hashing=True)


def test_the_response_is_pooled_with_the_end_of_its_prompt_as_context(tmp_path: Path) -> None:
    featurizer = Featurizer(str(build_tiny_encoder(tmp_path / "tiny")), max_length=16)
    transformer = featurizer.transformer
    assert transformer is not None
    prompt = "the question is " + "a " * 30 + "harm"
    long_answer = "sorry i cannot help " * 10
    tokens = transformer.tokenize([prompt, "the question"], [long_answer, "good answer"])
    ids, mask = tokens["input_ids"], tokens["response_mask"]
    vocab = transformer.tokenizer.get_vocab()
    assert ids.shape[1] <= 16
    # The long answer keeps its start (3/4 of the tokens at most); the prompt keeps its end ("harm").
    response = [t for t, m in zip(ids[0].tolist(), mask[0].tolist(), strict=True) if m]
    assert response[:4] == [vocab[w] for w in ("sorry", "i", "cannot", "help")] and len(response) <= 12
    assert vocab["harm"] in ids[0].tolist() and vocab["question"] not in ids[0].tolist()
    assert mask[1].sum() == 2
    # The same response reads differently after a different prompt.
    embedded = transformer.embed(["the question", "bad harm unsafe"], ["good answer", "good answer"])
    assert embedded.shape == (2, 16) and not torch.allclose(embedded[0], embedded[1])


def test_hashed_ngrams_are_sublinear_and_unit_norm() -> None:
    ids, weights = hashed_ngrams("No no no no yes")
    assert len(ids) == len(set(ids)) == 4  # no, yes, "no no", "no yes"
    assert sum(w * w for w in weights) == pytest.approx(1.0)
    # "no" four times weighs 1 + log 4 times "yes" once, not 4 times.
    assert max(weights) / min(weights) == pytest.approx(1 + math.log(4))
    assert hashed_ngrams("") == ([0], [0.0])


def test_minilm_ships_its_weights_and_loads_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pairs = _known_answer_pairs(24)
    result = train(
        pairs[:16],
        pairs[16:],
        TrainConfig(encoder="minilm", epochs=2, max_length=32),
        out_dir=tmp_path / "rm",
    )
    assert result.metrics["n"] == 8
    scores = load_reward_model(tmp_path / "rm").score(["q"] * 2, ["sorry i cannot help", "sure here is how"])
    assert len(scores) == 2 and all(isinstance(s, float) for s in scores)


def test_joint_head_learns_ratings_beside_preferences(tmp_path: Path) -> None:
    pairs = _known_answer_pairs(80)
    ratings = [RatedResponse(p.prompt, p.chosen, {"harmless": 4.0, "helpful": 1.0}) for p in pairs] + [
        RatedResponse(p.prompt, p.rejected, {"harmless": 0.0, "helpful": 3.0}) for p in pairs
    ]
    result = train(
        pairs[:60],
        pairs[60:],
        TrainConfig(head="joint", epochs=6, lr=3e-3),
        ratings=ratings,
        out_dir=tmp_path / "rm",
    )
    assert result.metrics["accuracy"] == 1.0
    model = load_reward_model(tmp_path / "rm")
    batch = model.featurizer.featurize(["q", "q"], [pairs[0].chosen, pairs[0].rejected])
    harmless = model.net.ratings(batch)[:, model.net.aspects.index("harmless")]
    assert harmless[0] > harmless[1]


def test_training_stops_when_cancelled(tmp_path: Path) -> None:
    calls = iter(range(1000))
    with pytest.raises(TrainingCancelled):
        train(
            _known_answer_pairs(200),
            [],
            TrainConfig(epochs=5, batch_size=8),
            out_dir=tmp_path / "rm",
            should_stop=lambda: next(calls) >= 3,
        )
    assert not (tmp_path / "rm" / "weights.pt").exists()


def test_bad_files_say_where_and_why(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl.gz"
    with gzip.open(bad, "wt") as handle:
        handle.write(json.dumps({"chosen": "a", "rejected": "b"}) + "\n{not json\n")
    with pytest.raises(DataError, match=r"bad.jsonl.gz:2: not JSON"):
        load_pairs(bad, "chosen-rejected")
    with pytest.raises(DataError, match="no such file"):
        load_pairs(tmp_path / "missing.jsonl", "chosen-rejected")
    missing_field = tmp_path / "m.jsonl"
    missing_field.write_text(json.dumps({"chosen": "a"}) + "\n")
    with pytest.raises(DataError, match=":1: needs string fields"):
        load_pairs(missing_field, "chosen-rejected")


def test_metrics_count_ties_as_half_and_measure_calibration() -> None:
    metrics = pairwise_metrics(torch.tensor([2.0, -2.0, 0.0, 5.0]))
    assert metrics["accuracy"] == pytest.approx((1 + 0 + 0.5 + 1) / 4) and metrics["n"] == 4
    assert 0 <= metrics["ece"] <= 1
