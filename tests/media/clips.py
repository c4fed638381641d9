"""Real media clips for player tests, made here with numpy, Pillow and imageio-ffmpeg's ffmpeg.

Every clip is decodable by a browser: tones as WAV or OGG/Opus, WebM (VP8 or VP9) whose frames change
colour and show their own number, PNG and JPEG pictures with a label. Nothing is fetched.
"""

import subprocess
import wave
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

FPS = 25


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _run(argv: list[str], stdin: bytes | None = None) -> None:
    result = subprocess.run(argv, input=stdin, capture_output=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"ffmpeg exited {result.returncode}: {result.stderr.decode()[-2000:]}")


def tone(seconds: float, freq: float, rate: int = 16_000) -> np.ndarray:
    """A sine whose loudness rises and falls twice a second, so that a waveform has a shape to show."""
    t = np.arange(int(seconds * rate)) / rate
    envelope = 0.35 + 0.3 * np.sin(2 * np.pi * 2 * t) ** 2
    return (envelope * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def wav(path: Path, seconds: float = 4.0, freq: float = 440.0, rate: int = 16_000) -> Path:
    """A mono 16-bit WAV tone."""
    samples = (tone(seconds, freq, rate) * 32_767).astype("<i2")
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(samples.tobytes())
    return path


def opus(path: Path, seconds: float = 4.0, freq: float = 330.0) -> Path:
    """An OGG/Opus tone (48 kHz, as Opus wants)."""
    raw = tone(seconds, freq, 48_000).tobytes()
    argv = [_ffmpeg(), "-v", "error", "-y", "-f", "f32le", "-ar", "48000", "-ac", "1", "-i", "-"]
    _run([*argv, "-c:a", "libopus", "-b:a", "32k", str(path)], stdin=raw)
    return path


def _frame(index: int, size: tuple[int, int], hue: int) -> bytes:
    """One RGB frame: a colour that moves with the frame number, and the number written large."""
    width, height = size
    colour = ((hue + index * 9) % 256, (80 + index * 5) % 256, (200 - index * 3) % 256)
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width // 2, height // 3), fill=(0, 0, 0))
    draw.text((6, 4), f"{index:04d}", fill=(255, 255, 255), font_size=max(10, height // 5))
    return image.tobytes()


def webm(
    path: Path,
    seconds: float = 2.0,
    codec: str = "vp8",
    size: tuple[int, int] = (160, 120),
    hue: int = 0,
    audio_freq: float | None = None,
) -> Path:
    """A WebM clip at 25 frames a second (VP8 or VP9), optionally with an Opus tone as its sound."""
    frames = round(seconds * FPS)
    raw = b"".join(_frame(i, size, hue) for i in range(frames))
    video_codec = {"vp8": "libvpx", "vp9": "libvpx-vp9"}[codec]
    argv = [_ffmpeg(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24"]
    argv += ["-s", f"{size[0]}x{size[1]}", "-r", str(FPS), "-i", "-"]
    if audio_freq is not None:
        argv += ["-f", "lavfi", "-i", f"sine=frequency={audio_freq}:sample_rate=48000:duration={seconds}"]
        argv += ["-c:a", "libopus", "-b:a", "32k"]
    argv += ["-c:v", video_codec, "-b:v", "200k", "-pix_fmt", "yuv420p", "-g", "1", "-t", str(seconds)]
    argv += [str(path)]
    _run(argv, stdin=raw)
    return path


def picture(
    path: Path, label: str, size: tuple[int, int] = (320, 240), colour: tuple[int, int, int] = (40, 90, 160)
) -> Path:
    """A PNG or JPEG (by the suffix) with a checkerboard to see zoom and pan by, and a label."""
    width, height = size
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    step = 20
    for y in range(0, height, step):
        for x in range((y // step) % 2 * step, width, 2 * step):
            draw.rectangle((x, y, x + step - 1, y + step - 1), fill=tuple(min(255, c + 60) for c in colour))
    draw.text((10, 10), label, fill=(255, 255, 255), font_size=height // 6)
    fmt = "JPEG" if path.suffix.lower() in (".jpg", ".jpeg") else "PNG"
    image.save(path, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return path
