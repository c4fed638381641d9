"""Jinja2 templates and page helpers shared by every domain's views."""

from fastapi import Request
from fastapi.responses import HTMLResponse


def render_error(request: Request, *, status: int, message: str) -> HTMLResponse:
    from html import escape

    return HTMLResponse(f"<p class='error'>{escape(message)}</p>", status_code=status)
