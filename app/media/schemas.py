"""API shapes for media files. URLs name the random public id only, never a path or the digest."""

from pydantic import BaseModel, Field


class MediaRead(BaseModel):
    id: str = Field(description="opaque media id, for `media_id` in an API import")
    url: str = Field(description="where signed-in users read the file (Range requests honoured)")
    mime: str = Field(description="the type read from the file's content")
    sha256: str = Field(description="the content's digest: the same bytes always give the same id")
