"""The media store: types by content, one file and one row per content, limits, byte ranges."""

import hashlib
import io
import struct
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import NotFound, TooLarge, UnsupportedMedia
from app.media import service
from app.media.models import MediaFile
from tests.media.samples import jpeg_head, png_bytes, wav_bytes


def _webp(chunk: bytes, body: bytes) -> bytes:
    return (
        b"RIFF" + struct.pack("<I", 4 + 8 + len(body)) + b"WEBP" + chunk + struct.pack("<I", len(body)) + body
    )


@pytest.mark.parametrize(
    ("head", "mime"),
    [
        (png_bytes(), "image/png"),
        (jpeg_head(4, 4), "image/jpeg"),
        (b"GIF89a\x02\x00\x01\x00", "image/gif"),
        (_webp(b"VP8X", bytes(10)), "image/webp"),
        (wav_bytes(), "audio/wav"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "audio/mpeg"),
        (b"\xff\xfb\x90\x64" + bytes(40), "audio/mpeg"),  # MPEG-1 layer III frame, no ID3 tag
        (b"OggS\x00\x02" + bytes(22) + b"\x01vorbis", "audio/ogg"),
        (b"OggS\x00\x02" + bytes(22) + b"\x80theora", "video/ogg"),
        (b"fLaC\x00\x00\x00\x22", "audio/flac"),
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", "video/mp4"),
        (b"\x00\x00\x00\x20ftypM4A \x00\x00\x02\x00", "audio/mp4"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm\x42\x87", "video/webm"),
        # Refused: text, an empty file, HEIC (an ftyp box but a still image), other Matroska, AAC frames.
        (b"just some text that claims to be a PNG", None),
        (b"", None),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", None),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska", None),
        (b"\xff\xf1\x50\x80" + bytes(40), None),
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", None),
    ],
)
def test_sniff_reads_the_type_from_the_bytes(head: bytes, mime: str | None) -> None:
    assert service.sniff(head) == mime


def test_image_sizes_come_from_the_headers() -> None:
    assert service.image_size("image/png", png_bytes(7, 5)) == {"width": 7, "height": 5}
    assert service.image_size("image/jpeg", jpeg_head(640, 480)) == {"width": 640, "height": 480}
    assert service.image_size("image/gif", b"GIF89a\x02\x01\x03\x00") == {"width": 258, "height": 3}
    vp8x = bytes(4) + (99).to_bytes(3, "little") + (49).to_bytes(3, "little")
    assert service.image_size("image/webp", _webp(b"VP8X", vp8x)) == {"width": 100, "height": 50}
    vp8l = b"\x2f" + ((19) | (9 << 14)).to_bytes(4, "little")
    assert service.image_size("image/webp", _webp(b"VP8L", vp8l)) == {"width": 20, "height": 10}
    assert service.image_size("audio/wav", wav_bytes()) == {}
    assert service.image_size("image/jpeg", b"\xff\xd8\xff\xe0\x00") == {}  # cut short: no size, no error


def _files(settings: Settings) -> list[Path]:
    return sorted(p for p in service.media_dir(settings).rglob("*") if p.is_file())


def test_stored_audio_knows_its_duration_and_images_their_size(session: Session, settings: Settings) -> None:
    audio = service.store_stream(
        session, source=io.BytesIO(wav_bytes(frames=12_000, rate=8000)), settings=settings
    )
    image = service.store_stream(session, source=io.BytesIO(png_bytes(7, 5)), settings=settings)
    assert audio.meta == {"duration_s": 1.5}
    assert image.meta == {"width": 7, "height": 5}
    # Headers that say nothing usable give no duration, and no error.
    broken = settings.data_dir / "broken.wav"
    broken.write_bytes(wav_bytes()[:20])
    assert service.duration("audio/wav", broken) == {}
    assert service.duration("image/png", broken) == {}


def test_the_same_bytes_are_one_file_and_one_row(session: Session, settings: Settings) -> None:
    data = png_bytes(4, 3)
    digest = hashlib.sha256(data).hexdigest()
    first = service.store_stream(session, source=io.BytesIO(data), settings=settings)
    session.commit()
    again = service.store_stream(session, source=io.BytesIO(data), settings=settings)
    session.commit()

    assert again.id == first.id and first.sha256 == digest
    assert (first.mime, first.size_bytes, first.meta) == ("image/png", len(data), {"width": 4, "height": 3})
    assert len(first.public_id) == 24 and digest[:24] not in first.public_id
    stored = service.stored_path(settings, digest)
    assert stored == settings.data_dir / "media" / digest[:2] / digest[2:4] / digest
    assert _files(settings) == [stored] and stored.read_bytes() == data  # nothing left in tmp
    assert session.scalar(select(func.count()).select_from(MediaFile)) == 1


def test_a_row_lost_to_a_rollback_finds_its_file_in_place(session: Session, settings: Settings) -> None:
    data = wav_bytes()
    service.store_stream(session, source=io.BytesIO(data), settings=settings)
    session.rollback()  # the file stays; storing the same bytes again makes the row
    media = service.store_stream(session, source=io.BytesIO(data), settings=settings)
    session.commit()
    assert media.mime == "audio/wav" and len(_files(settings)) == 1


def test_limits_and_types_leave_nothing_behind(session: Session, settings: Settings) -> None:
    small = settings.model_copy(update={"media_max_bytes": 1000})
    with pytest.raises(TooLarge, match="over the 1000 byte limit"):
        service.store_stream(session, source=io.BytesIO(png_bytes(40, 40) + bytes(2000)), settings=small)
    with pytest.raises(UnsupportedMedia, match="not a media type Preflab accepts"):
        service.store_stream(session, source=io.BytesIO(b"<html>not an image</html>"), settings=settings)
    with pytest.raises(UnsupportedMedia):
        service.store_stream(session, source=io.BytesIO(b""), settings=settings)
    with pytest.raises(NotFound):
        service.store_path(session, path=settings.data_dir / "nope.png", settings=settings)
    assert _files(settings) == []
    assert session.scalar(select(func.count()).select_from(MediaFile)) == 0


def test_a_wrong_type_is_refused_at_its_first_chunk(session: Session, settings: Settings) -> None:
    class Endless(io.BytesIO):
        reads = 0

        def read(self, size: int | None = -1) -> bytes:
            self.reads += 1
            return b"x" * (size or 1)

    source = Endless()
    with pytest.raises(UnsupportedMedia):
        service.store_stream(session, source=source, settings=settings)
    assert source.reads == 1


def test_inspect_path_checks_a_file_without_storing_it(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(png_bytes())
    (tmp_path / "fake.png").write_text("hello")
    assert service.inspect_path(tmp_path / "a.png", settings=settings) == "image/png"
    with pytest.raises(UnsupportedMedia):
        service.inspect_path(tmp_path / "fake.png", settings=settings)
    with pytest.raises(TooLarge):
        service.inspect_path(tmp_path / "a.png", settings=settings.model_copy(update={"media_max_bytes": 10}))
    with pytest.raises(NotFound):
        service.inspect_path(tmp_path / "missing.wav", settings=settings)
    assert _files(settings) == []


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-9", (0, 9)),
        ("bytes=5-", (5, 99)),
        ("bytes=-10", (90, 99)),
        ("bytes=-500", (0, 99)),
        ("bytes=90-500", (90, 99)),
        ("bytes=99-99", (99, 99)),
        # Not one well-formed byte range: ignored, the whole file is sent.
        ("bytes=0-1,5-6", None),
        ("items=0-9", None),
        ("bytes=9-1", None),
        ("bytes=a-b", None),
        ("bytes=-", None),
    ],
)
def test_parse_range(header: str | None, expected: tuple[int, int] | None) -> None:
    assert service.parse_range(header, size=100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=500-600", "bytes=-0"])
def test_unsatisfiable_ranges(header: str) -> None:
    with pytest.raises(service.RangeNotSatisfiable):
        service.parse_range(header, size=100)


def test_open_range_streams_the_asked_bytes(session: Session, settings: Settings) -> None:
    data = wav_bytes(frames=300_000)  # 600 kB: several chunks
    media = service.store_stream(session, source=io.BytesIO(data), settings=settings)
    chunks = list(service.open_range(media, settings=settings))
    assert len(chunks) > 1 and b"".join(chunks) == data
    assert b"".join(service.open_range(media, settings=settings, first=10, last=20)) == data[10:21]
    service.stored_path(settings, media.sha256).unlink()
    with pytest.raises(NotFound, match="missing from the store"):
        service.open_range(media, settings=settings)
