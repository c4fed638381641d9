"""The `preflab` command line: set up, run, import and export."""

import getpass
import os
import secrets
import sys
from pathlib import Path
from typing import Annotated, get_args

import typer

from app.leaderboard.cli import leaderboard_command
from app.reward_cli import rm_app
from app.selection.cli import simulate_command

app = typer.Typer(
    help="Preflab: collect human preference data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
user_app = typer.Typer(help="User accounts.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(rm_app, name="rm")
app.command("leaderboard")(leaderboard_command)
app.command("simulate")(simulate_command)

DEMO_ADMIN = "admin@preflab.local"
DEMO_ANNOTATOR = "annotator@preflab.local"


def _fail(message: str, code: int = 1) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def upgrade_database() -> None:
    from alembic import command
    from alembic.config import Config

    from app.config import get_settings

    settings = get_settings()
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    root = Path(__file__).resolve().parent.parent
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "migrations"))
    config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    command.upgrade(config, "head")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration (creates the SQLite file under the data dir when needed)."""
    from sqlalchemy.exc import OperationalError

    try:
        upgrade_database()
    except OperationalError as exc:
        _fail(f"cannot reach the database: {exc.orig}")
    typer.echo("database is at the latest schema")


@user_app.command("add")
def user_add(
    email: str,
    role: Annotated[str, typer.Option(help="admin, researcher or annotator")] = "annotator",
    kind: Annotated[
        str, typer.Option(help="human, or model: an LM judge that votes through an API token")
    ] = "human",
) -> None:
    """Create a user; the password comes from PREFLAB_PASSWORD, else a prompt (a model gets none)."""
    from app.auth.models import Role, UserKind
    from app.auth.service import create_user
    from app.db import session_scope
    from app.errors import DomainError

    try:
        role_value = Role(role)
    except ValueError:
        _fail(f"unknown role '{role}'; use admin, researcher or annotator")
    try:
        kind_value = UserKind(kind)
    except ValueError:
        _fail(f"unknown kind '{kind}'; use human or model")
    password = os.environ.get("PREFLAB_PASSWORD") if kind_value == UserKind.human else None
    if password is None and kind_value == UserKind.human:
        if not sys.stdin.isatty():
            _fail("set PREFLAB_PASSWORD or run in a terminal to be prompted")
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            _fail("the passwords differ")
    try:
        with session_scope() as session:
            user = create_user(session, email=email, password=password, role=role_value, kind=kind_value)
            label = "model annotator" if kind_value == UserKind.model else user.role.value
            typer.echo(f"created {label} {user.email}")
    except DomainError as exc:
        _fail(exc.message)


@token_app.command("create")
def token_create(
    email: str, name: Annotated[str, typer.Option(help="a label for the token")] = "cli"
) -> None:
    """Print a new API token for EMAIL (only the token, on stdout)."""
    from app.auth.service import create_token, get_user_by_email
    from app.db import session_scope
    from app.errors import DomainError

    try:
        with session_scope() as session:
            token = create_token(session, user=get_user_by_email(session, email=email), name=name)
    except DomainError as exc:
        _fail(exc.message)
    typer.echo(token)


@app.command("import")
def import_file(
    campaign: str,
    file: Annotated[
        Path,
        typer.Argument(help="JSON Lines file, one item a line (fg-rlhf, imagereward: the JSON as published)"),
    ],
    format: Annotated[
        str,
        typer.Option(
            "--format",
            help="preflab or chosen-rejected (JSON Lines); fg-rlhf (Fine-Grained RLHF qa-feedback) or "
            "imagereward (ImageReward test rankings; images read from beside the file or test_images/)",
        ),
    ] = "preflab",
) -> None:
    """Import items into CAMPAIGN; one bad line rejects the whole file."""
    from app.campaigns.service import get_campaign
    from app.db import session_scope
    from app.errors import DomainError
    from app.items.schemas import ImportFormat
    from app.items.service import import_items

    formats = get_args(ImportFormat)
    if format not in formats:
        _fail(f"unknown format '{format}'; use {', '.join(formats)}")
    if not file.is_file():
        _fail(f"no file {file}")
    try:
        with session_scope() as session, file.open(encoding="utf-8") as handle:
            report = import_items(
                session,
                campaign=get_campaign(session, slug=campaign),
                lines=handle,
                fmt=format,  # type: ignore[arg-type]
                media_base=file.resolve().parent,  # "media" paths are relative to the file
            )
    except UnicodeDecodeError as exc:
        _fail(f"{file} is not UTF-8 text (byte {exc.start}); nothing was imported")
    except DomainError as exc:
        _fail(f"{file}: {exc.message}; nothing was imported")
    typer.echo(report.summary())


@app.command("export")
def export(
    campaign: str,
    out: Annotated[Path, typer.Option("--out", help="folder to write data.parquet, data.jsonl, README.md")],
    format: Annotated[
        str,
        typer.Option(
            "--format",
            help="pairwise, votes, ratings, ratings-wide, rankings, ranking-pairs, segments, dense, "
            "checklist, thumbs or listening (each fits some task kinds)",
        ),
    ] = "pairwise",
    annotator_kind: Annotated[
        str | None,
        typer.Option(
            "--annotator-kind", help="human or model (LM judges) only; default: both, except pairwise"
        ),
    ] = None,
) -> None:
    """Export CAMPAIGN's votes as Parquet + JSON Lines with a dataset card."""
    from app.auth.models import UserKind
    from app.campaigns.service import get_campaign
    from app.db import session_scope
    from app.errors import DomainError
    from app.exports.release import export_campaign
    from app.exports.service import FORMATS

    if format not in FORMATS:
        _fail(f"unknown format '{format}'; use one of {', '.join(FORMATS)}")
    if annotator_kind is not None and annotator_kind not in {k.value for k in UserKind}:
        _fail(f"unknown annotator kind '{annotator_kind}'; use human or model")
    try:
        with session_scope() as session:
            result = export_campaign(
                session,
                campaign=get_campaign(session, slug=campaign),
                fmt=format,  # type: ignore[arg-type]
                out=out,
                annotator_kind=UserKind(annotator_kind) if annotator_kind else None,
            )
    except DomainError as exc:
        _fail(exc.message)
    typer.echo(f"wrote {result.rows} rows to {result.out}/data.parquet, data.jsonl and README.md")


release_app = typer.Typer(
    help="Dataset releases: immutable, versioned snapshots with a card.", no_args_is_help=True
)
app.add_typer(release_app, name="release")


@release_app.command("create")
def release_create(
    campaign: str,
    format: Annotated[
        list[str],
        typer.Option("--format", help="a format to include (repeat the option for several)"),
    ],
    annotator_kind: Annotated[
        str | None, typer.Option("--annotator-kind", help="human or model (LM judges) only")
    ] = None,
    include_gold: Annotated[
        bool, typer.Option("--include-gold", help="also put gold and qualification items in the data formats")
    ] = False,
    weights: Annotated[
        str, typer.Option("--weights", help="annotator_weight model: dawid_skene, crowd_bt or none")
    ] = "dawid_skene",
) -> None:
    """Release CAMPAIGN's votes so far in the given formats, with a dataset card."""
    from pydantic import ValidationError

    from app.campaigns.service import get_campaign
    from app.db import session_scope
    from app.errors import DomainError
    from app.releases import service
    from app.releases.schemas import ReleaseCreate

    filters: dict[str, object] = {"include_gold": include_gold, "annotator_weights": weights}
    if annotator_kind is not None:
        filters["annotator_kind"] = annotator_kind
    try:
        data = ReleaseCreate.model_validate({"formats": format, "filters": filters})
    except ValidationError as exc:
        _fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    try:
        with session_scope() as session:
            current = get_campaign(session, slug=campaign)
            release, created = service.create_release(session, campaign=current, data=data, user=None)
            folder = service.release_folder(campaign=current, release=release)
            verb = "released" if created else "unchanged since, so the same release"
            typer.echo(
                f"{verb}: {campaign} v{release.version} ({release.public_id}), {release.vote_count} votes "
                f"up to vote id {release.max_vote_id}, sha256 {release.content_hash}"
            )
            for f in release.files:
                rows = f" ({f['rows']} rows)" if f["rows"] is not None else ""
                typer.echo(f"  {folder / f['name']}{rows}")
    except DomainError as exc:
        _fail(exc.message)


@release_app.command("list")
def release_list(campaign: str) -> None:
    """CAMPAIGN's releases, newest first."""
    from app.campaigns.service import get_campaign
    from app.db import session_scope
    from app.errors import DomainError
    from app.releases import service

    try:
        with session_scope() as session:
            releases = service.list_releases(session, campaign=get_campaign(session, slug=campaign))
            if not releases:
                typer.echo(f"campaign '{campaign}' has no release yet")
            for r in releases:
                typer.echo(
                    f"v{r.version}\t{r.public_id}\t{r.created_at:%Y-%m-%d %H:%M:%S}\t{','.join(r.formats)}\t"
                    f"{r.vote_count} votes\t{r.content_hash}"
                )
    except DomainError as exc:
        _fail(exc.message)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
) -> None:
    """Run the web server (uvicorn)."""
    import uvicorn

    uvicorn.run(
        "app.asgi:app",
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
        access_log=False,
    )


@app.command("worker")
def worker(
    queues: Annotated[str, typer.Option(help="comma-separated: default, cpu, gpu")] = "default,cpu",
    concurrency: Annotated[int, typer.Option(help="processes")] = 2,
    beat: Annotated[
        bool, typer.Option(help="also run the periodic scheduler (run it in one worker)")
    ] = False,
) -> None:
    """Run a Celery worker (needs PREFLAB_REDIS_URL)."""
    from app.config import get_settings
    from workers.celery_app import QUEUES, celery_app

    if not get_settings().redis_url:
        _fail("PREFLAB_REDIS_URL is not set; a worker needs Redis as its broker")
    unknown = set(queues.split(",")) - set(QUEUES)
    if unknown:
        _fail(f"unknown queue(s) {', '.join(sorted(unknown))}; use {', '.join(QUEUES)}")
    argv = ["worker", "--queues", queues, "--concurrency", str(concurrency), "--loglevel", "INFO"]
    if beat:
        get_settings().data_dir.mkdir(parents=True, exist_ok=True)  # beat keeps its schedule file there
        argv.append("--beat")
    celery_app.worker_main(argv)


@app.command("demo")
def demo(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="set up and seed, then exit")] = False,
) -> None:
    """The embedded default: SQLite under ./var, migrations, a seeded demo campaign, the server."""
    from app.demo.seed import seed_demo

    upgrade_database()
    accounts = seed_demo(
        admin_email=DEMO_ADMIN,
        annotator_email=DEMO_ANNOTATOR,
        password_factory=lambda: secrets.token_urlsafe(12),
    )
    typer.echo("Preflab demo is ready.")
    for line in accounts:
        typer.echo(f"  {line}")
    if not no_serve:
        typer.echo(f"Open http://{host}:{port}/ and log in.")
        serve(host=host, port=port, workers=1)


def main() -> None:
    app()
