"""Uploading media (researchers) and reading it back (any signed-in user), with HTTP range requests;
waveform peaks of audio."""

import json

from fastapi import APIRouter, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from starlette.datastructures import UploadFile

from app.config import get_settings
from app.deps import CurrentUser, Researcher, SessionDep
from app.errors import Invalid, TooLarge
from app.media import peaks, service
from app.media.models import MediaFile
from app.media.schemas import MediaRead

router = APIRouter(tags=["media"])

# The bytes behind a URL never change (the URL names one content), so browsers may keep them for good;
# "private" because they are only for signed-in users.
CACHE_CONTROL = "private, max-age=31536000, immutable"
# Room for the multipart boundaries and part headers around the file itself.
MULTIPART_SLACK = 64 * 1024


@router.post(
    "/api/v1/media",
    status_code=status.HTTP_201_CREATED,
    response_model=MediaRead,
    responses={
        413: {"description": "over the size limit (PREFLAB_MEDIA_MAX_BYTES)"},
        415: {"description": "the content is not an accepted image, audio or video type"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                }
            },
        }
    },
)
async def upload_media(request: Request, session: SessionDep, user: Researcher) -> MediaRead:
    """Stores one file (multipart field `file`); the same bytes twice give the same id."""
    settings = get_settings()
    # The body is read here, after the role check, and refused early when it says it is too large.
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.media_max_bytes + MULTIPART_SLACK:
        raise TooLarge(f"the upload is over the {settings.media_max_bytes} byte limit for one media file")
    async with request.form(max_files=1, max_fields=10) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise Invalid("send the file as the multipart form field 'file'", field="file")
        media = await run_in_threadpool(service.store_stream, session, source=upload.file, settings=settings)
    return MediaRead(
        id=media.public_id, url=service.media_url(media.public_id), mime=media.mime, sha256=media.sha256
    )


@router.get(
    "/media/{public_id}",
    response_class=StreamingResponse,
    responses={
        206: {"description": "the requested byte range"},
        304: {"description": "the ETag sent in If-None-Match is current"},
        416: {"description": "the range is outside the file"},
    },
)
def read_media(public_id: str, request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """The file's bytes, streamed; `Range: bytes=a-b` gives 206, the ETag is the content's sha256."""
    return file_response(service.get_media(session, public_id=public_id), request)


@router.get(
    "/media/{public_id}/peaks",
    responses={
        200: {
            "content": {"application/json": {"example": {"peaks": [0.0, 0.52, 0.98], "duration_s": 2.5}}},
            "description": f"up to {peaks.BUCKETS} peaks, max |amplitude| per stretch of the clip, 0..1",
        },
        304: {"description": "the ETag sent in If-None-Match is current"},
        415: {"description": "the file is an image"},
        422: {"description": "the file has no decodable sound track"},
    },
)
def read_peaks(public_id: str, request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """The waveform of an audio file (or a video's sound), computed on first request and kept."""
    media = service.get_media(session, public_id=public_id)
    sha256, mime = media.sha256, media.mime
    # A first request decodes for a while: end the read transaction now, so that SQLite's
    # BEGIN IMMEDIATE does not keep every writer waiting meanwhile.
    session.commit()
    etag = f'"{sha256}-peaks-{peaks.BUCKETS}"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "X-Content-Type-Options": "nosniff"}
    if service.etag_matches(request.headers.get("if-none-match"), f"{sha256}-peaks-{peaks.BUCKETS}"):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    found = peaks.peaks_of(sha256=sha256, mime=mime, settings=get_settings())
    return Response(json.dumps(found.as_json()), media_type="application/json", headers=headers)


def file_response(media: MediaFile, request: Request) -> Response:
    """A stored file as the answer to a GET: whole (200), a byte range (206), not modified (304), or
    416 for a range outside it. Callers check who may read it first."""
    settings = get_settings()
    headers = {
        "ETag": f'"{media.sha256}"',
        "Cache-Control": CACHE_CONTROL,
        "Accept-Ranges": "bytes",
        "X-Content-Type-Options": "nosniff",
    }
    if service.etag_matches(request.headers.get("if-none-match"), media.sha256):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    range_header = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if if_range is not None and if_range.strip() != headers["ETag"]:
        range_header = None  # the client's partial copy is of other bytes: send the whole file
    try:
        byte_range = service.parse_range(range_header, size=media.size_bytes)
    except service.RangeNotSatisfiable:
        return Response(
            status_code=status.HTTP_416_RANGE_NOT_SATISFIABLE,
            headers={**headers, "Content-Range": f"bytes */{media.size_bytes}"},
        )
    first, last = byte_range or (0, media.size_bytes - 1)
    body = service.open_range(media, settings=settings, first=first, last=last)
    headers["Content-Length"] = str(last - first + 1)
    code = status.HTTP_200_OK
    if byte_range is not None:
        code = status.HTTP_206_PARTIAL_CONTENT
        headers["Content-Range"] = f"bytes {first}-{last}/{media.size_bytes}"
    return StreamingResponse(body, status_code=code, media_type=media.mime, headers=headers)
