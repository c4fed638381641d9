"""LoRA adapters on a transformer encoder (Hu et al., 2021, "LoRA: Low-Rank Adaptation of Large
Language Models"): each adapted weight W stays frozen and learns W + (alpha / r) * B A, with A (r x in)
random and B (out x r) zero at the start, so training begins from the pretrained encoder exactly."""

from dataclasses import dataclass
from pathlib import Path

from workers.ml.reward.encoders import TransformerEncoder

ADAPTER_DIR = "adapter"


@dataclass(frozen=True)
class LoraSettings:
    rank: int = 8
    alpha: float = 16.0
    dropout: float = 0.05
    # Every linear layer, not only the attention projections of the paper: QLoRA (Dettmers et al.,
    # 2023) found that adapting all of them is what matches full fine-tuning.
    target_modules: str = "all-linear"


def add_adapters(encoder: TransformerEncoder, settings: LoraSettings) -> None:
    """Wraps the encoder's model with fresh adapters; only the adapters are left trainable."""
    from peft import LoraConfig, get_peft_model

    if settings.rank < 1:
        raise ValueError(f"LoRA rank must be at least 1, not {settings.rank}")
    config = LoraConfig(
        r=settings.rank,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=settings.target_modules,
        bias="none",
    )
    encoder.model = get_peft_model(encoder.model, config)


def save_adapters(encoder: TransformerEncoder, directory: Path) -> None:
    encoder.model.save_pretrained(directory / ADAPTER_DIR)


def load_adapters(encoder: TransformerEncoder, directory: Path) -> None:
    from peft import PeftModel

    path = directory / ADAPTER_DIR
    if not (path / "adapter_config.json").is_file():
        raise ValueError(f"{directory} was trained with LoRA but has no adapters at {path}")
    encoder.model = PeftModel.from_pretrained(encoder.model, path).to(encoder.device)
    encoder.model.eval()
