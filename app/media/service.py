"""The content-addressed media store: what a file is (by its bytes), storing it once, reading it back.

Files are streamed to a temporary file in the data directory with a running sha256 and a size cap,
then renamed to data_dir/media/<aa>/<bb>/<sha256>: the same bytes are one file and one row however
often they arrive. No HTTP here; callers commit. A file whose row is rolled back stays in the store
(harmless: the next upload of the same bytes finds it in place).
"""

import contextlib
import hashlib
import math
import os
import re
import struct
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import DomainError, NotFound, TooLarge, UnsupportedMedia
from app.items.models import Candidate, Item
from app.media.models import CandidateMedia, MediaFile

CHUNK = 1024 * 1024
# Enough bytes to tell every accepted type apart; the first 64 KiB are kept for an image's size, which
# a JPEG may put after a long EXIF block.
SNIFF_BYTES = 512
HEAD_BYTES = 64 * 1024
READ_CHUNK = 256 * 1024

ACCEPTED = (
    "image/png, image/jpeg, image/webp, image/gif, audio/wav, audio/mpeg, audio/ogg, audio/flac, "
    "audio/mp4, video/mp4, video/ogg, video/webm"
)
# ISO base media brands of still images (HEIF, AVIF): an ftyp box, but not something <video> plays.
_IMAGE_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}
# JPEG start-of-frame markers (they carry the size); C4, C8 and CC are other segments.
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def sniff(head: bytes) -> str | None:
    """The media type of a file from its first bytes (magic numbers), or None when it is none we take.

    The name and the declared type are never consulted: both are whatever the sender says.
    """
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"OggS"):
        return "video/ogg" if b"\x80theora" in head else "audio/ogg"
    if head[4:8] == b"ftyp" and len(head) >= 12:
        brand = head[8:12]
        if brand in _IMAGE_BRANDS:
            return None
        return "audio/mp4" if brand in _AUDIO_BRANDS else "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        # EBML: WebM names its DocType in the header; other Matroska files are not playable everywhere.
        return "video/webm" if b"webm" in head[:64] else None
    if head.startswith(b"ID3") or _mpeg_audio_frame(head):
        return "audio/mpeg"
    return None


def _mpeg_audio_frame(head: bytes) -> bool:
    # An MPEG audio frame header: 11 sync bits, then version, layer, bitrate and rate fields, of which
    # the reserved values are refused so that random bytes starting with 0xFF rarely pass.
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 0b11, (head[1] >> 1) & 0b11
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 0b11
    return version != 0b01 and layer == 0b01 and bitrate not in (0, 0b1111) and rate != 0b11


def image_size(mime: str, head: bytes) -> dict[str, int]:
    """{"width", "height"} when the file's first bytes say so, else {}."""
    try:
        size = _image_size(mime, head)
    except (IndexError, struct.error):
        return {}
    if size is None or min(size) <= 0:
        return {}
    return {"width": size[0], "height": size[1]}


def duration(mime: str, path: Path) -> dict[str, float]:
    """{"duration_s"} of an audio or video file, read from its headers (mutagen: WAV, MP3, OGG, FLAC,
    MP4), else {}: WebM, or a file whose headers do not say."""
    if not mime.startswith(("audio/", "video/")):
        return {}
    try:
        import mutagen

        parsed = mutagen.File(path)
    except Exception:  # mutagen raises its own errors and struct/EOF ones on damaged headers
        return {}
    length = getattr(getattr(parsed, "info", None), "length", None)
    if not isinstance(length, int | float) or not math.isfinite(length) or length <= 0:
        length = _ffmpeg_duration(path)
    if length is None:
        return {}
    return {"duration_s": round(float(length), 3)}


_FFMPEG_DURATION = re.compile(rb"Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)")


def _ffmpeg_duration(path: Path) -> float | None:
    """The duration ffmpeg reads from the container (WebM, which mutagen does not parse), or None."""
    try:
        import imageio_ffmpeg

        probe = subprocess.run(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
            capture_output=True,
            timeout=20,
            check=False,
        )
    except (ImportError, RuntimeError, OSError, subprocess.TimeoutExpired):
        return None
    # `ffmpeg -i` with no output exits 1 by design; the header it printed is what counts.
    found = _FFMPEG_DURATION.search(probe.stderr)
    if found is None:
        return None
    hours, minutes, seconds = found.groups()
    length = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    return length if length > 0 else None


def _image_size(mime: str, head: bytes) -> tuple[int, int] | None:
    if mime == "image/png" and head[12:16] == b"IHDR":
        return struct.unpack(">II", head[16:24])
    if mime == "image/gif":
        return struct.unpack("<HH", head[6:10])
    if mime == "image/webp":
        chunk = head[12:16]
        if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
            width, height = struct.unpack("<HH", head[26:30])
            return width & 0x3FFF, height & 0x3FFF
        if chunk == b"VP8L" and head[20] == 0x2F:
            bits = int.from_bytes(head[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if chunk == b"VP8X":
            return int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1
        return None
    if mime == "image/jpeg":
        return _jpeg_size(head)
    return None


def _jpeg_size(head: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 4 <= len(head):
        if head[i] != 0xFF:
            return None
        marker = head[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            i += 2
            continue
        if marker == 0xDA:  # start of scan: the frame header would have come before
            return None
        if marker in _JPEG_SOF:
            height, width = struct.unpack(">HH", head[i + 5 : i + 9])
            return width, height
        i += 2 + struct.unpack(">H", head[i + 2 : i + 4])[0]
    return None


def media_dir(settings: Settings) -> Path:
    return settings.data_dir / "media"


def stored_path(settings: Settings, sha256: str) -> Path:
    """Where the bytes with this digest live: two levels of fan-out keep directories small."""
    return media_dir(settings) / sha256[:2] / sha256[2:4] / sha256


def media_url(public_id: str) -> str:
    return f"/media/{public_id}"


def scratch_dir(settings: Settings) -> Path:
    """Temporary files go here, on the store's filesystem, so that storing one is a rename."""
    path = media_dir(settings) / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class _Spooled:
    path: Path
    sha256: str
    size: int
    mime: str
    head: bytes


def _too_large(settings: Settings) -> TooLarge:
    return TooLarge(
        f"the file is over the {settings.media_max_bytes} byte limit for one media file "
        "(PREFLAB_MEDIA_MAX_BYTES)"
    )


def _unsupported() -> UnsupportedMedia:
    return UnsupportedMedia(f"the file's content is not a media type Preflab accepts ({ACCEPTED})")


def _spool(source: BinaryIO, *, settings: Settings) -> _Spooled:
    """Copies `source` to a temporary file in the store, hashing and checking it on the way."""
    digest = hashlib.sha256()
    head = b""
    size = 0
    mime: str | None = None
    handle, name = tempfile.mkstemp(dir=scratch_dir(settings), prefix="upload-")
    path = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > settings.media_max_bytes:
                    raise _too_large(settings)
                if len(head) < HEAD_BYTES:
                    head += chunk[: HEAD_BYTES - len(head)]
                if mime is None and len(head) >= SNIFF_BYTES:
                    # Refuse a wrong type at its first chunk rather than after the whole body.
                    mime = sniff(head) or ""
                    if not mime:
                        raise _unsupported()
                digest.update(chunk)
                out.write(chunk)
        mime = mime or sniff(head)
        if not mime:
            raise _unsupported()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return _Spooled(path=path, sha256=digest.hexdigest(), size=size, mime=mime, head=head)


def store_stream(session: Session, *, source: BinaryIO, settings: Settings) -> MediaFile:
    """Stores the bytes read from `source` (never all in memory) and returns their row.

    The same bytes give the same row, however often they are stored. Raises TooLarge or
    UnsupportedMedia, having stored nothing.
    """
    spooled = _spool(source, settings=settings)
    meta: dict[str, float] = {
        **image_size(spooled.mime, spooled.head),
        **duration(spooled.mime, spooled.path),
    }
    target = stored_path(settings, spooled.sha256)
    if target.is_file():
        spooled.path.unlink()
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        # mkstemp makes the file private to this user; the store's files are readable like its folders.
        spooled.path.chmod(0o644)
        os.replace(spooled.path, target)
    existing = session.scalar(select(MediaFile).where(MediaFile.sha256 == spooled.sha256))
    if existing is not None:
        return existing
    media = MediaFile(
        sha256=spooled.sha256,
        mime=spooled.mime,
        size_bytes=spooled.size,
        meta=meta,
    )
    try:
        with session.begin_nested():
            session.add(media)
    except IntegrityError:
        # The same bytes were stored by a concurrent transaction that committed first.
        return session.scalars(select(MediaFile).where(MediaFile.sha256 == spooled.sha256)).one()
    return media


def inspect_path(path: Path, *, settings: Settings) -> str:
    """The media type of a file on disk, checked before an import stores anything (raises like
    store_stream, or NotFound for a missing file)."""
    if not path.is_file():
        raise NotFound(f"no file {path}")
    if path.stat().st_size > settings.media_max_bytes:
        raise _too_large(settings)
    with path.open("rb") as handle:
        mime = sniff(handle.read(SNIFF_BYTES))
    if mime is None:
        raise _unsupported()
    return mime


def store_path(session: Session, *, path: Path, settings: Settings) -> MediaFile:
    """Stores a copy of a file on disk (the original is left where it is)."""
    if not path.is_file():
        raise NotFound(f"no file {path}")
    with path.open("rb") as handle:
        return store_stream(session, source=handle, settings=settings)


def get_media(session: Session, *, public_id: str) -> MediaFile:
    media = session.scalar(select(MediaFile).where(MediaFile.public_id == public_id))
    if media is None:
        raise NotFound(f"no media '{public_id}'")
    return media


def media_by_public_id(session: Session, *, public_ids: Iterable[str]) -> dict[str, MediaFile]:
    wanted = sorted(set(public_ids))
    if not wanted:
        return {}
    return {m.public_id: m for m in session.scalars(select(MediaFile).where(MediaFile.public_id.in_(wanted)))}


def attach(session: Session, *, rows: Iterable[tuple[int, list[int]]]) -> None:
    """Gives each candidate (id, [media ids in order]) its media; flushes."""
    values = [
        {"candidate_id": candidate_id, "position": position, "media_id": media_id}
        for candidate_id, media_ids in rows
        for position, media_id in enumerate(media_ids)
    ]
    if values:
        session.execute(CandidateMedia.__table__.insert(), values)
    session.flush()


def media_of_candidates(session: Session, *, candidate_ids: Iterable[int]) -> dict[int, list[MediaFile]]:
    """Each listed candidate's media in order; candidates without media are left out."""
    wanted = sorted(set(candidate_ids))
    found: dict[int, list[MediaFile]] = {}
    if not wanted:
        return found
    rows = session.execute(
        select(CandidateMedia.candidate_id, MediaFile)
        .join(MediaFile, MediaFile.id == CandidateMedia.media_id)
        .where(CandidateMedia.candidate_id.in_(wanted))
        .order_by(CandidateMedia.candidate_id, CandidateMedia.position)
    )
    for candidate_id, media in rows:
        found.setdefault(candidate_id, []).append(media)
    return found


def sha256s_of_candidates(session: Session, *, candidate_ids: Iterable[int]) -> dict[int, list[str]]:
    """Each listed candidate's media digests in order (for exports); candidates without are left out."""
    found = media_of_candidates(session, candidate_ids=candidate_ids)
    return {candidate_id: [media.sha256 for media in files] for candidate_id, files in found.items()}


def campaign_has_media(session: Session, *, campaign_id: int) -> bool:
    query = (
        select(CandidateMedia.candidate_id)
        .join(Candidate, Candidate.id == CandidateMedia.candidate_id)
        .join(Item, Item.id == Candidate.item_id)
        .where(Item.campaign_id == campaign_id)
        .limit(1)
    )
    return session.scalar(query) is not None


# Reading back, for HTTP range requests. The parsing is RFC 9110's; what to answer is the router's.


class RangeNotSatisfiable(DomainError):
    """A Range none of whose bytes exist (answered 416 with the size)."""

    status_code = 416


def parse_range(header: str | None, *, size: int) -> tuple[int, int] | None:
    """(first, last) byte, both included, for a single `bytes=` range; None to send the whole file.

    A header that is not one well-formed byte range is ignored (RFC 9110 allows a server to), so
    several ranges at once get the whole file rather than a multipart answer.
    """
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_text, dash, last_text = (part.strip() for part in spec.strip().partition("-"))
    if not dash:
        return None
    if not first_text:  # "-N": the last N bytes
        if not last_text.isdigit():
            return None
        if int(last_text) == 0:
            raise RangeNotSatisfiable("the range asks for the last 0 bytes of the file")
        return max(size - int(last_text), 0), size - 1
    if not first_text.isdigit() or (last_text and not last_text.isdigit()):
        return None
    first = int(first_text)
    if last_text and int(last_text) < first:
        return None
    if first >= size:
        raise RangeNotSatisfiable(f"the range starts at byte {first}, past the file's {size} bytes")
    last = min(int(last_text), size - 1) if last_text else size - 1
    return first, last


def etag_matches(header: str | None, sha256: str) -> bool:
    """Whether an If-None-Match (or If-Range) header names this file's ETag (the sha256)."""
    if not header:
        return False
    for tag in header.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/").strip('"') == sha256:
            return True
    return False


def open_range(
    media: MediaFile, *, settings: Settings, first: int = 0, last: int | None = None
) -> Iterator[bytes]:
    """The bytes first..last (included) of a stored file, read in chunks as they are sent.

    The file is opened before this returns, so a file missing from the store is a NotFound here and
    not a broken response after the headers went out.
    """
    last = media.size_bytes - 1 if last is None else last
    try:
        handle = stored_path(settings, media.sha256).open("rb")
    except FileNotFoundError:
        raise NotFound(f"the file of media '{media.public_id}' is missing from the store") from None
    handle.seek(first)
    return _chunks(handle, last - first + 1)


def _chunks(handle: BinaryIO, remaining: int) -> Iterator[bytes]:
    with handle:
        while remaining > 0:
            chunk = handle.read(min(READ_CHUNK, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk


def discard(path: Path) -> None:
    """Removes a file a provider wrote once it is in the store, and its folder when that is empty."""
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        path.parent.rmdir()
