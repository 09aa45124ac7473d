"""Database URLs: SQLAlchemy's form (with the psycopg driver) and libpq's form."""

from __future__ import annotations

import pytest

from constintel.db.session import libpq_url, normalize_url


@pytest.mark.parametrize(
    ("given", "sqlalchemy", "libpq"),
    [
        (
            "postgresql://root@127.0.0.1:5432/app",
            "postgresql+psycopg://root@127.0.0.1:5432/app",
            "postgresql://root@127.0.0.1:5432/app",
        ),
        (
            "postgres://u:p@db/app",
            "postgresql+psycopg://u:p@db/app",
            "postgres://u:p@db/app",
        ),
        (
            "postgresql+psycopg://root@h/app",
            "postgresql+psycopg://root@h/app",
            "postgresql://root@h/app",
        ),
        ("sqlite:///constintel.db", "sqlite:///constintel.db", "sqlite:///constintel.db"),
    ],
)
def test_a_url_in_each_form(given: str, sqlalchemy: str, libpq: str) -> None:
    assert normalize_url(given) == sqlalchemy
    assert libpq_url(given) == libpq
