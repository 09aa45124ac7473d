"""Settings from the environment (``CONSTINTEL_*``), overridable by CLI flags."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_BATCH_SIZE", "DEFAULT_DATABASE_URL", "Settings"]

DEFAULT_DATABASE_URL = "sqlite:///constintel.db"
DEFAULT_BATCH_SIZE = 20_000


class Settings(BaseSettings):
    """Every field is read from ``CONSTINTEL_<FIELD>``.

    ``CONSTINTEL_DATABASE_URL``: a SQLite file by default (embedded mode, no services), or
    ``postgresql://user@host/db`` for production. ``CONSTINTEL_BRAND``: the brand the CLI acts
    on when ``--brand`` is not given."""

    model_config = SettingsConfigDict(env_prefix="CONSTINTEL_")

    database_url: str = DEFAULT_DATABASE_URL
    brand: str = "default"
    batch_size: int = DEFAULT_BATCH_SIZE
    # HTTP service (``constintel serve``)
    max_body_bytes: int = 5 * 1024 * 1024  # a larger webhook or API body is refused with 413
    max_upload_bytes: int = 2 * 1024 * 1024 * 1024  # POST /api/v1/imports
    # How long a replica trusts its cached copy of a brand's webhook secrets (a signature that
    # fails also re-reads them at once, so a newly set secret works immediately).
    webhook_cache_seconds: float = 5.0
    # Whether `constintel serve` drains the webhook inbox in-process (the embedded default).
    # Production runs `constintel drain` as its own process(es) instead, so resolving profiles
    # never competes with answering webhooks for the interpreter.
    serve_drain: bool = True
    # Redis for the streams (production): redis://host:6379/0. Unset: the embedded mode, where
    # `serve` runs the downstream handlers in-process straight from the outbox.
    redis_url: str | None = None
    # Prefix of every Redis key (streams, dead letters), so deployments can share a Redis.
    stream_prefix: str = "constintel:"
    # Whether `serve` publishes the outbox itself (relay to Redis, or the embedded dispatcher).
    serve_outbox: bool = True
    # Threads committing webhook deliveries to the inbox (PostgreSQL; SQLite uses one).
    inbox_writers: int = 4
    # Where uploaded import files wait to be imported.
    data_dir: str = "constintel-data"
    # Predictions: how far ahead predicted lifetime value looks, the annual discount rate it
    # uses, and how often `serve` refits every brand's models (0: never; `constintel predict
    # fit` refits by hand).
    predict_horizon_months: int = 12
    predict_discount_rate: float = 0.10
    predict_refit_hours: float = 24.0
