"""Jinja2 templates and page helpers shared by every domain's views.

One URL, two renderings: a full page, or the fragment the page includes when htmx asks for it (header
HX-Request). Boosted navigation (HX-Boosted) and history restores want the whole page.
"""

import hashlib
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import nh3
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markdown_it import MarkdownIt
from markupsafe import Markup
from pydantic import ValidationError
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.lexers.special import TextLexer
from pygments.util import ClassNotFound

from app.deps import csrf_token
from app.errors import Invalid

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "static"
HTMX_VERSION = "2.0.11"

# Tags and attributes that markdown-it and pygments produce; anything else is dropped by nh3.
_ALLOWED_TAGS = {
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "ol",
    "p", "pre", "s", "span", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "code": {"class"},
    "pre": {"class"},
    "span": {"class"},
    "ol": {"start"},
    "th": {"style"},
    "td": {"style"},
}
_formatter = HtmlFormatter(nowrap=True)


def _highlight(code: str, lang: str, _attrs: str) -> str:
    try:
        lexer = get_lexer_by_name(lang) if lang else TextLexer()
    except ClassNotFound:
        lexer = TextLexer()
    # markdown-it keeps output that starts with "<pre" as it is.
    return f'<pre class="highlight"><code>{highlight(code, lexer, _formatter)}</code></pre>'


def _image_as_link(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
    # Remote images would tell a third party who is annotating what; show a plain link instead.
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env) or "image"
    src = escape(str(token.attrGet("src") or ""))
    return f'<a href="{src}">[image: {escape(alt)}]</a>'


_markdown = (
    MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False, "highlight": _highlight})
    .enable("table")
    .enable("strikethrough")
)
_markdown.add_render_rule("image", _image_as_link)


@lru_cache(maxsize=1024)
def render_markdown(text: str) -> Markup:
    """Markdown to HTML that is safe to show: raw HTML is escaped, then the output is sanitised."""
    html = _markdown.render(text or "")
    clean = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener nofollow",
        filter_style_properties={"text-align"},
    )
    return Markup(clean)


@lru_cache(maxsize=64)
def _static_hash(path: str) -> str:
    return hashlib.sha256((STATIC / path).read_bytes()).hexdigest()[:10]


def static_url(path: str) -> str:
    """A URL for a file under static/ that changes when the file does, so browsers never run stale JS."""
    return f"/static/{path}?v={_static_hash(path)}"


def _page_globals(request: Request) -> dict[str, Any]:
    return {"csrf_token": csrf_token(request), "htmx_js": f"vendor/htmx-{HTMX_VERSION}.min.js"}


def sentence(message: str) -> str:
    """A service message ("no campaign 'x'") as a sentence for a page: capital first, full stop last."""
    message = message.strip()
    if not message:
        return message
    message = message[0].upper() + message[1:]
    return message if message[-1] in ".!?" else message + "."


templates = Jinja2Templates(directory=ROOT / "templates", context_processors=[_page_globals])
templates.env.filters["markdown"] = render_markdown
templates.env.filters["sentence"] = sentence
templates.env.globals["static_url"] = static_url


def wants_fragment(request: Request) -> bool:
    """True for htmx requests that swap part of a page; boosted links and history restores want it all."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def render(
    request: Request,
    page: str,
    context: dict[str, Any],
    *,
    fragment: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The full page, or `fragment` (a template the page includes) when htmx asks for a fragment."""
    name = fragment if fragment and wants_fragment(request) else page
    response = templates.TemplateResponse(request, name, context, status_code=status)
    # The same URL answers with a page or a fragment: caches must keep them apart, and task pages hold
    # leases, so nobody should be shown a stored copy.
    response.headers["Vary"] = "HX-Request"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def safe_next(target: str | None, default: str = "/campaigns") -> str:
    """A same-site path to go to after logging in; anything else (other hosts, schemes) is ignored."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def redirect(request: Request, url: str) -> Response:
    """A 303 for ordinary requests; for htmx ones a full navigation, so no page lands inside a fragment."""
    if request.headers.get("HX-Request") == "true":
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def login_redirect(request: Request) -> Response:
    here = request.url.path
    if request.method != "GET":
        # After logging in, come back to the page, not to the form's POST target.
        here = _page_of(request)
    elif request.url.query:
        here += "?" + request.url.query
    return redirect(request, "/login?next=" + quote(here, safe="/"))


def _page_of(request: Request) -> str:
    current = request.headers.get("HX-Current-URL")
    if current:
        parts = urlsplit(current)
        return safe_next(parts.path + (f"?{parts.query}" if parts.query else ""))
    return "/campaigns"


def render_error(request: Request, *, status: int, message: str) -> Response:
    """An error page, or the error fragment for htmx requests; a 401 sends the browser to log in."""
    if status == 401:
        return login_redirect(request)
    context = {"status": status, "message": message, "reload_url": _reload_url(request)}
    return render(request, "error.html", context, fragment="_error.html", status=status)


def _reload_url(request: Request) -> str:
    if request.headers.get("HX-Request") == "true":
        return _page_of(request)
    return request.url.path if request.method == "GET" else "/campaigns"


async def text_fields(request: Request) -> dict[str, str]:
    """A posted form's text fields (files left out), read in the event loop so that the route that
    depends on it can stay sync and do its database work off the loop."""
    return {key: value for key, value in (await request.form()).items() if isinstance(value, str)}


FormFields = Annotated[dict[str, str], Depends(text_fields)]


def form_errors(exc: ValidationError) -> Invalid:
    """A form's validation errors as one readable 422 ("field: reason; ...")."""
    return Invalid("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
