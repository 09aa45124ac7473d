"""Privacy use cases: export everything held about a person; erase them.

A person is a live profile plus every profile merged into it. Erasure:

- identifiers are deleted, and their hashes go on the suppression list (``erased_identifier``)
  so a replayed or redelivered old event cannot re-create the person;
- the raw payloads of their events (and of kept webhook deliveries and rejected bodies that
  mention them) are replaced by ``{"erased": true}``; merge records and review items lose the
  identifier values they quoted;
- the profile rows stay as anonymous shells with status ``erased``, keeping their orders'
  amounts and statistics, so revenue reports and lifetime-value sums stay right.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, delete, or_, select, update
from sqlalchemy.orm import Session

from constintel.activation.models import (
    CartWatch,
    Consent,
    Delivery,
    JourneyState,
    ProductIntent,
    StoreAlert,
    StoreVisit,
)
from constintel.brands.models import Brand
from constintel.core.clock import utcnow
from constintel.core.errors import NotFoundError
from constintel.core.ids import new_id
from constintel.db.locks import lock_brand
from constintel.identity.models import CustomerIdentifier
from constintel.ingest.models import CustomerRawEvent, RejectedPayload
from constintel.orders.models import CustomerOrder
from constintel.predictions.models import PredictionChange, ProfilePrediction
from constintel.privacy.models import ErasedIdentifier
from constintel.privacy.repository import erased_among, identifier_hash
from constintel.profiles import merges
from constintel.profiles import repository as profiles_repo
from constintel.profiles import service as profiles
from constintel.profiles.models import CustomerProfile, MergeRequest, ProfileMerge
from constintel.profiles.state import ERASED
from constintel.streams import outbox
from constintel.webhooks.models import WebhookDelivery

__all__ = ["erase", "export"]

ERASED_PAYLOAD: dict[str, Any] = {"erased": True}


def _person(session: Session, brand: Brand, profile_id: str) -> tuple[Any, list[str]]:
    """The live profile row and the ids of every profile that is part of it."""
    row = merges.resolve(session, brand_id=brand.id, profile_id=profile_id)
    if row.status == ERASED:
        raise NotFoundError(f"no profile {profile_id} (erased)")
    ids = profiles_repo.with_merged(session, brand_id=brand.id, profile_id=row.id)
    return row, ids


def _plain(row: Any) -> dict[str, Any]:
    return {k: v for k, v in row._mapping.items() if k != "brand_id"}


# What downstream capabilities derived about the person, keyed by customer_profile_id:
# exported with the rest, and deleted on erasure (deliveries are kept as an anonymous log).
_DERIVED: tuple[tuple[str, Table], ...] = (
    ("prediction", cast(Table, ProfilePrediction.__table__)),
    ("prediction_history", cast(Table, PredictionChange.__table__)),
    ("product_intents", cast(Table, ProductIntent.__table__)),
    ("journey", cast(Table, JourneyState.__table__)),
    ("consents", cast(Table, Consent.__table__)),
    ("store_visits", cast(Table, StoreVisit.__table__)),
    ("store_alerts", cast(Table, StoreAlert.__table__)),
    ("cart_watches", cast(Table, CartWatch.__table__)),
    ("deliveries", cast(Table, Delivery.__table__)),
)


def export(session: Session, *, brand: Brand, profile_id: str) -> dict[str, Any]:
    """Everything held about the person, as JSON-ready data."""
    row, ids = _person(session, brand, profile_id)
    identifiers = session.execute(
        select(CustomerIdentifier.__table__).where(
            CustomerIdentifier.brand_id == brand.id,
            CustomerIdentifier.customer_profile_id.in_(ids),
        )
    ).all()
    events = session.execute(
        select(CustomerRawEvent.__table__)
        .where(CustomerRawEvent.brand_id == brand.id, CustomerRawEvent.customer_profile_id.in_(ids))
        .order_by(CustomerRawEvent.occurred_at, CustomerRawEvent.id)
    ).all()
    orders = session.execute(
        select(CustomerOrder.__table__)
        .where(CustomerOrder.brand_id == brand.id, CustomerOrder.customer_profile_id.in_(ids))
        .order_by(CustomerOrder.placed_at, CustomerOrder.id)
    ).all()
    merge_rows = session.execute(
        select(ProfileMerge.__table__).where(
            ProfileMerge.brand_id == brand.id,
            or_(ProfileMerge.survivor_id.in_(ids), ProfileMerge.merged_id.in_(ids)),
        )
    ).all()
    derived = {
        name: [
            _plain(r)
            for r in session.execute(select(table).where(table.c.customer_profile_id.in_(ids)))
        ]
        for name, table in _DERIVED
    }
    return {
        "profile": profiles.read(session, brand=brand, row=row).model_dump(mode="json"),
        "profile_ids": ids,
        "identifiers": [_plain(r) for r in identifiers],
        "events": [_plain(r) for r in events],
        "orders": [_plain(r) for r in orders],
        "merges": [_plain(r) for r in merge_rows],
        **derived,
        "exported_at": utcnow(),
    }


def erase(session: Session, *, brand: Brand, profile_id: str) -> dict[str, int]:
    """Erase the person (see the module doc). Returns what was removed, by kind."""
    lock_brand(session, brand.id)
    row, ids = _person(session, brand, profile_id)
    now = utcnow()
    idents = session.execute(
        select(CustomerIdentifier.kind, CustomerIdentifier.value).where(
            CustomerIdentifier.brand_id == brand.id,
            CustomerIdentifier.customer_profile_id.in_(ids),
        )
    ).all()
    values = {v for _, v in idents}
    keys = {(kind, value) for kind, value in idents}
    for kind, value in sorted(keys - erased_among(session, brand_id=brand.id, keys=keys)):
        session.add(
            ErasedIdentifier(
                id=new_id(),
                brand_id=brand.id,
                kind=kind,
                value_hash=identifier_hash(brand.id, kind, value),
                profile_id=row.id,
                erased_at=now,
            )
        )
    session.execute(
        delete(CustomerIdentifier).where(
            CustomerIdentifier.brand_id == brand.id,
            CustomerIdentifier.customer_profile_id.in_(ids),
        )
    )
    events = session.execute(
        update(CustomerRawEvent)
        .where(CustomerRawEvent.brand_id == brand.id, CustomerRawEvent.customer_profile_id.in_(ids))
        .values(payload=ERASED_PAYLOAD)
    )
    scrubbed = 0
    for value in values:  # kept bodies that mention the person
        for table, column in (
            (cast(Table, WebhookDelivery.__table__), WebhookDelivery.body),
            (cast(Table, RejectedPayload.__table__), RejectedPayload.body),
        ):
            result = session.execute(
                update(table)
                .where(table.c.brand_id == brand.id, column.contains(value, autoescape=True))
                .values({column.key: '{"erased": true}'})
            )
            scrubbed += result.rowcount or 0  # type: ignore[attr-defined]
    session.execute(
        update(ProfileMerge)
        .where(
            ProfileMerge.brand_id == brand.id,
            or_(ProfileMerge.survivor_id.in_(ids), ProfileMerge.merged_id.in_(ids)),
        )
        .values(matched_on=[], merged_snapshot={"erased": True})
    )
    for request in session.scalars(select(MergeRequest).where(MergeRequest.brand_id == brand.id)):
        if set(request.profile_ids) & set(ids):
            request.matched_on = []
    session.execute(
        update(CustomerProfile)
        .where(CustomerProfile.brand_id == brand.id, CustomerProfile.id.in_(ids))
        .values(identifiers={}, name=None, profile_strength=0, updated_at=now)
    )
    session.execute(
        update(CustomerProfile).where(CustomerProfile.id == row.id).values(status=ERASED)
    )
    derived = 0
    for name, table in _DERIVED:
        if name == "deliveries":
            session.execute(
                update(table)
                .where(table.c.customer_profile_id.in_(ids))
                .values(recipient=None, subject=None, body="(erased)", extra={})
            )
            continue
        derived += (
            session.execute(delete(table).where(table.c.customer_profile_id.in_(ids))).rowcount or 0  # type: ignore[attr-defined]
        )
    outbox.profiles_updated(session, brand.id, [row.id], "erased", now)
    return {
        "derived": derived,
        "profiles": len(ids),
        "identifiers": len(idents),
        "events": events.rowcount or 0,  # type: ignore[attr-defined]
        "other_bodies": scrubbed,
    }
