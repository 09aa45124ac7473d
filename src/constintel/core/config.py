"""Settings from the environment (``CONSTINTEL_*``), overridable by CLI flags."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_BATCH_SIZE", "DEFAULT_DATABASE_URL", "Settings"]

DEFAULT_DATABASE_URL = "sqlite:///constintel.db"
DEFAULT_BATCH_SIZE = 20_000


class Settings(BaseSettings):
    """``CONSTINTEL_DATABASE_URL``: a SQLite file by default (embedded mode, no services), or
    ``postgresql://user@host/db`` for production. ``CONSTINTEL_BRAND``: the brand the CLI acts
    on when ``--brand`` is not given."""

    model_config = SettingsConfigDict(env_prefix="CONSTINTEL_")

    database_url: str = DEFAULT_DATABASE_URL
    brand: str = "default"
    batch_size: int = DEFAULT_BATCH_SIZE
