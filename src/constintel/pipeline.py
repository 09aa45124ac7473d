"""The one write path: accept a batch of payloads and resolve them to profiles.

    envelope -> adapter (normalize) -> identifiers (normalize, junk) -> dedupe
             -> match (0: create, 1: attach, 2-3: merge, >3: review) -> order upsert
             -> statistics (incremental) -> rows written, one transaction per batch

A batch is one transaction. Everything the batch touches (identifiers, orders, profiles) is
read with a handful of IN-queries up front, the events are applied in order to that
in-memory state, and the result is written back in bulk (executemany on SQLite; on
PostgreSQL ``unnest`` inserts sent pipelined, without a round trip each). The write phase
holds the brand's write lock (``db.locks``), so concurrent writers (webhook replicas,
several imports) serialize per brand and can neither create two profiles for one new
customer nor lose an update to a shared profile; the unique constraints on identifiers,
orders and dedupe keys back that up. Parsing and normalization happen before the lock.

A payload that cannot be parsed is rejected with the field and the reason and kept in
``rejected_payload``; it never blocks the rest of the batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import Row, Table, bindparam, select
from sqlalchemy.orm import Session

from constintel.brands.models import Brand
from constintel.brands.settings import BrandSettings
from constintel.core.clock import utcnow
from constintel.core.errors import NotFoundError, PayloadError
from constintel.core.ids import new_id
from constintel.core.money import ZERO
from constintel.db.locks import lock_brand
from constintel.db.session import pipelined
from constintel.events.schemas import SOURCES, CanonicalEvent, OrderData, OrderStatus
from constintel.identity import repository as identity_repo
from constintel.identity.matching import MatchAction, decide
from constintel.identity.normalize import Identifier, JunkList, normalize_identifiers
from constintel.ingest import repository as events_repo
from constintel.ingest.sources import NORMALIZERS
from constintel.orders import repository as orders_repo
from constintel.privacy import repository as privacy_repo
from constintel.profiles import merges
from constintel.profiles import repository as profiles_repo
from constintel.profiles.state import ERASED, ProfileState, profile_row, stat_values
from constintel.profiles.stats import (
    OrderFacts,
    apply_event,
    apply_order_change,
    snapshot_add,
)
from constintel.streams import outbox

__all__ = [
    "MAX_REJECTIONS_KEPT",
    "BatchResult",
    "BrandContext",
    "Envelope",
    "Prepared",
    "PreparedBatch",
    "Rejection",
    "check",
    "ingest_batch",
    "ingest_prepared",
    "prepare",
    "prepare_batch",
]


@dataclass(slots=True)
class Envelope:
    """One payload as received: which source sent it, under which topic, and where it came
    from (a file and line, for error reports)."""

    source: str
    topic: str | None
    payload: Any
    origin: str | None = None
    line_no: int | None = None
    received_at: datetime | None = None  # set by live transports (webhooks), None for imports


@dataclass(frozen=True, slots=True)
class Rejection:
    line_no: int | None
    origin: str | None
    field: str
    reason: str


MAX_REJECTIONS_KEPT = 1000


@dataclass(slots=True)
class BatchResult:
    received: int = 0
    imported: int = 0
    duplicates: int = 0
    unattached: int = 0
    created_profiles: int = 0
    merges: int = 0
    reviews: int = 0
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    touched_profiles: set[str] = field(default_factory=set)

    COUNTS = (
        "received",
        "imported",
        "duplicates",
        "unattached",
        "created_profiles",
        "merges",
        "reviews",
        "rejected",
    )

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.COUNTS}

    def add(self, other: BatchResult) -> None:
        for name in self.COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        # Every rejection is stored (rejected_payload); a running total keeps only the first
        # MAX_REJECTIONS_KEPT for the report, so memory stays flat whatever the file.
        room = MAX_REJECTIONS_KEPT - len(self.rejections)
        if room > 0:
            self.rejections.extend(other.rejections[:room])
        # touched_profiles is per batch (downstream work is triggered per batch); a running
        # total over a million-row import would only grow.


@dataclass(frozen=True, slots=True)
class BrandContext:
    """What the write path needs to know about the brand, read once per import."""

    brand_id: str
    region: str
    currency: str
    settings: BrandSettings
    junk: JunkList
    timezone: str = "UTC"  # the brand's days (the order_day rollup)

    @classmethod
    def of(cls, brand: Brand | Row[Any]) -> BrandContext:
        settings = BrandSettings.from_json(brand.settings)
        junk = JunkList(
            emails=settings.junk_emails, phones=settings.junk_phones, region=brand.default_region
        )
        return cls(brand.id, brand.default_region, brand.currency, settings, junk, brand.timezone)

    @classmethod
    def load(cls, session: Session, brand_id: str) -> BrandContext:
        """The context of a brand by id, read in the caller's transaction (so a change of the
        brand's settings applies from the next batch on); the parsed settings and junk list
        are reused while the brand's row stays the same (the webhook drain loads its brand
        once per batch)."""
        row = session.execute(_BRAND_BY_ID, {"id": brand_id}).one_or_none()
        if row is None:
            raise NotFoundError(f"no brand {brand_id!r}")
        cached = _CONTEXTS.get(brand_id)
        if cached is not None and cached[0] == tuple(row):
            return cached[1]
        ctx = cls.of(row)
        _CONTEXTS[brand_id] = (tuple(row), ctx)
        return ctx


_BRAND_TABLE = cast(Table, Brand.__table__)
_BRAND_BY_ID = select(_BRAND_TABLE).where(_BRAND_TABLE.c.id == bindparam("id"))
_CONTEXTS: dict[str, tuple[tuple[Any, ...], BrandContext]] = {}


@dataclass(slots=True)
class Prepared:
    envelope: Envelope
    event: CanonicalEvent
    identifiers: list[Identifier]
    dedupe_key: str


def _dedupe_key(envelope: Envelope) -> str:
    body = orjson.dumps(envelope.payload, option=orjson.OPT_SORT_KEYS)
    digest = hashlib.blake2b(digest_size=32)
    digest.update(f"{envelope.source}\x00{envelope.topic or ''}\x00".encode())
    digest.update(body)
    return digest.hexdigest()


def check(envelope: Envelope, ctx: BrandContext) -> CanonicalEvent:
    """The envelope's canonical event, or PayloadError naming the field: everything that can
    refuse a payload, without the identifier work (what a webhook answers before storing)."""
    normalizer = NORMALIZERS.get(envelope.source)
    if normalizer is None:
        raise PayloadError("source", f"unknown source {envelope.source!r}; one of {SOURCES}")
    event = normalizer(envelope.payload, topic=envelope.topic, received_at=envelope.received_at)
    order = event.order
    carries_money = order is not None and (order.total is not None or order.refunds)
    if order is not None and carries_money and order.currency != ctx.currency:
        raise PayloadError(
            "currency",
            f"{order.currency} differs from the brand currency {ctx.currency}; "
            "lifetime value is kept in one currency per brand",
        )
    return event


def prepare(envelope: Envelope, ctx: BrandContext) -> Prepared:
    """Normalize one envelope (pure). Raises PayloadError naming the field on bad input."""
    event = check(envelope, ctx)
    identifiers = normalize_identifiers(event.identifiers, region=ctx.region, junk=ctx.junk)
    return Prepared(envelope, event, identifiers, _dedupe_key(envelope))


# -- in-memory state of one batch ----------------------------------------------------------


@dataclass(slots=True)
class _Ident:
    id: str
    kind: str
    value: str
    profile_id: str
    verified: bool
    shared: bool
    source: str
    first_seen_at: datetime
    is_new: bool = False
    dirty: bool = False


@dataclass(slots=True)
class _Order:
    row: dict[str, Any]
    is_new: bool = False
    dirty: bool = False
    # (placed_at, channel, net) as stored when loaded and counted: what the order adds to the
    # ``order_day`` rollup now, taken back when the order changes.
    stored: tuple[datetime | None, str, Decimal] | None = None

    def counted_facts(self) -> tuple[datetime | None, str, Decimal] | None:
        row = self.row
        return (row["placed_at"], row["channel"], row["net"]) if row["counted"] else None

    def facts(self) -> OrderFacts:
        return OrderFacts(self.row["net"], self.row["counted"], self.row["placed_at"])


def _net_and_counted(row: Mapping[str, Any], count_test: bool) -> tuple[Decimal, bool]:
    total = row["total"]
    if total is None or row["status"] == OrderStatus.CANCELLED or (row["test"] and not count_test):
        return ZERO, False
    net: Decimal = max(total - row["refunded"], ZERO)
    return net, True


@dataclass(slots=True)
class _Owned:
    idents: list[_Ident] = field(default_factory=list)
    orders: list[_Order] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class _PendingMerge:
    """A merge done in memory; its stored rows move at flush, where ``covers`` (the profiles
    whose stored rows the merged profile held) tells which of them it moved."""

    record: dict[str, Any]
    covers: frozenset[str]
    idents: list[str]
    orders: list[str]
    events: list[str]
    profiles: list[str]


class _Writer:
    """Applies prepared events to the batch's in-memory state, then writes it back."""

    def __init__(
        self, session: Session, ctx: BrandContext, now: datetime, result: BatchResult
    ) -> None:
        self.s = session
        self.ctx = ctx
        self.now = now
        self.result = result  # counts go straight into the batch's result
        self.idents: dict[tuple[str, str], _Ident] = {}
        self.orders: dict[tuple[str, str], _Order] = {}
        self.profiles: dict[str, ProfileState] = {}
        self.events: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        # (event id, profile id at the time, event): stream messages built at flush, when
        # every profile id is final (merges later in the batch repoint them).
        self.published: list[tuple[str, str | None, CanonicalEvent]] = []
        self.dates_stale: set[str] = set()
        # In-memory rows per owning profile, so a merge repoints them without a scan.
        self.owned: dict[str, _Owned] = {}
        # Profile ids whose *stored* rows now belong to a profile (itself plus what it absorbed
        # in this batch); stored rows are moved once, at flush.
        self.members: dict[str, set[str]] = {}
        self.pending_merges: list[_PendingMerge] = []
        # target id -> ids of loaded profiles merged into it (kept one hop, like the table)
        self.merged_into: dict[str, set[str]] = {}

    # -- loading -------------------------------------------------------------------------
    def load(self, batch: Sequence[Prepared]) -> None:
        keys = {(i.kind, i.value) for p in batch for i in p.identifiers}
        for row in identity_repo.get_by_values(self.s, brand_id=self.ctx.brand_id, keys=keys):
            ident = _Ident(
                row.id,
                row.kind,
                row.value,
                row.customer_profile_id,
                row.verified,
                row.shared,
                row.source,
                row.first_seen_at,
            )
            self.idents[(row.kind, row.value)] = ident
            self._own(ident.profile_id).idents.append(ident)
        order_keys = {(p.event.source, p.event.order.external_id) for p in batch if p.event.order}
        for row in orders_repo.get_by_external_ids(
            self.s, brand_id=self.ctx.brand_id, keys=order_keys
        ):
            order = _Order(dict(row._mapping))
            order.stored = order.counted_facts()
            self.orders[(row.source, row.external_id)] = order
            if order.row["customer_profile_id"] is not None:
                self._own(order.row["customer_profile_id"]).orders.append(order)
        wanted = {i.profile_id for i in self.idents.values()}
        wanted |= {o.row["customer_profile_id"] for o in self.orders.values()} - {None}
        self._load_profiles(wanted)

    def _own(self, profile_id: str) -> _Owned:
        owned = self.owned.get(profile_id)
        if owned is None:
            owned = self.owned[profile_id] = _Owned()
        return owned

    def _load_profiles(self, ids: Iterable[str]) -> None:
        missing = [pid for pid in ids if pid not in self.profiles]
        while missing:
            rows = profiles_repo.get_many(self.s, brand_id=self.ctx.brand_id, ids=missing)
            for row in rows:
                self.profiles[row.id] = ProfileState.from_row(row)
                if row.merged_into_id is not None:
                    self.merged_into.setdefault(row.merged_into_id, set()).add(row.id)
            missing = [
                p.merged_into_id
                for p in self.profiles.values()
                if p.merged_into_id is not None and p.merged_into_id not in self.profiles
            ]

    def resolve(self, profile_id: str) -> ProfileState:
        profile = self.profiles[profile_id]
        while profile.merged_into_id is not None:
            if profile.merged_into_id not in self.profiles:
                self._load_profiles([profile.merged_into_id])
            profile = self.profiles[profile.merged_into_id]
        return profile

    # -- processing ----------------------------------------------------------------------
    def _hits(
        self, identifiers: Sequence[Identifier], order: _Order | None
    ) -> tuple[list[Identifier], list[tuple[str, str, str]]]:
        """(identifiers that may link, [(kind, value, live profile id)] of those already known),
        plus the profile of the order the event is about."""
        usable: list[Identifier] = []
        hits: list[tuple[str, str, str]] = []
        for ident in identifiers:
            existing = self.idents.get((ident.kind, ident.value))
            if existing is not None and existing.shared:
                continue
            usable.append(ident)
            if existing is not None:
                hits.append((ident.kind, ident.value, self.resolve(existing.profile_id).id))
        if order is not None and order.row["customer_profile_id"] is not None:
            owner = self.resolve(order.row["customer_profile_id"])
            hits.append(("order", str(order.row["external_id"]), owner.id))
            if owner.status == ERASED:  # the event is the erased person's: link nothing
                return [], [hits[-1]]
        return usable, hits

    def process(self, item: Prepared) -> None:
        event = item.event
        order = self.orders.get((event.source, event.order.external_id)) if event.order else None
        first_request = len(self.requests)
        usable, hits = self._hits(item.identifiers, order)
        shared_notes = self._apply_sharing_caps(usable, [(k, pid) for k, _, pid in hits])
        if shared_notes:
            shared_keys = {(k, v) for k, v, _ in shared_notes}
            usable, hits = self._hits(
                [i for i in usable if (i.kind, i.value) not in shared_keys], order
            )

        target: ProfileState | None = None
        if hits or usable:
            matches = [(kind, pid) for kind, _, pid in hits]
            decision = decide(matches, {pid: self.profiles[pid].age_key for _, pid in matches})
            matched_on = [{"kind": kind, "value": value} for kind, value, _ in hits]
            if decision.action is MatchAction.CREATE:
                target = self._new_profile()
            else:
                assert decision.target is not None
                target = self.profiles[decision.target]
                if decision.action is MatchAction.MERGE:
                    for merged_id in decision.merge:
                        self._merge(target, self.profiles[merged_id], matched_on)
                elif decision.action is MatchAction.REVIEW:
                    self._queue_review(
                        "too_many_matches",
                        list(decision.candidates),
                        matched_on,
                        attached=target.id,
                        detail=f"{len(decision.candidates)} profiles matched one event; "
                        "more than 3 are never merged automatically",
                    )
            for ident in usable:
                self._attach_identifier(target, ident, event)
        for kind, value, detail in shared_notes:
            owner = self.resolve(self.idents[(kind, value)].profile_id)
            candidates = [owner.id] + ([target.id] if target and target.id != owner.id else [])
            self._queue_review(
                "shared_identifier",
                candidates,
                [{"kind": kind, "value": value}],
                attached=target.id if target else None,
                detail=detail,
            )

        order_id = self._upsert_order(event, order, target) if event.order else None
        event_id = new_id()
        if target is not None:
            apply_event(target.stats, event.occurred_at, event.channel)
            target.name = customer_name(event.properties) or target.name
            target.dirty = True
            self.result.touched_profiles.add(target.id)
        else:
            self.result.unattached += 1
        event_row = {
            "id": event_id,
            "brand_id": self.ctx.brand_id,
            "source": event.source,
            "topic": item.envelope.topic,
            "event_type": event.event_type.value,
            "channel": event.channel.value,
            "payload": item.envelope.payload,
            "customer_profile_id": target.id if target else None,
            "order_id": order_id,
            "dedupe_key": item.dedupe_key,
            "occurred_at": event.occurred_at,
            "created_at": self.now,
        }
        self.events.append(event_row)
        self.published.append((event_id, target.id if target else None, event))
        if target is not None:
            self._own(target.id).events.append(event_row)
        for request in self.requests[first_request:]:
            request["event_id"] = event_id
        self.result.imported += 1

    def _apply_sharing_caps(
        self, usable: Sequence[Identifier], matches: Sequence[tuple[str, str]]
    ) -> list[tuple[str, str, str]]:
        """A phone that would come to link more emails than the brand allows (or an email more
        phones) is marked shared: it stops linking anyone, and the case goes to review."""
        settings = self.ctx.settings
        rules = (
            ("phone", "email", settings.max_emails_per_phone),
            ("email", "phone", settings.max_phones_per_email),
        )
        kinds = {i.kind for i in usable}
        if "phone" not in kinds and "email" not in kinds:
            return []
        matched_profiles = {pid for _, pid in matches}
        notes: list[tuple[str, str, str]] = []
        for kind, other, cap in rules:
            if kind not in kinds:
                continue
            incoming = {i.value for i in usable if i.kind == other}
            for pid in matched_profiles:
                incoming |= set(self.profiles[pid].values(other))
            for ident in usable:
                existing = self.idents.get((ident.kind, ident.value))
                if ident.kind != kind or existing is None:
                    continue
                owner = self.resolve(existing.profile_id)
                held = set(owner.values(other))
                linked = held | incoming
                if len(linked) > cap and incoming - held:
                    existing.shared = True
                    existing.dirty = True
                    notes.append(
                        (
                            kind,
                            ident.value,
                            f"{kind} {ident.value} would link {len(linked)} distinct {other}s "
                            f"(cap {cap}); it now counts as shared and links no one",
                        )
                    )
        return notes

    def _new_profile(self) -> ProfileState:
        profile = ProfileState.new(new_id(), self.ctx.brand_id, self.now)
        self.profiles[profile.id] = profile
        self.result.created_profiles += 1
        return profile

    def _attach_identifier(
        self, target: ProfileState, ident: Identifier, event: CanonicalEvent
    ) -> None:
        key = (ident.kind, ident.value)
        existing = self.idents.get(key)
        if existing is not None:
            return  # owned already (by target, or by another profile awaiting review)
        row = _Ident(
            new_id(),
            ident.kind,
            ident.value,
            target.id,
            ident.verified,
            False,
            event.source,
            event.occurred_at,
            is_new=True,
        )
        self.idents[key] = row
        self._own(target.id).idents.append(row)
        target.snapshot = snapshot_add(target.snapshot, ident.kind, ident.value)
        target.dirty = True

    def _queue_review(
        self,
        reason: str,
        profile_ids: list[str],
        matched_on: list[dict[str, str]],
        *,
        attached: str | None,
        detail: str,
    ) -> None:
        self.requests.append(
            {
                "id": new_id(),
                "brand_id": self.ctx.brand_id,
                "status": "pending",
                "reason": reason,
                "profile_ids": profile_ids,
                "matched_on": matched_on,
                "event_id": None,
                "attached_profile_id": attached,
                "detail": detail,
                "created_at": self.now,
                "decided_at": None,
                "decided_by": None,
            }
        )
        self.result.reviews += 1

    def _merge(
        self, survivor: ProfileState, merged: ProfileState, matched_on: list[dict[str, str]]
    ) -> None:
        """Merge in memory now; the stored rows follow at flush (see _move_stored_rows)."""
        owned = self.owned.pop(merged.id, _Owned())
        for ident in owned.idents:
            ident.profile_id = survivor.id
        for order in owned.orders:
            order.row["customer_profile_id"] = survivor.id
        for event_row in owned.events:
            event_row["customer_profile_id"] = survivor.id
        target = self._own(survivor.id)
        target.idents.extend(owned.idents)
        target.orders.extend(owned.orders)
        target.events.extend(owned.events)
        redirected = sorted(self.merged_into.pop(merged.id, set()))
        for pid in redirected:
            self.profiles[pid].merged_into_id = survivor.id
        self.merged_into.setdefault(survivor.id, set()).update(redirected)
        self.merged_into[survivor.id].add(merged.id)
        covers = self.members.pop(merged.id, {merged.id})
        self.members.setdefault(survivor.id, {survivor.id}).update(covers)
        record = merges.merge_states(
            brand_id=self.ctx.brand_id,
            survivor=survivor,
            merged=merged,
            reason="auto_match",
            actor="system",
            matched_on=matched_on,
            now=self.now,
        )
        self.pending_merges.append(
            _PendingMerge(
                record,
                frozenset(covers),
                [i.id for i in owned.idents],
                [str(o.row["id"]) for o in owned.orders],
                [str(e["id"]) for e in owned.events],
                redirected,
            )
        )
        self.result.merges += 1
        self.result.touched_profiles.add(survivor.id)
        self.result.touched_profiles.discard(merged.id)

    def _move_stored_rows(self) -> None:
        """Apply the batch's merges to rows already in the database: one SELECT to record
        exactly which rows each merge moved (for unmerge) and one executemany UPDATE per
        table. Runs after the batch's new profiles are inserted (a stored row may move into
        one of them) and before its other rows are written."""
        if not self.pending_merges:
            return
        covered = sorted(set().union(*(m.covers for m in self.pending_merges)))
        final = {pid: self.resolve(pid).id for pid in covered}
        stored = {
            "identifiers": identity_repo.ids_by_owner(self.s, owners=covered),
            "orders": orders_repo.ids_by_owner(self.s, owners=covered),
            "events": events_repo.ids_by_owner(self.s, owners=covered),
            "profiles": profiles_repo.merged_ids_by_target(self.s, targets=covered),
        }
        for merge in self.pending_merges:
            in_memory = {
                "identifiers": merge.idents,
                "orders": merge.orders,
                "events": merge.events,
                "profiles": merge.profiles,
            }
            merge.record["moved"] = {
                table: sorted(
                    set(in_memory[table]).union(
                        *(by_owner.get(owner, ()) for owner in merge.covers)
                    )
                )
                for table, by_owner in stored.items()
            }
        moves = [{"b_from": pid, "b_to": final[pid]} for pid in covered if final[pid] != pid]
        identity_repo.reassign_owners(self.s, moves)
        orders_repo.reassign_owners(self.s, moves)
        events_repo.reassign_owners(self.s, moves)
        profiles_repo.redirect_merged_many(self.s, moves)

    def _upsert_order(
        self, event: CanonicalEvent, order: _Order | None, target: ProfileState | None
    ) -> str:
        data = event.order
        assert data is not None
        if order is None:
            order = _Order(
                {
                    "id": new_id(),
                    "brand_id": self.ctx.brand_id,
                    "source": event.source,
                    "external_id": data.external_id,
                    "customer_profile_id": None,
                    "order_number": None,
                    "status": None,
                    "financial_status": None,
                    "fulfillment_status": None,
                    "currency": data.currency,
                    "total": None,
                    "refunded": ZERO,
                    "net": ZERO,
                    "counted": False,
                    "refunds": {},
                    "placed_at": None,
                    "source_updated_at": None,
                    "channel": data.channel.value,
                    "store_id": None,
                    "test": False,
                    "line_items": [],
                    "created_at": self.now,
                    "updated_at": self.now,
                },
                is_new=True,
            )
            self.orders[(event.source, data.external_id)] = order
        row = order.row
        old_pid = row["customer_profile_id"]
        old_owner = self.resolve(old_pid) if old_pid is not None else None
        old_facts = order.facts() if old_owner is not None else None
        _apply_order_data(row, data, event.occurred_at)
        row["net"], row["counted"] = _net_and_counted(row, self.ctx.settings.count_test_orders)
        new_owner = old_owner if old_owner is not None else target
        row["customer_profile_id"] = new_owner.id if new_owner is not None else None
        if old_owner is None and new_owner is not None:
            self._own(new_owner.id).orders.append(order)
        row["updated_at"] = self.now
        order.dirty = True
        new_facts = order.facts() if new_owner is not None else None
        if new_owner is not None:
            if apply_order_change(new_owner.stats, old_facts, new_facts):
                self.dates_stale.add(new_owner.id)
            new_owner.dirty = True
        return str(row["id"])

    # -- writing -------------------------------------------------------------------------
    def _ident_row(self, ident: _Ident) -> dict[str, Any]:
        return {
            "id": ident.id,
            "brand_id": self.ctx.brand_id,
            "kind": ident.kind,
            "value": ident.value,
            "customer_profile_id": ident.profile_id,
            "verified": ident.verified,
            "shared": ident.shared,
            "source": ident.source,
            "first_seen_at": ident.first_seen_at,
        }

    def flush(self) -> None:
        # New profiles first: stored rows may move into one of them.
        new_profiles = [p for p in self.profiles.values() if p.is_new]
        profiles_repo.insert_many(
            self.s,
            [profile_row(p, self.ctx.settings, self.ctx.currency, self.now) for p in new_profiles],
        )
        self._move_stored_rows()
        with pipelined(self.s):
            self._write_rows()
        # Order dates that may have shrunk are re-read now that the orders are written; a
        # profile inserted above with the old dates is then rewritten too.
        rewrite = {self.resolve(pid).id for pid in self.dates_stale}
        dates = orders_repo.order_dates(self.s, profile_ids=sorted(rewrite))
        for pid, (first, last) in dates.items():
            stats = self.profiles[pid].stats
            stats.first_order_at, stats.last_order_at = first, last
        profiles_repo.update_many(
            self.s,
            [
                {"id": p.id, **stat_values(p, self.ctx.settings, self.ctx.currency, self.now)}
                for p in self.profiles.values()
                if (p.dirty and not p.is_new) or p.id in rewrite
            ],
        )

    def _write_rows(self) -> None:
        """The batch's rows other than profiles: writes only (``flush`` runs them pipelined,
        so nothing here may read a result)."""
        identity_repo.insert_many(
            self.s, [self._ident_row(i) for i in self.idents.values() if i.is_new]
        )
        identity_repo.update_many(
            self.s,
            [
                {"id": i.id, "customer_profile_id": i.profile_id, "shared": i.shared}
                for i in self.idents.values()
                if i.dirty and not i.is_new
            ],
        )
        orders_repo.insert_many(self.s, [o.row for o in self.orders.values() if o.is_new])
        orders_repo.update_many(
            self.s,
            [
                {"id": o.row["id"], **{c: o.row[c] for c in orders_repo.MUTABLE_COLUMNS}}
                for o in self.orders.values()
                if o.dirty and not o.is_new
            ],
        )
        orders_repo.add_to_days(self.s, brand_id=self.ctx.brand_id, deltas=self._day_deltas())
        events_repo.insert_many(self.s, self.events)
        profiles_repo.insert_requests(self.s, self.requests)
        # Profiles merged later in the batch are reported as their survivors.
        self.result.touched_profiles = {
            self.resolve(pid).id for pid in self.result.touched_profiles
        }
        outbox.write(self.s, self._messages())
        profiles_repo.insert_merges(self.s, [merge.record for merge in self.pending_merges])

    def _day_deltas(self) -> orders_repo.DayTotals:
        """What the batch's order changes add to the ``order_day`` rollup."""
        zone = ZoneInfo(self.ctx.timezone)
        deltas: orders_repo.DayTotals = {}
        for order in self.orders.values():
            if not order.dirty:
                continue
            now = order.counted_facts()
            if now == order.stored:
                continue
            if order.stored is not None:
                orders_repo.add_day(deltas, zone, *order.stored, sign=-1)
            if now is not None:
                orders_repo.add_day(deltas, zone, *now)
            order.stored = now
        return deltas

    def _messages(self) -> Iterator[dict[str, Any]]:
        """The batch's stream messages (see ``streams.outbox``), keyed by final profile ids.
        ``events.raw`` names the stored event rather than copying its payload: the payload is
        stored once, in ``customer_raw_event``, and consumers read it there by id."""
        brand, now = self.ctx.brand_id, self.now
        for event_id, profile_id, event in self.published:
            live = self.resolve(profile_id).id if profile_id else None
            yield outbox.raw(brand, event_id, live or event_id, event.source, now)
            yield outbox.normalized(brand, event_id, live, event, now)
        for request in self.requests:
            attached = request["attached_profile_id"]
            live = self.resolve(attached).id if attached else None
            yield outbox.merge_request(brand, {**request, "attached_profile_id": live}, now)
        for merge in self.pending_merges:
            record = merge.record
            yield outbox.profile_updated(
                brand, record["merged_id"], "merged", now, merged_into=record["survivor_id"]
            )
        for pid in sorted(self.result.touched_profiles):
            yield outbox.profile_updated(brand, pid, "ingested", now)


def customer_name(properties: Mapping[str, Any]) -> str | None:
    """ "First Last" from an event's ``first_name``/``last_name`` properties (the adapters take
    both from one place: the order's customer, else its billing address), or None."""
    parts = [str(properties[k]).strip() for k in ("first_name", "last_name") if properties.get(k)]
    name = " ".join(p for p in parts if p)
    return name[:200] or None


def _apply_order_data(row: dict[str, Any], data: OrderData, occurred_at: datetime) -> None:
    """Fold one payload's view of an order into the stored row.

    Refunds are facts keyed by refund id and always merge in. The rest (status, total,
    line items) is taken from the payload unless the stored state is newer than it
    (``source_updated_at``), so a late redelivery of ``orders/create`` cannot undo a
    cancellation that arrived before it.
    """
    stored_at = row["source_updated_at"]
    stale = (
        data.source_updated_at is not None
        and stored_at is not None
        and data.source_updated_at < stored_at
    )
    refunds: dict[str, str] = dict(row["refunds"])
    for refund in data.refunds:
        refunds.setdefault(refund.refund_id, str(refund.amount))
    row["refunds"] = refunds
    row["refunded"] = sum((Decimal(v) for v in refunds.values()), ZERO)
    if data.total is not None and not stale:
        row["total"] = data.total
        row["currency"] = data.currency
        row["line_items"] = [
            {
                "product_id": li.product_id,
                "sku": li.sku,
                "name": li.name,
                "quantity": li.quantity,
                "unit_price": str(li.unit_price),
            }
            for li in data.line_items
        ]
        row["test"] = data.test
        row["channel"] = data.channel.value
        row["store_id"] = data.store_id
        if data.order_number is not None:
            row["order_number"] = data.order_number
    if data.status is not None and not stale:
        row["status"] = data.status.value
        row["financial_status"] = data.financial_status
        row["fulfillment_status"] = data.fulfillment_status
    if row["placed_at"] is None or (data.placed_at is not None and not stale):
        row["placed_at"] = data.placed_at or row["placed_at"] or occurred_at
    if data.source_updated_at is not None and not stale:
        row["source_updated_at"] = data.source_updated_at


def ingest_batch(session: Session, ctx: BrandContext, envelopes: Sequence[Envelope]) -> BatchResult:
    """Accept one batch inside the caller's transaction (the caller commits)."""
    return ingest_prepared(session, ctx, prepare_batch(envelopes, ctx))


@dataclass(slots=True)
class PreparedBatch:
    """A batch after normalization: the envelopes that prepared, in order, and the rejected
    ones with the field and the reason. Pure data (no session), so bulk imports can prepare
    batches in worker processes."""

    received: int
    prepared: list[Prepared] = field(default_factory=list)
    rejected: list[tuple[Envelope, str, str]] = field(default_factory=list)


def prepare_batch(envelopes: Sequence[Envelope], ctx: BrandContext) -> PreparedBatch:
    """Normalize every envelope (pure); a payload that fails is rejected, never raised."""
    batch = PreparedBatch(received=len(envelopes))
    for envelope in envelopes:
        try:
            batch.prepared.append(prepare(envelope, ctx))
            continue
        except PayloadError as exc:
            field_name, reason = exc.field, exc.reason
        except Exception as exc:  # a bug in an adapter must not take the batch down with it
            field_name, reason = "", f"internal error while normalizing ({exc!r}); kept for replay"
        batch.rejected.append((envelope, field_name, reason))
    return batch


def ingest_prepared(session: Session, ctx: BrandContext, batch: PreparedBatch) -> BatchResult:
    """Write one prepared batch inside the caller's transaction (the caller commits)."""
    result = BatchResult(received=batch.received)
    prepared = batch.prepared
    rejected_rows: list[dict[str, Any]] = []
    received = utcnow()
    for envelope, field_name, reason in batch.rejected:
        result.rejections.append(Rejection(envelope.line_no, envelope.origin, field_name, reason))
        rejected_rows.append(_rejected_row(ctx.brand_id, envelope, field_name, reason, received))
    result.rejected = len(rejected_rows)

    lock_brand(session, ctx.brand_id)
    # After the lock: profiles created by this batch are younger than every committed one.
    now = utcnow()
    seen = events_repo.existing_dedupe_keys(
        session, brand_id=ctx.brand_id, keys=[p.dedupe_key for p in prepared]
    )
    fresh: list[Prepared] = []
    for item in prepared:
        if item.dedupe_key in seen:
            result.duplicates += 1
            continue
        seen.add(item.dedupe_key)
        fresh.append(item)

    privacy_repo.drop_erased(session, brand_id=ctx.brand_id, batch=fresh)
    writer = _Writer(session, ctx, now, result)
    writer.load(fresh)
    for item in fresh:
        writer.process(item)
    writer.flush()
    events_repo.insert_rejected(session, rejected_rows)
    return result


def _rejected_row(
    brand_id: str, envelope: Envelope, field_name: str, reason: str, now: datetime
) -> dict[str, Any]:
    try:
        body = orjson.dumps(envelope.payload).decode()
    except TypeError:
        body = repr(envelope.payload)
    return events_repo.rejected_row(
        brand_id=brand_id,
        source=envelope.source,
        topic=envelope.topic,
        body=body,
        field=field_name,
        reason=reason,
        origin=envelope.origin,
        line_no=envelope.line_no,
        now=now,
    )
