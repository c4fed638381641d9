"""Where a local model runs and in which precision."""

import torch

from app.generation.base import DType, GenerationError

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def pick_device(choice: str) -> torch.device:
    """auto: the GPU when one is visible, else the CPU. cuda without a GPU is an error, not a fallback."""
    has_gpu = torch.cuda.is_available()
    if choice == "cuda" and not has_gpu:
        raise GenerationError("device cuda was asked for, but no GPU is visible on this host")
    return torch.device("cuda" if choice != "cpu" and has_gpu else "cpu")


def pick_dtype(choice: DType, device: torch.device) -> torch.dtype:
    """auto: full precision on the CPU (half is slow there), bfloat16 on GPUs that have it, else float16."""
    if choice != "auto":
        return _DTYPES[choice]
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def seeded_generator(device: torch.device, seed: int) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)
