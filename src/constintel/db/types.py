"""Column types that behave the same on SQLite and PostgreSQL.

- ``Money``: exact decimals. PostgreSQL stores ``numeric`` (unconstrained, so 215.49 reads back
  as 215.49 and the seed's SQL shows it that way); SQLite has no decimal type (its NUMERIC
  affinity silently turns 89.99 into a float), so there the value is a 64-bit integer of
  1/10,000 units, exact for every ISO 4217 currency.
- ``UTCDateTime``: aware UTC in and out. PostgreSQL ``timestamptz``; SQLite stores naive UTC
  text and gets the UTC tzinfo back on read.
- ``JSONDoc``: JSON on SQLite, JSONB on PostgreSQL (so ``identifiers->>'email'`` works).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Numeric
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["MONEY_SCALE", "JSONDoc", "Money", "UTCDateTime"]

MONEY_SCALE = 4
_CENT = Decimal("0.01")


def _from_scaled(value: int) -> Decimal:
    amount = Decimal(value).scaleb(-MONEY_SCALE)
    cents = amount.quantize(_CENT)
    return cents if cents == amount else amount.normalize()


class Money(TypeDecorator[Decimal]):
    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            scaled = value.scaleb(MONEY_SCALE)
            if scaled != scaled.to_integral_value():
                raise ValueError(f"{value} has more than {MONEY_SCALE} decimals")
            return int(scaled)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return _from_scaled(int(value))
        return Decimal(value)


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: ConstIntel stores aware UTC only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONDoc = JSON().with_variant(JSONB(), "postgresql")
