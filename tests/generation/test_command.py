"""The command provider with real programs: a WAV writer, text on a file or stdout, failures, timeouts."""

import os
import sys
import time
import wave
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.generation import CommandConfig, GenerationError, GenerationParams, Message, make_provider

ASK = [Message(role="system", content="calm voice"), Message(role="user", content="say hello")]
PY = sys.executable

# A stand-in for a TTS engine: a second of silence per seed unit, 8 kHz mono.
WAV_WRITER = (
    "import sys, wave\n"
    "out = wave.open(sys.argv[1], 'wb')\n"
    "out.setnchannels(1); out.setsampwidth(2); out.setframerate(8000)\n"
    "out.writeframes(bytes(2 * 8000 * int(sys.argv[2])))\n"
    "out.close()"
)


def test_a_program_writes_audio_per_sample(tmp_path: Path) -> None:
    config = CommandConfig(
        argv=[PY, "-c", WAV_WRITER, "{output}", "{seed}"], output_suffix=".wav", media_type="audio/wav"
    )
    provider = make_provider(config, output_dir=tmp_path / "media")
    outputs = provider.generate(ASK, GenerationParams(n=2, seed=1))

    assert [o.seed for o in outputs] == [1, 2]
    first, second = (o.media_path for o in outputs)
    assert first and second and first != second
    assert first.is_relative_to(tmp_path / "media") and first.suffix == ".wav"
    with wave.open(str(first)) as one, wave.open(str(second)) as two:
        assert (one.getnframes(), two.getnframes()) == (8000, 16000)
    assert outputs[0].content is None and outputs[0].media_type == "audio/wav"
    assert outputs[0].provider == "command" and outputs[0].model == Path(PY).name
    assert outputs[0].latency_ms >= 0 and outputs[0].finish_reason == "stop"


def test_prompt_and_system_stay_single_arguments(tmp_path: Path) -> None:
    echo_args = "import sys, json; open(sys.argv[1], 'w').write(json.dumps(sys.argv[2:]))"
    provider = make_provider(
        CommandConfig(argv=[PY, "-c", echo_args, "{output}", "{prompt}", "--voice={system}", "{sample}"])
    )
    tricky = [Message(role="user", content="hi; rm -rf / $(reboot) {seed} 'quoted' \"double\"")]
    (output,) = provider.generate(tricky, GenerationParams(seed=4))
    assert output.content == (
        '["hi; rm -rf / $(reboot) {seed} \'quoted\' \\"double\\"", "--voice=", "0"]'
    )  # one argument, untouched: no shell ran, and a placeholder inside the prompt is not filled in
    (spoken,) = provider.generate(ASK, GenerationParams())
    assert spoken.content == '["say hello", "--voice=calm voice", "0"]' and spoken.media_path is None


def test_standard_output_is_captured_when_no_output_file_is_named() -> None:
    provider = make_provider(
        CommandConfig(
            argv=[PY, "-c", "import os, sys; print(sys.argv[1].upper(), os.environ['VOICE'])", "{prompt}"],
            env={"VOICE": "alto"},
        )
    )
    assert provider.generate(ASK, GenerationParams())[0].content == "SAY HELLO alto\n"


def test_failures_are_explained() -> None:
    failing = make_provider(
        CommandConfig(argv=[PY, "-c", "import sys; print('loading', file=sys.stderr); sys.exit('no voice')"])
    )
    with pytest.raises(GenerationError, match=r"exited 1: loading\nno voice"):
        failing.generate(ASK, GenerationParams())
    silent = make_provider(CommandConfig(argv=[PY, "-c", "pass", "{output}"]))
    with pytest.raises(GenerationError, match=r"wrote nothing to \{output\}"):
        silent.generate(ASK, GenerationParams())
    binary = make_provider(
        CommandConfig(argv=[PY, "-c", "import sys; sys.stdout.buffer.write(b'\\xff\\xfe')"])
    )
    with pytest.raises(GenerationError, match="not UTF-8"):
        binary.generate(ASK, GenerationParams())
    with pytest.raises(GenerationError, match="command not found: /nonexistent/tts"):
        make_provider(CommandConfig(argv=["/nonexistent/tts"])).generate(ASK, GenerationParams())


def test_a_timeout_stops_the_program_and_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    spawner = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(60)"
    )
    slow = make_provider(CommandConfig(argv=[PY, "-c", spawner], timeout_s=1))
    started = time.monotonic()
    with pytest.raises(GenerationError, match=r"ran longer than 1 s and was stopped"):
        slow.generate(ASK, GenerationParams())
    assert time.monotonic() - started < 10
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child of a killed parent is reaped by init; until then it is a zombie.
    status = Path(f"/proc/{pid}/stat")
    return status.exists() and status.read_text().split()[2] != "Z"


def test_config_mistakes_are_caught_before_anything_runs() -> None:
    with pytest.raises(ValidationError, match=r"unknown placeholder \{promt\}.*known: \{prompt\}"):
        CommandConfig(argv=["tts", "--text", "{promt}"])
    with pytest.raises(ValidationError, match=r"\{prompt\} inside a shell script would run as code"):
        CommandConfig(argv=["/bin/bash", "-c", "tts --text '{prompt}' > {output}"])
    # As an argument of its own the prompt is safe, even for a shell; braces of other kinds are kept.
    CommandConfig(argv=["bash", "-c", 'tts --text "$1" > "$2"', "_", "{prompt}", "{output}"])
    CommandConfig(argv=[PY, "-c", "print({'a': 1})"])
    with pytest.raises(ValidationError, match="output_suffix"):
        CommandConfig(argv=["tts"], output_suffix="wav")
