"""Text-to-image with a tiny Stable Diffusion pipeline built by the test (skipped without diffusers)."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.generation import DiffusersConfig, GenerationError, GenerationParams, Message, make_provider

ASK = [Message(role="system", content="ignored"), Message(role="user", content="a red cat over the sea")]


def test_images_are_written_per_sample_and_reproducible(tiny_pipeline: Path, tmp_path: Path) -> None:
    config = DiffusersConfig(
        path=str(tiny_pipeline), device="cpu", steps=2, guidance=3.0, width=16, height=16
    )
    provider = make_provider(config, output_dir=tmp_path / "images")
    params = GenerationParams(n=2, seed=5)

    outputs = provider.generate(ASK, params)
    assert [o.seed for o in outputs] == [5, 6]
    paths = [o.media_path for o in outputs]
    assert all(p and p.is_relative_to(tmp_path / "images") and p.suffix == ".png" for p in paths)
    with Image.open(paths[0]) as image:  # type: ignore[arg-type]
        assert image.format == "PNG" and image.size == (16, 16)
    first = outputs[0]
    assert first.content is None and first.media_type == "image/png" and first.provider == "diffusers"
    assert (
        first.params["steps"] == 2
        and first.params["guidance"] == 3.0
        and first.extra == {"width": 16, "height": 16}
    )

    again = provider.generate(ASK, params)
    assert [p.read_bytes() for p in paths] == [o.media_path.read_bytes() for o in again]  # type: ignore[union-attr]
    # Each image has its own generator: made alone, the second one comes out the same (up to rounding).
    alone = provider.generate(ASK, GenerationParams(n=1, seed=6))[0]
    with Image.open(alone.media_path) as one, Image.open(paths[1]) as other:  # type: ignore[arg-type]
        gap = np.abs(np.asarray(one, dtype=int) - np.asarray(other, dtype=int)).max()
    assert gap <= 2


def test_pipeline_errors_are_explained(tiny_pipeline: Path, tmp_path: Path) -> None:
    with pytest.raises(GenerationError, match="no diffusers pipeline"):
        make_provider(DiffusersConfig(path=str(tmp_path)))
    provider = make_provider(
        DiffusersConfig(path=str(tiny_pipeline), device="cpu", steps=1, width=16, height=16)
    )
    with pytest.raises(GenerationError, match="needs a user message"):
        provider.generate([Message(role="system", content="only a system message")], GenerationParams())
