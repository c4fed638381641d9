"""The demo's media, made on the spot: nothing is downloaded and nothing is copied.

- images: a procedural landscape (numpy + Pillow), saved as JPEG and as WebP at about the same file
  size, for an image-quality comparison;
- audio: a synthesized voice-like phrase (harmonics shaped by moving vowel formants), encoded as MP3
  and as Opus at low bitrates with imageio-ffmpeg's ffmpeg;
- video: a procedural clip (moving gradient, a bouncing ball, a turning bar) rendered as WebM twice,
  VP8 and VP9 at the same low bitrate, with the same frames, so the two clips are equally long.

Sizes are small and clips short: all of it takes a few seconds on two cores.
"""

import io
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

IMAGE_SIZE = (480, 320)
JPEG_QUALITY = 30
AUDIO_RATE = 24_000
AUDIO_SECONDS = 4.0
VIDEO_SIZE = (320, 180)
VIDEO_FPS = 24
VIDEO_SECONDS = 4
VIDEO_BITRATE = "120k"


@dataclass(frozen=True)
class Variant:
    """One encoding of a source: the file (relative to the folder it was made in) and how it was made."""

    system: str
    path: str
    meta: dict[str, object]


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _run(argv: list[str], stdin: bytes | None = None) -> None:
    result = subprocess.run(argv, input=stdin, capture_output=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(
            f"ffmpeg exited {result.returncode}: {result.stderr.decode(errors='replace')[-800:]}"
        )


# Images


def landscape(seed: int) -> Image.Image:
    """A photo-like scene: graded sky, sun, two ranges of hills, textured grass and a few trees."""
    rng = np.random.default_rng(seed)
    width, height = IMAGE_SIZE
    y = np.linspace(0, 1, height)[:, None, None]
    top, horizon = np.array([40, 90, 170]), np.array([250, 200, 150]) + rng.integers(-20, 20, 3)
    sky = np.broadcast_to(top * (1 - y) + horizon * y, (height, width, 3)).copy()
    xs = np.arange(width)
    sun_x, sun_y = rng.integers(60, width - 60), rng.integers(40, 110)
    yy, xx = np.mgrid[0:height, 0:width]
    glow = np.exp(-((xx - sun_x) ** 2 + (yy - sun_y) ** 2) / (2 * 35.0**2))[..., None]
    sky = sky * (1 - 0.6 * glow) + np.array([255, 240, 200]) * 0.6 * glow
    image = sky
    for depth, (base, colour) in enumerate(((0.55, (90, 110, 140)), (0.68, (50, 95, 60)))):
        phase = rng.uniform(0, 2 * np.pi, 3)
        ridge = height * (
            base
            + 0.06 * np.sin(xs / 70 + phase[0])
            + 0.03 * np.sin(xs / 23 + phase[1])
            + 0.01 * np.sin(xs / 7 + phase[2])
        )
        mask = (yy > ridge[None, :])[..., None]
        shade = 1 - 0.35 * (yy - ridge[None, :]).clip(0, None)[..., None] / height
        image = np.where(mask, np.array(colour) * shade * (1 + 0.1 * depth), image)
    grass = rng.normal(0, 14, (height, width, 1))
    ground = yy[..., None] > height * 0.8
    image = np.where(ground, image * 0.9 + np.array([30, 70, 20]) * 0.3 + grass, image)
    image = image + rng.normal(0, 3, image.shape)  # sensor-like grain, which codecs must spend bits on
    picture = Image.fromarray(image.clip(0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(picture)
    for _ in range(7):
        x, foot = int(rng.integers(10, width - 10)), int(rng.integers(int(height * 0.8), height - 5))
        tall = int(rng.integers(30, 70))
        draw.rectangle((x - 2, foot - tall // 3, x + 2, foot), fill=(70, 45, 25))
        draw.polygon(
            [(x - tall // 4, foot - tall // 3), (x + tall // 4, foot - tall // 3), (x, foot - tall)],
            fill=(25, int(rng.integers(60, 100)), 35),
        )
    return picture.filter(ImageFilter.GaussianBlur(0.6))


def _encode(picture: Image.Image, fmt: str, quality: int) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format=fmt, quality=quality, **({"method": 4} if fmt == "WEBP" else {}))
    return buffer.getvalue()


def image_pair(folder: Path, *, name: str, seed: int) -> list[Variant]:
    """The scene as JPEG (fixed quality) and as WebP at the quality whose size is nearest the JPEG's."""
    picture = landscape(seed)
    jpeg = _encode(picture, "JPEG", JPEG_QUALITY)
    low, high = 1, 100
    best: tuple[int, bytes] | None = None
    while low <= high:  # WebP's size grows with quality: bisect towards the JPEG's size
        quality = (low + high) // 2
        data = _encode(picture, "WEBP", quality)
        if best is None or abs(len(data) - len(jpeg)) < abs(len(best[1]) - len(jpeg)):
            best = (quality, data)
        if len(data) < len(jpeg):
            low = quality + 1
        else:
            high = quality - 1
    assert best is not None
    webp_quality, webp = best
    (folder / f"{name}.jpg").write_bytes(jpeg)
    (folder / f"{name}.webp").write_bytes(webp)
    return [
        Variant("jpeg", f"{name}.jpg", {"codec": "jpeg", "quality": JPEG_QUALITY, "bytes": len(jpeg)}),
        Variant("webp", f"{name}.webp", {"codec": "webp", "quality": webp_quality, "bytes": len(webp)}),
    ]


# Audio


def voice(pitch_hz: float, seed: int) -> np.ndarray:
    """A voice-like phrase: a gliding pitch, harmonics weighted by formants that move from vowel to
    vowel, syllable envelopes and a breath of noise. Float samples in [-1, 1]."""
    rng = np.random.default_rng(seed)
    n = int(AUDIO_RATE * AUDIO_SECONDS)
    t = np.arange(n) / AUDIO_RATE
    f0 = pitch_hz * (1 + 0.12 * np.sin(2 * np.pi * 0.4 * t) + 0.015 * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / AUDIO_RATE
    vowels = np.array([[730, 1090, 2440], [270, 2290, 3010], [570, 840, 2410], [300, 870, 2240]], float)
    syllable_s = 0.32
    order = rng.integers(0, len(vowels), int(AUDIO_SECONDS / syllable_s) + 2)
    position = t / syllable_s
    k = position.astype(int)
    blend = (position - k)[:, None]
    formants = vowels[order[k]] * (1 - blend) + vowels[order[k + 1]] * blend
    out = np.zeros(n)
    for h in range(1, 40):
        freq = h * f0
        weight = sum(np.exp(-(((freq - formants[:, i]) / (80 + 40 * i)) ** 2)) / (i + 1) for i in range(3))
        out += np.where(freq < AUDIO_RATE / 2 - 500, weight, 0) * np.sin(h * phase) / h**0.5
    syllables = np.sin(np.pi * (position % 1)) ** 0.6
    pauses = (order[k] != order[0]) | (k % 4 != 3)  # a short rest every few syllables
    out = out * syllables * np.where(pauses, 1.0, 0.15) + 0.01 * rng.normal(size=n)
    fade = np.minimum(1, np.minimum(t, t[::-1]) / 0.02)
    return (0.8 * out * fade / np.abs(out).max()).astype(np.float32)


def _wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(AUDIO_RATE)
        writer.writeframes((samples * 32_767).astype("<i2").tobytes())


def audio_pair(folder: Path, *, name: str, pitch_hz: float, seed: int) -> list[Variant]:
    """The phrase as MP3 (LAME, 32 kbit/s) and as Opus in Ogg (16 kbit/s)."""
    source = folder / f"{name}.wav"
    _wav(source, voice(pitch_hz, seed))
    ffmpeg = _ffmpeg()
    common = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-i", str(source), "-ac", "1"]
    _run([*common, "-c:a", "libmp3lame", "-b:a", "32k", "-ar", "22050", str(folder / f"{name}.mp3")])
    _run([*common, "-c:a", "libopus", "-b:a", "16k", "-ar", "48000", str(folder / f"{name}.ogg")])
    source.unlink()
    return [
        Variant("mp3-32k", f"{name}.mp3", {"codec": "mp3", "bitrate_kbps": 32}),
        Variant("opus-16k", f"{name}.ogg", {"codec": "opus", "bitrate_kbps": 16}),
    ]


# Video


def frames(seed: int) -> np.ndarray:
    """VIDEO_SECONDS x VIDEO_FPS RGB frames: a drifting colour gradient, a bouncing ball with a
    shadow, a turning bar and fine stripes (detail a low bitrate smears)."""
    rng = np.random.default_rng(seed)
    width, height = VIDEO_SIZE
    count = VIDEO_SECONDS * VIDEO_FPS
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    hue = rng.uniform(0, 2 * np.pi)
    stripes = 20 * (np.sin(xx / 1.7) * np.sin(yy / 2.3))[..., None]
    out = np.empty((count, height, width, 3), np.uint8)
    for i in range(count):
        s = i / VIDEO_FPS
        base = np.stack(
            [
                120 + 80 * np.sin(xx / 60 + s + hue),
                120 + 80 * np.sin(yy / 45 - 0.7 * s + hue + 2),
                120 + 80 * np.sin((xx + yy) / 80 + 0.5 * s + hue + 4),
            ],
            axis=-1,
        )
        frame = base + stripes
        bx = width / 2 + (width / 2 - 30) * np.sin(1.3 * s)
        by = height - 30 - (height - 60) * abs(np.sin(2.1 * s))
        shadow = ((xx - bx) / 26) ** 2 + ((yy - (height - 12)) / 6) ** 2 < 1
        ball = (xx - bx) ** 2 + (yy - by) ** 2 < 22**2
        frame[shadow] *= 0.5
        frame[ball] = (235, 70, 60)
        angle = 1.7 * s
        along = (xx - width * 0.25) * np.cos(angle) + (yy - height * 0.35) * np.sin(angle)
        across = -(xx - width * 0.25) * np.sin(angle) + (yy - height * 0.35) * np.cos(angle)
        frame[(abs(along) < 34) & (abs(across) < 4)] = (250, 250, 250)
        out[i] = frame.clip(0, 255).astype(np.uint8)
    return out


def video_pair(folder: Path, *, name: str, seed: int) -> list[Variant]:
    """The same frames as WebM twice: VP8 and VP9, each at VIDEO_BITRATE."""
    raw = frames(seed).tobytes()
    width, height = VIDEO_SIZE
    source = [
        _ffmpeg(), "-hide_banner", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(VIDEO_FPS), "-i", "-",
        "-pix_fmt", "yuv420p", "-b:v", VIDEO_BITRATE, "-an",
    ]  # fmt: skip
    fast = ["-deadline", "realtime", "-cpu-used", "8"]
    _run([*source, "-c:v", "libvpx", *fast, str(folder / f"{name}-vp8.webm")], stdin=raw)
    _run([*source, "-c:v", "libvpx-vp9", *fast, "-row-mt", "1", str(folder / f"{name}-vp9.webm")], stdin=raw)
    meta = {"bitrate": VIDEO_BITRATE, "fps": VIDEO_FPS, "length_s": float(VIDEO_SECONDS)}
    return [
        Variant("vp8", f"{name}-vp8.webm", {"codec": "vp8", **meta}),
        Variant("vp9", f"{name}-vp9.webm", {"codec": "vp9", **meta}),
    ]
