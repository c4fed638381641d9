"""A tiny synthesizer for the demo's audio arena: it plays a prompt's letters as a melody and writes a
WAV. Each voice (timbre, note length) is one "system"; the arena runs it as a `command` provider, so
the demo needs no model, no download and no binary beyond Python.

    python -m app.demo.synth --voice sine OUTPUT.wav "A prompt"
"""

import argparse
import sys
import wave
from pathlib import Path

import numpy as np

RATE = 16_000
# A pentatonic scale (C major, two octaves): any sequence of its notes sounds tolerable.
SCALE_HZ = (261.6, 293.7, 329.6, 392.0, 440.0, 523.3, 587.3, 659.3, 784.0, 880.0)
VOICES = {
    # name: (note seconds, harmonics' relative amplitudes)
    "sine": (0.16, (1.0,)),
    "organ": (0.22, (1.0, 0.5, 0.25, 0.12)),
    "square": (0.12, (1.0, 0.0, 1 / 3, 0.0, 1 / 5, 0.0, 1 / 7)),
}
MAX_NOTES = 40


def melody(text: str, *, voice: str) -> np.ndarray:
    """16-bit samples: one note per letter or digit (at most MAX_NOTES), each with a short fade."""
    note_s, harmonics = VOICES[voice]
    symbols = [c for c in text.lower() if c.isalnum()][:MAX_NOTES] or ["a"]
    t = np.arange(int(RATE * note_s)) / RATE
    envelope = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.01)  # 10 ms in and out: no clicks
    notes = []
    for symbol in symbols:
        f = SCALE_HZ[ord(symbol) % len(SCALE_HZ)]
        tone = sum(a * np.sin(2 * np.pi * f * (k + 1) * t) for k, a in enumerate(harmonics))
        notes.append(envelope * tone / sum(harmonics))
    samples = np.concatenate(notes)
    return (0.6 * 32767 * samples).astype("<i2")


def write_wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(samples.tobytes())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Play a prompt's letters as a melody, to a WAV file.")
    parser.add_argument("--voice", choices=sorted(VOICES), required=True)
    parser.add_argument("output", type=Path)
    parser.add_argument("prompt")
    args = parser.parse_args(argv)
    try:
        write_wav(args.output, melody(args.prompt, voice=args.voice))
    except OSError as exc:
        print(f"cannot write {args.output}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
