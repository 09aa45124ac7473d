"""The composition root: settings -> engine (SQLite or PostgreSQL) -> schema check.

Entry points (CLI now; API and workers later) get their engine here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from constintel.core.config import Settings
from constintel.db.migrate import ensure_schema
from constintel.db.session import make_engine

__all__ = ["App", "bootstrap"]


@dataclass(frozen=True, slots=True)
class App:
    settings: Settings
    engine: Engine


def bootstrap(settings: Settings | None = None, *, check_schema: bool = True) -> App:
    settings = settings or Settings()
    engine = make_engine(settings.database_url)
    if check_schema:
        ensure_schema(engine)
    return App(settings, engine)
