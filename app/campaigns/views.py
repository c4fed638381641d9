"""HTML pages (filled in by the UI work)."""

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
