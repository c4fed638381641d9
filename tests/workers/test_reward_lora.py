"""LoRA fine-tuning of a transformer reward model, on a tiny encoder built offline (no downloads)."""

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.support.tiny_encoder import build_tiny_encoder
from tests.workers.test_reward_trainer import _known_answer_pairs
from workers.ml.reward import TrainConfig, TrainResult, load_reward_model, train
from workers.ml.reward.encoders import autocast


def _train_lora(tmp_path: Path, device: str = "cpu") -> tuple[Path, Path, TrainResult]:
    encoder = build_tiny_encoder(tmp_path / "tiny")
    pairs = _known_answer_pairs(80)
    config = TrainConfig(
        encoder=str(encoder), lora=True, epochs=4, max_length=32, lora_lr=1e-2, lora_rank=4, device=device
    )
    result = train(pairs[:60], pairs[60:], config, out_dir=tmp_path / "rm")
    return encoder, tmp_path / "rm", result


def test_lora_trains_only_the_adapters_and_the_head(tmp_path: Path) -> None:
    from transformers import AutoModel

    encoder, out, result = _train_lora(tmp_path)
    adapters = load_file(out / "adapter" / "adapter_model.safetensors")
    assert adapters and all("lora_A" in name or "lora_B" in name for name in adapters)
    # B starts at zero (Hu et al., 2021); trained adapters have moved it.
    assert any(v.abs().sum() > 0 for k, v in adapters.items() if "lora_B" in k)
    head = torch.load(out / "weights.pt", weights_only=True)
    assert not any(name.startswith("encoder.") for name in head)  # the backbone is not copied

    model = load_reward_model(out, device="cpu")
    original = AutoModel.from_pretrained(encoder).state_dict()
    base = {
        name.replace("base_model.model.", "").replace(".base_layer", ""): value
        for name, value in model.featurizer.transformer.model.state_dict().items()  # type: ignore[union-attr]
        if "lora_" not in name
    }
    assert set(original) <= set(base)
    assert all(torch.equal(original[name], base[name]) for name in original)
    assert result.metrics == pytest.approx(model.evaluate(_known_answer_pairs(80)[60:]))


def test_lora_lowers_the_training_loss_and_the_adapters_matter(tmp_path: Path) -> None:
    _, out, result = _train_lora(tmp_path)
    losses = [point["train_loss"] for point in result.curve]
    assert losses[-1] < losses[0]
    assert result.metrics["accuracy"] == 1.0
    model = load_reward_model(out, device="cpu")
    texts = (["q", "q"], ["sorry i cannot help with that", "sure here is how"])
    with_adapters = model.score(*texts)
    with model.featurizer.transformer.model.disable_adapter():  # type: ignore[union-attr]
        without = model.score(*texts)
    assert with_adapters[0] > with_adapters[1]
    assert with_adapters != pytest.approx(without)


def test_lora_needs_a_transformer_and_a_visible_gpu_when_asked(tmp_path: Path) -> None:
    pairs = _known_answer_pairs(10)
    with pytest.raises(ValueError, match="LoRA fine-tunes a transformer"):
        train(pairs, [], TrainConfig(encoder="hashing", lora=True), out_dir=tmp_path / "a")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no GPU is visible"):
            train(pairs, [], TrainConfig(device="cuda"), out_dir=tmp_path / "b")
    # Full precision on CPU: autocast there would be slower and less accurate.
    assert not isinstance(autocast(torch.device("cpu")), torch.autocast)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_lora_on_the_gpu_uses_mixed_precision_and_reloads(tmp_path: Path) -> None:
    _, out, result = _train_lora(tmp_path, device="auto")
    assert isinstance(autocast(torch.device("cuda")), torch.autocast)
    model = load_reward_model(out)
    assert model.device.type == "cuda"
    assert model.evaluate(_known_answer_pairs(80)[60:])["accuracy"] == pytest.approx(
        result.metrics["accuracy"]
    )
