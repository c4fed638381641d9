"""The FastAPI application: routers, middleware and the one place errors become responses."""

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from app.admin import views as admin_views
from app.arena import router as arena_api
from app.arena import views as arena_views
from app.audit import router as audit_api
from app.auth import router as auth_api
from app.auth import views as auth_views
from app.campaigns import router as campaigns_api
from app.campaigns import views as campaigns_views
from app.config import Settings, get_settings
from app.crowd import router as crowd_api
from app.crowd import views as crowd_views
from app.errors import DomainError
from app.exports import router as exports_api
from app.generation import router as generation_api
from app.generation import views as generation_views
from app.invites import router as invites_api
from app.invites import views as invites_views
from app.items import router as items_api
from app.jobs import router as jobs_api
from app.jobs import views as jobs_views
from app.judging import router as judging_api
from app.judging import views as judging_views
from app.media import router as media_api
from app.qc import router as qc_api
from app.qc import views as qc_views
from app.quality import router as quality_api
from app.quality import views as quality_views
from app.releases import router as releases_api
from app.releases import views as releases_views
from app.rewards import router as rewards_api
from app.rewards import views as rewards_views
from app.routing import api as routing_api
from app.routing import views as routing_views
from app.selection import router as selection_api
from app.tasks import router as tasks_api
from app.voting import router as voting_api
from app.voting import views as voting_views
from app.web import render_error

log = logging.getLogger("preflab")
ROOT = Path(__file__).resolve().parent.parent


def _wants_html(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return False
    return "text/html" in request.headers.get("accept", "") or request.headers.get("hx-request") == "true"


def _error_response(request: Request, status: int, message: str, field: str | None = None) -> Response:
    if _wants_html(request):
        return render_error(request, status=status, message=message)
    body: dict[str, object] = {"detail": message}
    if field:
        body["field"] = field
    return JSONResponse(body, status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        response = _error_response(request, exc.status_code, exc.message, exc.field)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "reason": e["msg"]}
            for e in exc.errors()
        ]
        if _wants_html(request):
            return _error_response(request, 422, "; ".join(f"{e['field']}: {e['reason']}" for e in errors))
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> Response:
        log.warning("integrity error on %s: %s", request.url.path, exc.orig)
        return _error_response(
            request, 409, "the change conflicts with data stored at the same time; reload and try again"
        )

    @app.exception_handler(OperationalError)
    async def _operational(request: Request, exc: OperationalError) -> Response:
        log.error("database unavailable on %s: %s", request.url.path, exc.orig)
        return _error_response(request, 503, "the database is busy or unavailable; try again shortly")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return _error_response(request, exc.status_code, str(exc.detail))


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Preflab",
        version="0.1.0",
        description="Collect human preference data: blind pairwise votes, campaigns, exports.",
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie=settings.session_cookie,
        same_site="lax",
        https_only=settings.secure_cookies,
        max_age=14 * 24 * 3600,
    )
    _install_error_handlers(app)
    for router in (
        campaigns_api.router,
        tasks_api.router,
        selection_api.router,
        items_api.router,
        voting_api.router,
        exports_api.router,
        jobs_api.router,
        rewards_api.router,
        generation_api.router,
        media_api.router,
        arena_api.router,
        judging_api.router,
        routing_api.router,
        auth_api.router,
        auth_views.router,
        campaigns_views.router,
        voting_views.router,
        jobs_views.router,
        rewards_views.router,
        generation_views.router,
        arena_views.router,
        judging_views.router,
        routing_views.router,
        qc_api.router,
        qc_views.router,
        quality_api.router,
        quality_views.router,
        audit_api.router,
        invites_api.router,
        invites_views.router,
        admin_views.router,
        crowd_api.router,
        crowd_views.router,
        releases_api.router,
        releases_views.router,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=ROOT / "static"), name="static")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> HTMLResponse:
        return HTMLResponse("ok")

    return app
