"""Any program as a provider (a TTS engine, an image or video model, a codec): argv with placeholders,
run without a shell, the file it writes to {output} captured (a program whose arguments name no
{output} has its standard output captured instead).

Text outputs (media type text/*) come back as content; anything else as a file in the caller's output
directory (or a fresh temporary one), named per sample so that nothing is overwritten.
"""

import contextlib
import os
import random
import re
import signal
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
    Provider,
    prompt_text,
    split_system,
)

_STDERR_TAIL = 500
_PLACEHOLDER = re.compile(r"\{(prompt|system|output|seed|sample)\}")


class CommandProvider(Provider):
    def __init__(self, config: CommandConfig, *, output_dir: Path | None = None) -> None:
        self.config = config
        self.output_dir = output_dir
        self.program = Path(config.argv[0]).name

    def generate(self, messages: list[Message], params: GenerationParams) -> list[Generation]:
        system, conversation = split_system(messages)
        prompt = prompt_text(conversation)
        base_seed = params.seed if params.seed is not None else random.randrange(2**31)
        return [self._run(prompt, system, params, base_seed + k, k) for k in range(params.n)]

    def argv(self, *, prompt: str, system: str, output: Path, seed: int, sample: int) -> list[str]:
        """The command line for one sample. Each argument is filled in on its own and no shell runs it,
        so a prompt stays one argument whatever it contains; braces that are no placeholder are kept."""
        values = {"prompt": prompt, "system": system, "output": str(output), "seed": str(seed)}
        values["sample"] = str(sample)
        return [_PLACEHOLDER.sub(lambda m: values[m.group(1)], arg) for arg in self.config.argv]

    def _output_path(self, sample: int) -> Path:
        if self.output_dir is not None:
            self.output_dir.mkdir(parents=True, exist_ok=True)
        directory = Path(tempfile.mkdtemp(prefix="preflab-gen-", dir=self.output_dir))
        return directory / f"sample-{sample}{self.config.output_suffix}"

    def _run(self, prompt: str, system: str, params: GenerationParams, seed: int, sample: int) -> Generation:
        output = self._output_path(sample)
        argv = self.argv(prompt=prompt, system=system, output=output, seed=seed, sample=sample)
        started = time.perf_counter()
        returncode, stderr = self._execute(argv, output)
        latency = int((time.perf_counter() - started) * 1000)
        if returncode != 0:
            tail = stderr.strip()[-_STDERR_TAIL:] or "(nothing on stderr)"
            raise GenerationError(f"{self.program} exited {returncode}: {tail}")
        if not output.is_file() or output.stat().st_size == 0:
            where = "to {output}" if any("{output}" in arg for arg in self.config.argv) else "on stdout"
            raise GenerationError(f"{self.program} finished but wrote nothing {where}")
        content: str | None = None
        media_path: Path | None = output
        if self.config.media_type.startswith("text/"):
            try:
                content = output.read_text(encoding="utf-8")
            except UnicodeDecodeError as exc:
                raise GenerationError(f"{self.program} wrote text that is not UTF-8 ({exc.reason})") from exc
            output.unlink()
            media_path = None
        return Generation(
            content=content,
            provider="command",
            model=self.program,
            params=params.model_dump(),
            latency_ms=latency,
            media_path=media_path,
            media_type=self.config.media_type,
            seed=seed,
            finish_reason="stop",
        )

    def _execute(self, argv: list[str], output: Path) -> tuple[int, str]:
        env = {**os.environ, **self.config.env} if self.config.env else None
        to_stdout = not any("{output}" in arg for arg in self.config.argv)
        try:
            with output.open("wb") if to_stdout else open(os.devnull, "wb") as stdout:
                # A session of its own, so that a timeout stops the program's children too.
                process = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=stdout,
                    stderr=subprocess.PIPE,
                    env=env,
                    start_new_session=True,
                )
        except FileNotFoundError as exc:
            raise GenerationError(f"command not found: {argv[0]}") from exc
        except PermissionError as exc:
            raise GenerationError(f"command not executable: {argv[0]}") from exc
        try:
            _, stderr = process.communicate(timeout=self.config.timeout_s)
        except subprocess.TimeoutExpired as exc:
            _kill_group(process)
            raise GenerationError(
                f"{self.program} ran longer than {self.config.timeout_s:g} s and was stopped"
            ) from exc
        return process.returncode, stderr.decode("utf-8", errors="replace")


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):  # it ended on its own meanwhile
        os.killpg(process.pid, signal.SIGKILL)
    # A descendant that left the group may still hold stderr open; the program itself is gone.
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.communicate(timeout=5)
