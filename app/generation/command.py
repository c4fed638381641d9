"""Any program as a provider: argv with placeholders, run without a shell, its output file captured."""

import subprocess
import tempfile
import time
from pathlib import Path

from app.generation.base import (
    CommandConfig,
    Generation,
    GenerationError,
    GenerationParams,
    Message,
    prompt_text,
)


class CommandProvider:
    def __init__(self, config: CommandConfig, *, output_dir: Path | None = None) -> None:
        self.config = config
        self.output_dir = output_dir

    def _run(self, prompt: str, params: GenerationParams, sample: int) -> Generation:
        directory = Path(tempfile.mkdtemp(prefix="preflab-gen-", dir=self.output_dir))
        output = directory / f"output{self.config.output_suffix}"
        seed = (params.seed or 0) + sample
        values = {"prompt": prompt, "output": str(output), "seed": str(seed), "sample": str(sample)}
        # Each argument is filled in on its own and no shell runs, so a prompt cannot inject a command.
        argv = [arg.format_map(values) for arg in self.config.argv]
        started = time.perf_counter()
        try:
            result = subprocess.run(
                argv, capture_output=True, text=True, timeout=self.config.timeout_s, check=False
            )
        except FileNotFoundError as exc:
            raise GenerationError(f"command not found: {argv[0]}") from exc
        except subprocess.TimeoutExpired as exc:
            raise GenerationError(
                f"{argv[0]} ran longer than {self.config.timeout_s:g} s and was stopped"
            ) from exc
        if result.returncode != 0:
            raise GenerationError(f"{argv[0]} exited {result.returncode}: {result.stderr.strip()[-500:]}")
        if not output.is_file() or output.stat().st_size == 0:
            raise GenerationError(f"{argv[0]} wrote nothing to {{output}}")
        is_text = self.config.media_type.startswith("text/")
        return Generation(
            content=output.read_text(encoding="utf-8") if is_text else None,
            provider="command",
            model=Path(argv[0]).name,
            params=params.model_dump(),
            latency_ms=int((time.perf_counter() - started) * 1000),
            media_path=None if is_text else output,
            media_type=self.config.media_type,
            seed=seed,
            finish_reason="stop",
        )

    def generate(self, messages: list[Message], params: GenerationParams) -> list[Generation]:
        prompt = prompt_text(messages)
        return [self._run(prompt, params, sample) for sample in range(params.n)]

    def generate_batch(
        self, conversations: list[list[Message]], params: GenerationParams
    ) -> list[list[Generation]]:
        return [self.generate(messages, params) for messages in conversations]
