"""Tiny real media files written with the standard library, for tests (no network, no fixtures on disk)."""

import io
import json
import struct
import wave
import zlib
from pathlib import Path


def png_bytes(width: int = 3, height: int = 2, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid truecolour PNG of one colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def wav_bytes(frames: int = 800, rate: int = 8000) -> bytes:
    """A valid mono 16-bit WAV of silence."""
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(bytes(2 * frames))
    return out.getvalue()


def jpeg_head(width: int, height: int) -> bytes:
    """The start of a baseline JPEG (SOI, a JFIF APP0 segment, the frame header): enough to sniff and size."""
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    frame = struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return (
        b"\xff\xd8"
        + b"\xff\xe0"
        + struct.pack(">H", len(app0) + 2)
        + app0
        + b"\xff\xc0"
        + struct.pack(">H", len(frame) + 2)
        + frame
    )


# A command-provider program: writes a PNG whose colour comes from the seed, so that two seeds give two
# different files and one seed the same file twice.
PNG_WRITER = (
    "import struct, sys, zlib\n"
    "seed = int(sys.argv[2])\n"
    "def chunk(kind, data):\n"
    "    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))\n"
    "rows = (b'\\x00' + bytes([seed % 256, 0, 0]) * 2) * 2\n"
    "png = (b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 2, 2, 8, 2, 0, 0, 0))\n"
    "       + chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b''))\n"
    "open(sys.argv[1], 'wb').write(png)\n"
)


def media_item_lines(folder: Path, n: int = 1) -> list[str]:
    """n import lines (with their files written to `folder`): a painter's two images against a singer's
    song with a caption. Contents never name the system."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        (folder / f"a{i}.png").write_bytes(png_bytes(rgb=(i % 256, 0, 0)))
        (folder / f"b{i}.png").write_bytes(png_bytes(rgb=(0, i % 256, 1)))
        (folder / f"c{i}.wav").write_bytes(wav_bytes(frames=100 + i))
        candidates = [
            {"system": "painter", "media": [f"a{i}.png", f"b{i}.png"]},
            {"system": "singer", "media": f"c{i}.wav", "content": f"a song, take {i}"},
        ]
        lines.append(json.dumps({"id": f"m{i}", "prompt": f"Picture {i}", "candidates": candidates}))
    return lines
