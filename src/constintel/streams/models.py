"""The outbox (stream messages written in the same transaction as the state they describe)
and the ledger that makes downstream handlers idempotent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from constintel.db.base import Base
from constintel.db.types import JSONDoc, UTCDateTime

__all__ = ["HandledMessage", "OutboxMessage"]

# Messages are spread over this many partitions by their key (a profile id): one relay at a
# time publishes a partition, in id order, so messages about one profile keep their order
# while several relays share the work.
PARTITIONS = 16


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_unsent",
            "partition",
            "id",
            postgresql_where=text("sent_at IS NULL"),
            sqlite_where=text("sent_at IS NULL"),
        ),
    )

    # Ordering: a sequence on PostgreSQL, the rowid on SQLite.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    brand_id: Mapped[str] = mapped_column(String(36))
    # events.raw | events.normalized | merge_requests | profiles.updated
    stream: Mapped[str] = mapped_column(String(40))
    # What order is kept for: the profile id (or the event id of an unattached event).
    key: Mapped[str] = mapped_column(String(36))
    partition: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class HandledMessage(Base):
    """A message a consumer group has applied: written in the same transaction as the
    handler's effects, so a redelivered message is recognized and changes nothing twice."""

    __tablename__ = "handled_message"
    __table_args__ = (UniqueConstraint("consumer_group", "outbox_id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    consumer_group: Mapped[str] = mapped_column(String(40))
    outbox_id: Mapped[int] = mapped_column(BigInteger)
    handled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
