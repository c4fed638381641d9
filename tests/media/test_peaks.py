"""Waveform peaks: real WAV, OGG (Opus) and MP3 files made here, read back through the API."""

import hashlib
import io
import subprocess
import wave
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.config import Settings
from app.media import peaks
from tests.api_helpers import bearer
from tests.media.samples import png_bytes

RATE = 16000


def _half_silent_wav(seconds: float = 2.0, amplitude: float = 0.8) -> bytes:
    """A 440 Hz sine for the first half, silence for the second."""
    t = np.arange(int(seconds * RATE)) / RATE
    signal = amplitude * np.sin(2 * np.pi * 440 * t)
    signal[len(t) // 2 :] = 0
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(RATE)
        writer.writeframes((signal * 32767).astype("<i2").tobytes())
    return out.getvalue()


def _encode(wav: bytes, tmp_path: Path, name: str, *codec: str) -> bytes:
    source, target = tmp_path / "in.wav", tmp_path / name
    source.write_bytes(wav)
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-i",
            str(source),
            *codec,
            str(target),
        ],
        check=True,
        timeout=60,
    )
    return target.read_bytes()


def _check_envelope(body: dict, *, amplitude: float = 0.8) -> None:
    values = body["peaks"]
    assert len(values) == peaks.BUCKETS and all(0 <= v <= 1 for v in values)
    loud, quiet = values[: peaks.BUCKETS // 2 - 10], values[peaks.BUCKETS // 2 + 10 :]
    assert min(loud) > amplitude * 0.8 and max(loud) <= 1
    assert max(quiet) < 0.02
    assert body["duration_s"] == pytest.approx(2.0, abs=0.1)


def _upload(client: TestClient, headers: dict[str, str], data: bytes) -> str:
    r = client.post(
        "/api/v1/media", files={"file": ("clip", data, "application/octet-stream")}, headers=headers
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_wav_peaks_follow_the_envelope_and_are_cached(
    client: TestClient, session: Session, settings: Settings
) -> None:
    researcher = bearer(session, "res@example.org", Role.researcher)
    annotator = bearer(session, "ann@example.org")
    data = _half_silent_wav()
    media_id = _upload(client, researcher, data)

    r = client.get(f"/media/{media_id}/peaks", headers=annotator)
    assert r.status_code == 200, r.text
    _check_envelope(r.json())
    assert r.json()["duration_s"] == 2.0
    assert r.headers["cache-control"] == "private, max-age=31536000, immutable"
    etag = r.headers["etag"]

    cached = peaks.cache_path(settings, hashlib.sha256(data).hexdigest())
    assert cached.is_file()
    # The second answer is the cached one: a changed cache file shows through.
    cached.write_text('{"peaks": [0.5], "duration_s": 2.0}')
    assert client.get(f"/media/{media_id}/peaks", headers=annotator).json()["peaks"] == [0.5]
    # A damaged cache file is computed again.
    cached.write_text("{not json")
    _check_envelope(client.get(f"/media/{media_id}/peaks", headers=annotator).json())
    again = client.get(f"/media/{media_id}/peaks", headers={**annotator, "If-None-Match": etag})
    assert again.status_code == 304


@pytest.mark.parametrize(
    ("name", "codec"),
    [("clip.ogg", ("-c:a", "opus", "-strict", "-2", "-ar", "48000")), ("clip.mp3", ("-c:a", "libmp3lame"))],
)
def test_compressed_audio_is_decoded_with_ffmpeg(
    client: TestClient, session: Session, tmp_path: Path, name: str, codec: tuple[str, ...]
) -> None:
    researcher = bearer(session, "res@example.org", Role.researcher)
    encoded = _encode(_half_silent_wav(), tmp_path, name, *codec)
    media_id = _upload(client, researcher, encoded)
    r = client.get(f"/media/{media_id}/peaks", headers=researcher)
    assert r.status_code == 200, r.text
    _check_envelope(r.json())


def test_stereo_24_bit_wav_is_read_without_ffmpeg(tmp_path: Path) -> None:
    frames = 8000
    left = (np.linspace(0, 1, frames) * (2**23 - 1)).astype(np.int32)
    right = np.zeros(frames, dtype=np.int32)
    interleaved = np.stack([left, right], axis=1).reshape(-1)
    raw = b"".join(int(v).to_bytes(3, "little", signed=True) for v in interleaved)
    path = tmp_path / "ramp.wav"
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(2)
        writer.setsampwidth(3)
        writer.setframerate(8000)
        writer.writeframes(raw)
    result = peaks.compute(path, mime="audio/wav", buckets=10)
    assert result.duration_s == 1.0 and len(result.peaks) == 10
    # A rising ramp: each bucket's peak is its last sample, so they climb to 1.
    assert result.peaks == sorted(result.peaks) and result.peaks[-1] == pytest.approx(1.0, abs=1e-3)
    assert result.peaks[0] == pytest.approx(0.1, abs=0.01)


def test_refusals(client: TestClient, session: Session, tmp_path: Path) -> None:
    researcher = bearer(session, "res@example.org", Role.researcher)
    image = _upload(client, researcher, png_bytes())
    r = client.get(f"/media/{image}/peaks", headers=researcher)
    assert r.status_code == 415 and "image/png" in r.json()["detail"]
    assert client.get("/media/nope/peaks", headers=researcher).status_code == 404
    wav = _upload(client, researcher, _half_silent_wav())
    assert client.get(f"/media/{wav}/peaks").status_code == 401
    # A video without a sound track has nothing to draw.
    silent_video = tmp_path / "v.mp4"
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-nostdin",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=1:size=32x32:rate=5",
            "-c:v",
            "mpeg4",
            str(silent_video),
        ],
        check=True,
        timeout=60,
    )
    video = _upload(client, researcher, silent_video.read_bytes())
    r = client.get(f"/media/{video}/peaks", headers=researcher)
    assert r.status_code == 422 and "no sound track" in r.json()["detail"]
