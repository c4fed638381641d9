"""Text-to-image with a local `diffusers` pipeline (Stable Diffusion and its kin), one PNG per sample.

Meant for GPU hosts (`pip install 'preflab[ml,diffusers]'`); it runs on the CPU too, slowly. Image k of
a call uses its own generator seeded with seed + k, so each image can be made again on its own (the
same up to rounding: a batch of images is computed together).
"""

import random
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from diffusers import AutoPipelineForText2Image, DiffusionPipeline
from diffusers.utils import deprecation_utils

from app.generation.base import (
    DiffusersConfig,
    Generation,
    GenerationError,
    GenerationParams,
    Message,
    Provider,
    params_record,
    split_system,
)
from workers.ml.generation.devices import pick_device, pick_dtype, seeded_generator

# diffusers renamed from_pretrained's `torch_dtype` to `dtype` in 2026; newer releases resolve both here.
_DTYPE_ARG = "dtype" if hasattr(deprecation_utils, "_resolve_dtype") else "torch_dtype"


class DiffusersProvider(Provider):
    def __init__(self, config: DiffusersConfig, *, output_dir: Path | None = None) -> None:
        path = Path(config.path)
        if not (path / "model_index.json").is_file():
            raise GenerationError(f"no diffusers pipeline at {path} (model_index.json is missing)")
        self.config = config
        self.name = path.name
        self.output_dir = output_dir
        self.device = pick_device(config.device)
        dtype = pick_dtype(config.dtype, self.device)
        try:
            try:
                self.pipeline = AutoPipelineForText2Image.from_pretrained(
                    path, local_files_only=True, **{_DTYPE_ARG: dtype}
                )
            except ValueError:
                # A pipeline class the auto mapping does not know: the one model_index.json names.
                self.pipeline = DiffusionPipeline.from_pretrained(
                    path, torch_dtype=dtype, local_files_only=True
                )
        except (OSError, ValueError, KeyError) as exc:
            raise GenerationError(f"cannot load a diffusers pipeline from {path}: {exc}") from exc
        self.pipeline.to(self.device)
        self.pipeline.set_progress_bar_config(disable=True)

    def generate(self, messages: list[Message], params: GenerationParams) -> list[Generation]:
        # An image prompt is one text: the last user turn; a system message has no meaning here.
        _, conversation = split_system(messages)
        prompt = next((m.content for m in reversed(conversation) if m.role == "user"), "")
        if not prompt.strip():
            raise GenerationError("a text-to-image prompt needs a user message")
        base_seed = params.seed if params.seed is not None else random.randrange(2**31)
        seeds = [base_seed + k for k in range(params.n)]
        size = {
            key: value
            for key, value in (("width", self.config.width), ("height", self.config.height))
            if value
        }
        started = time.perf_counter()
        try:
            with torch.inference_mode():
                images = self.pipeline(
                    prompt,
                    num_inference_steps=self.config.steps,
                    guidance_scale=self.config.guidance,
                    num_images_per_prompt=params.n,
                    generator=[seeded_generator(self.device, seed) for seed in seeds],
                    **size,
                ).images
        except torch.cuda.OutOfMemoryError as exc:
            raise GenerationError(f"{self.name}: out of GPU memory; lower n, width or height") from exc
        except (RuntimeError, ValueError, TypeError) as exc:
            raise GenerationError(f"{self.name}: the pipeline failed: {exc}") from exc
        latency = int((time.perf_counter() - started) * 1000)
        directory = self._directory()
        record = params_record(params, steps=self.config.steps, guidance=self.config.guidance, **size)
        outputs = []
        for k, (image, seed) in enumerate(zip(images, seeds, strict=True)):
            path = directory / f"sample-{k}.png"
            image.save(path, format="PNG")
            outputs.append(
                Generation(
                    content=None,
                    provider="diffusers",
                    model=self.name,
                    params=record,
                    latency_ms=latency,
                    media_path=path,
                    media_type="image/png",
                    seed=seed,
                    finish_reason="stop",
                    extra=_size(image),
                )
            )
        return outputs

    def _directory(self) -> Path:
        if self.output_dir is not None:
            self.output_dir.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="preflab-gen-", dir=self.output_dir))


def _size(image: Any) -> dict[str, int]:
    width, height = image.size
    return {"width": int(width), "height": int(height)}
