"""Waveform peaks of a stored audio file (or a video's sound track), for drawing it on the task page.

The clip is cut into `BUCKETS` equal stretches of samples; each peak is the largest |amplitude| in its
stretch over all channels, divided by full scale, so 0 is silence and 1 a full-scale sample, and two
systems' clips drawn side by side show their real loudness. WAV (8/16/24/32-bit PCM) is read with the
standard library; everything else (MP3, OGG, FLAC, M4A, WebM, MP4, WAV in float or extensible format)
is decoded by the ffmpeg binary of imageio-ffmpeg to mono 16-bit PCM at `DECODE_RATE`, which is plenty
for an envelope. Peaks depend on the bytes only, so they are computed once and kept as JSON beside the
stored file; two first requests at once both compute and the last rename wins (same content).
"""

import json
import os
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.config import Settings
from app.errors import Invalid, UnsupportedMedia
from app.media.service import stored_path

BUCKETS = 800
DECODE_RATE = 8000
DECODE_TIMEOUT_S = 120
_WAV_CHUNK_FRAMES = 1 << 18


@dataclass(frozen=True)
class Peaks:
    peaks: list[float]
    duration_s: float

    def as_json(self) -> dict[str, object]:
        return {"peaks": self.peaks, "duration_s": self.duration_s}


def cache_path(settings: Settings, sha256: str) -> Path:
    stored = stored_path(settings, sha256)
    return stored.with_name(f"{stored.name}.peaks-{BUCKETS}.json")


def peaks_of(*, sha256: str, mime: str, settings: Settings) -> Peaks:
    """The stored file's peaks, from the cache or computed (and cached) now; raises UnsupportedMedia
    (415) for an image and Invalid (422) for media without a decodable sound track."""
    if not mime.startswith(("audio/", "video/")):
        raise UnsupportedMedia(f"peaks are drawn for audio and video files; this file is {mime}")
    cached = cache_path(settings, sha256)
    try:
        data = json.loads(cached.read_text(encoding="utf-8"))
        return Peaks(peaks=[float(p) for p in data["peaks"]], duration_s=float(data["duration_s"]))
    except (OSError, ValueError, KeyError, TypeError):
        pass  # not computed yet, or a damaged cache file: compute again
    peaks = compute(stored_path(settings, sha256), mime=mime)
    _write_atomically(cached, json.dumps(peaks.as_json(), separators=(",", ":")))
    return peaks


def compute(path: Path, *, mime: str, buckets: int = BUCKETS) -> Peaks:
    if mime == "audio/wav":
        try:
            return _wav_peaks(path, buckets)
        except (wave.Error, EOFError):
            pass  # float or extensible WAV: the stdlib reads PCM only, ffmpeg reads the rest
    return _decoded_peaks(path, buckets)


def bucket_peaks(samples: np.ndarray, buckets: int) -> list[float]:
    """Max |sample| per bucket of a 1-D array already scaled to -1..1; fewer buckets than samples."""
    n = len(samples)
    if n == 0:
        return []
    count = min(buckets, n)
    edges = (np.arange(count) * n) // count
    peaks = np.maximum.reduceat(np.abs(samples), edges)
    return [round(float(p), 4) for p in np.clip(peaks, 0.0, 1.0)]


def _wav_peaks(path: Path, buckets: int) -> Peaks:
    with wave.open(str(path), "rb") as reader:
        channels, width, rate, frames = (
            reader.getnchannels(),
            reader.getsampwidth(),
            reader.getframerate(),
            reader.getnframes(),
        )
        if frames == 0 or rate == 0:
            return Peaks(peaks=[], duration_s=0.0)
        count = min(buckets, frames)
        # Streamed chunk by chunk: a long WAV never sits in memory whole.
        edges = (np.arange(count + 1) * frames) // count
        peaks = np.zeros(count)
        start = 0
        while start < frames:
            chunk = _pcm_to_float(reader.readframes(_WAV_CHUNK_FRAMES), width)
            if chunk.size == 0:
                break
            mono = np.abs(chunk.reshape(-1, channels)).max(axis=1)
            end = start + len(mono)
            first = int(np.searchsorted(edges, start, side="right")) - 1
            last = int(np.searchsorted(edges, end - 1, side="right")) - 1
            for bucket in range(first, last + 1):
                lo, hi = max(edges[bucket], start) - start, min(edges[bucket + 1], end) - start
                if hi > lo:
                    peaks[bucket] = max(peaks[bucket], float(mono[lo:hi].max()))
            start = end
    return Peaks(
        peaks=[round(float(p), 4) for p in np.clip(peaks, 0.0, 1.0)], duration_s=round(frames / rate, 3)
    )


def _pcm_to_float(raw: bytes, width: int) -> np.ndarray:
    if width == 1:  # 8-bit WAV is unsigned
        return (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128) / 128
    if width == 2:
        return np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768
    if width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        value = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        value = np.where(value >= 1 << 23, value - (1 << 24), value)
        return value.astype(np.float64) / (1 << 23)
    if width == 4:
        return np.frombuffer(raw, dtype="<i4").astype(np.float64) / (1 << 31)
    raise wave.Error(f"{width * 8}-bit samples")


def _decoded_peaks(path: Path, buckets: int) -> Peaks:
    import imageio_ffmpeg

    argv = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-nostdin",
        "-v",
        "error",
        "-i",
        str(path),
        "-map",
        "0:a:0",
        "-ac",
        "1",
        "-ar",
        str(DECODE_RATE),
        "-f",
        "s16le",
        "-acodec",
        "pcm_s16le",
        "-",
    ]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=DECODE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise Invalid(f"decoding the file took over {DECODE_TIMEOUT_S} s; no peaks for it") from exc
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()
        if any("matches no streams" in line for line in reason):
            raise Invalid("this file has no sound track to draw")
        raise Invalid("the file could not be decoded: " + (reason[-1] if reason else "ffmpeg failed"))
    samples = np.frombuffer(done.stdout[: len(done.stdout) // 2 * 2], dtype="<i2").astype(np.float64) / 32768
    return Peaks(peaks=bucket_peaks(samples, buckets), duration_s=round(len(samples) / DECODE_RATE, 3))


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".peaks-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
