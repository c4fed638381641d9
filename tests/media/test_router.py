"""The media API: upload (researchers), read back with ranges and caching (any signed-in user)."""

import hashlib

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app import config
from app.auth.models import Role
from tests.api_helpers import bearer, sign_in
from tests.factories import make_user
from tests.media.samples import png_bytes, wav_bytes


def _upload(client: TestClient, headers: dict[str, str], data: bytes, name: str = "f.bin", mime: str = "x/y"):
    return client.post("/api/v1/media", files={"file": (name, data, mime)}, headers=headers)


def test_upload_answers_the_contract_and_the_url_serves_the_bytes(
    client: TestClient, session: Session
) -> None:
    researcher = bearer(session, "res@example.org", Role.researcher)
    data = png_bytes(5, 4)
    r = _upload(client, researcher, data, "alpha-7b-sample.png", "image/png")
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"id", "url", "mime", "sha256"}
    assert body["mime"] == "image/png" and body["sha256"] == hashlib.sha256(data).hexdigest()
    # The URL carries the random id only: not the file name, not the digest.
    assert body["url"] == f"/media/{body['id']}" and "alpha" not in body["url"]
    assert body["sha256"][:16] not in body["url"]

    got = client.get(body["url"], headers=researcher)
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-type"] == "image/png"
    assert got.headers["accept-ranges"] == "bytes"
    assert got.headers["etag"] == f'"{body["sha256"]}"'
    assert got.headers["cache-control"] == "private, max-age=31536000, immutable"
    assert got.headers["content-length"] == str(len(data))
    assert got.headers["x-content-type-options"] == "nosniff"

    again = _upload(client, researcher, data, "other-name.png")
    assert again.status_code == 201 and again.json() == body  # same bytes: same id


def test_the_type_comes_from_the_content_not_the_name(client: TestClient, session: Session) -> None:
    researcher = bearer(session, "res@example.org", Role.researcher)
    r = _upload(client, researcher, b"I am text, honest" * 100, "photo.png", "image/png")
    assert r.status_code == 415 and "not a media type" in r.json()["detail"]
    wav = _upload(client, researcher, wav_bytes(), "sound.png", "image/png")
    assert wav.status_code == 201 and wav.json()["mime"] == "audio/wav"
    assert client.post("/api/v1/media", data={"other": "x"}, headers=researcher).status_code == 422


def test_over_the_limit_is_413(client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    researcher = bearer(session, "res@example.org", Role.researcher)
    monkeypatch.setenv("PREFLAB_MEDIA_MAX_BYTES", "2000")
    config.get_settings.cache_clear()
    fits = _upload(client, researcher, png_bytes(3, 3))
    assert fits.status_code == 201
    # Under the early Content-Length check (the multipart slack), over the limit while streaming.
    r = _upload(client, researcher, png_bytes(3, 3) + bytes(5000))
    assert r.status_code == 413 and "2000 byte limit" in r.json()["detail"]
    # Declared too large: refused before the body is read.
    big = _upload(client, researcher, png_bytes(3, 3) + bytes(200_000))
    assert big.status_code == 413


def test_range_requests_and_revalidation(client: TestClient, session: Session) -> None:
    researcher = bearer(session, "res@example.org", Role.researcher)
    data = wav_bytes(frames=1000)
    body = _upload(client, researcher, data).json()
    url, size = body["url"], len(data)

    part = client.get(url, headers={**researcher, "Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == data[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{size}"
    assert part.headers["content-length"] == "10" and part.headers["content-type"] == "audio/wav"
    tail = client.get(url, headers={**researcher, "Range": "bytes=-4"})
    assert tail.status_code == 206 and tail.content == data[-4:]
    rest = client.get(url, headers={**researcher, "Range": f"bytes={size - 3}-"})
    assert rest.status_code == 206 and rest.content == data[-3:]

    bad = client.get(url, headers={**researcher, "Range": f"bytes={size}-"})
    assert bad.status_code == 416 and bad.headers["content-range"] == f"bytes */{size}"
    several = client.get(url, headers={**researcher, "Range": "bytes=0-1,4-5"})
    assert several.status_code == 200 and several.content == data  # one range only: the whole file

    etag = f'"{body["sha256"]}"'
    cached = client.get(url, headers={**researcher, "If-None-Match": etag})
    assert cached.status_code == 304 and cached.content == b"" and cached.headers["etag"] == etag
    assert client.get(url, headers={**researcher, "If-None-Match": '"other"'}).status_code == 200
    stale = client.get(url, headers={**researcher, "Range": "bytes=0-1", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.content == data
    fresh = client.get(url, headers={**researcher, "Range": "bytes=0-1", "If-Range": etag})
    assert fresh.status_code == 206 and fresh.content == data[:2]


def test_who_may_upload_and_read(client: TestClient, session: Session) -> None:
    researcher = bearer(session, "res@example.org", Role.researcher)
    annotator = bearer(session, "ann@example.org")
    data = png_bytes()
    assert _upload(client, annotator, data).status_code == 403
    assert _upload(client, {}, data).status_code == 401
    url = _upload(client, researcher, data).json()["url"]

    assert client.get(url, headers=annotator).status_code == 200
    assert client.get(url).status_code == 401  # anonymous
    assert client.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/media/not-an-id", headers=annotator).status_code == 404

    # A signed-in browser (session cookie) reads it too, as the task page's <img> does.
    make_user(session, "browser@example.org")
    session.commit()
    sign_in(client, "browser@example.org")
    seen = client.get(url)
    assert seen.status_code == 200 and seen.content == data
