"""Schema migrations (Alembic), shipped inside the package so an installed ConstIntel can
migrate its own database: ``constintel db upgrade``.

The embedded default (SQLite) is brought to the latest schema automatically on first use; a
PostgreSQL database is migrated only by an explicit ``constintel db upgrade``, so production
schema changes are a deliberate step.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from constintel.core.errors import ConfigurationError

__all__ = ["alembic_config", "current_revision", "ensure_schema", "head_revision", "upgrade"]

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def ensure_schema(engine: Engine) -> None:
    """Make sure the schema is current: migrate SQLite automatically, ask for PostgreSQL."""
    current, head = current_revision(engine), head_revision(engine)
    if current == head:
        return
    if engine.dialect.name == "sqlite":
        upgrade(engine)
        return
    raise ConfigurationError(
        f"database schema is at {current or 'nothing'}, the code needs {head}: "
        "run `constintel db upgrade`"
    )
