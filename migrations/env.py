"""Alembic environment: the URL comes from Preflab's settings unless the caller passed a connection."""

from alembic import context

from app.config import get_settings
from app.db import make_engine
from app.models import Base

target_metadata = Base.metadata

# Indexes with a DESC column: SQLite's reflection drops the DESC, so autogenerate would report them as
# changed on every run there. Postgres reflects them faithfully and still checks them.
_DESC_INDEXES = {"ix_comparison_queue"}


def _include_object_on_sqlite(obj, name, type_, reflected, compare_to) -> bool:  # type: ignore[no-untyped-def]
    return not (type_ == "index" and name in _DESC_INDEXES)


def _configure_and_run(connection) -> None:  # type: ignore[no-untyped-def]
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
        compare_type=True,
        include_object=_include_object_on_sqlite if sqlite else None,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        _configure_and_run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported; run `preflab db upgrade`.")
run_migrations_online()
