"""``constintel profiles``, ``review``, ``events`` and ``stats``: inspect and operate."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from constintel.ingest import repository as events_repo
from constintel.ingest.replay import replay_rejected
from constintel.pipeline import BrandContext
from constintel.predictions import service as predictions
from constintel.predictions.schemas import PredictionChangeRead, PredictionRead
from constintel.profiles import service as profiles
from constintel.profiles.schemas import ProfileRead

from .common import BrandOpt, command_group, console, emit, fail, print_json, session_for, state

__all__ = ["events_app", "profiles_app", "review_app", "stats_app"]

profiles_app = command_group("Look up and operate on customer profiles.")
review_app = command_group("The merge review queue.")
events_app = command_group("Unattached and rejected events.")
stats_app = command_group("Profile statistics.")

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def _dump(prediction: PredictionRead | None) -> Any:
    return None if prediction is None else prediction.model_dump(mode="json")


def _render(profile: ProfileRead, prediction: PredictionRead | None = None) -> None:
    table = Table(title=f"Profile {profile.id}", show_header=False)
    table.add_row("lifetime value", f"{profile.lifetime_value} {profile.currency}")
    table.add_row("total orders", str(profile.total_orders))
    table.add_row("average order value", str(profile.average_order_value))
    table.add_row("profile strength", f"{profile.profile_strength}%")
    for kind, values in profile.identifiers.items():
        rendered = ", ".join(
            v.value + ("" if v.verified else " (unverified)") + (" (shared)" if v.shared else "")
            for v in values
        )
        table.add_row(kind, rendered)
    table.add_row("first order", str(profile.first_order_at or "-"))
    table.add_row("last order", str(profile.last_order_at or "-"))
    table.add_row("last seen", str(profile.last_seen_at or "-"))
    table.add_row("channels", ", ".join(profile.channels) or "-")
    table.add_row("events", str(profile.event_count))
    table.add_row("merged from", ", ".join(profile.merged_from) or "-")
    _render_prediction(table, prediction)
    console.print(table)


def _render_prediction(table: Table, p: PredictionRead | None) -> None:
    if p is None:
        table.add_row("prediction", "- (not scored yet)")
        return
    table.add_row("lifecycle", p.lifecycle or "-")
    if p.status != "scored":
        table.add_row("prediction", f"{p.status} (model v{p.model_version})")
        return
    table.add_row("churn risk", f"{p.churn_risk:.1%}" if p.churn_risk is not None else "-")
    table.add_row(
        "expected orders",
        f"{p.expected_orders_30:.2f} in 30 days, {p.expected_orders_90:.2f} in 90 days",
    )
    table.add_row("next order by", str(p.next_order_at.date()) if p.next_order_at else "-")
    table.add_row("predicted LTV", f"{p.predicted_ltv} {p.currency}")
    if p.rfm is not None:
        table.add_row(
            "RFM",
            f"R{p.rfm.recency} F{p.rfm.frequency} M{p.rfm.monetary}: {p.rfm.segment}",
        )
    table.add_row("model", f"v{p.model_version}, scored {p.scored_at:%Y-%m-%d %H:%M} UTC")


@profiles_app.command("show")
def show(
    email: Annotated[
        str | None, typer.Option(help="Any formatting; normalized like ingestion.")
    ] = None,
    phone: Annotated[str | None, typer.Option(help="Any formatting, e.g. (212) 555-0199.")] = None,
    loyalty_id: Annotated[str | None, typer.Option("--loyalty-id")] = None,
    profile_id: Annotated[
        str | None, typer.Option("--id", help="A profile id (merged ids resolve).")
    ] = None,
    as_json: JsonOpt = False,
    brand: BrandOpt = None,
) -> None:
    """Show one profile: statistics, identifiers by kind, merges."""
    given = [
        (k, v)
        for k, v in (
            ("email", email),
            ("phone", phone),
            ("loyalty_id", loyalty_id),
            ("id", profile_id),
        )
        if v
    ]
    if len(given) != 1:
        raise fail("give exactly one of --email, --phone, --loyalty-id, --id", 2)
    kind, value = given[0]
    with session_for(brand) as (session, b):
        if kind == "id":
            row = profiles.get(session, brand=b, profile_id=value)
        else:
            row = profiles.find_by_identifier(session, brand=b, kind=kind, value=value)
        profile = profiles.read(session, brand=b, row=row)
        found = predictions.prediction_of(session, profile.id)
        history = predictions.history_of(session, profile.id, limit=10)
    prediction = None if found is None else PredictionRead.of(found)
    if as_json:
        print_json(
            {
                **profile.model_dump(mode="json"),
                "prediction": _dump(prediction),
                "prediction_history": [
                    PredictionChangeRead.model_validate(h).model_dump(mode="json") for h in history
                ],
            }
        )
    else:
        _render(profile, prediction)


@profiles_app.command("list")
def list_profiles(
    top: Annotated[int, typer.Option(min=1, help="How many, by lifetime value.")] = 10,
    as_json: JsonOpt = False,
    brand: BrandOpt = None,
) -> None:
    """The top profiles by lifetime value."""
    with session_for(brand) as (session, b):
        rows = profiles.list_top(session, brand=b, limit=top)
        found = predictions.predictions_for(session, [r.id for r in rows])
        currency = b.currency
    if as_json:
        print_json(
            [
                {
                    "id": r.id,
                    "name": r.name,
                    "email": (r.identifiers or {}).get("email"),
                    "phone": (r.identifiers or {}).get("phone"),
                    "lifetime_value": str(r.lifetime_value),
                    "total_orders": r.total_orders,
                    "profile_strength": r.profile_strength,
                    "lifecycle": (found.get(r.id) or {}).get("lifecycle"),
                    "churn_risk": (found.get(r.id) or {}).get("churn_risk"),
                    "predicted_ltv": _str((found.get(r.id) or {}).get("predicted_ltv")),
                }
                for r in rows
            ]
        )
        return
    cells = []
    for r in rows:
        ids = r.identifiers or {}
        p = found.get(r.id) or {}
        risk = p.get("churn_risk")
        contact = ids.get("email") or ids.get("phone") or "-"
        cells.append(
            {
                "id": r.id,
                "contact": f"{r.name} <{contact}>" if r.name else contact,
                "lifetime value": str(r.lifetime_value),
                "orders": str(r.total_orders),
                "last order": r.last_order_at.date().isoformat() if r.last_order_at else "-",
                "lifecycle": p.get("lifecycle") or "-",
                "churn risk": "-" if risk is None else f"{risk:.0%}",
                "predicted LTV": _str(p.get("predicted_ltv")) or "-",
            }
        )
    title = f"Top {top} profiles by lifetime value ({currency})"
    if console.width < 150:
        # Too narrow for a table of 8 columns: one block per profile, nothing cut.
        console.print(f"[bold]{title}[/]")
        for c in cells:
            console.print(f"[bold]{c['lifetime value']:>10}[/]  {c['contact']}", soft_wrap=True)
            console.print(f"{'':>10}  {c['id']}", soft_wrap=True)
            console.print(
                f"{'':>10}  {c['orders']} order{'' if c['orders'] == '1' else 's'}, "
                f"last {c['last order']} · {c['lifecycle']} · "
                f"churn {c['churn risk']} · predicted {c['predicted LTV']}",
                soft_wrap=True,
            )
    else:
        table = Table(title=title)
        for col in cells[0] if cells else ["id"]:
            right = col in ("lifetime value", "orders", "churn risk", "predicted LTV")
            table.add_column(col, no_wrap=True, justify="right" if right else "left")
        for c in cells:
            table.add_row(*c.values())
        console.print(table)
    if rows and not found:
        console.print("no predictions yet: run `constintel predict fit`")


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


@profiles_app.command("unmerge")
def unmerge(
    profile_id: Annotated[str, typer.Argument(help="The merged-away profile to restore.")],
    brand: BrandOpt = None,
) -> None:
    """Undo a merge: the profile gets back its identifiers, orders, events and statistics."""
    with session_for(brand) as (session, b):
        restored, survivor = profiles.unmerge(session, brand=b, merged_id=profile_id)
    console.print(f"restored {restored} (split from {survivor})")


def _request_dict(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "status": r.status,
        "reason": r.reason,
        "profile_ids": r.profile_ids,
        "matched_on": r.matched_on,
        "attached_profile_id": r.attached_profile_id,
        "event_id": r.event_id,
        "detail": r.detail,
        "created_at": r.created_at.isoformat(),
    }


@review_app.command("list")
def review_list(
    status: Annotated[str, typer.Option(help="pending, approved, rejected or all.")] = "pending",
    as_json: JsonOpt = False,
    brand: BrandOpt = None,
) -> None:
    """Merge requests waiting for a decision (or decided ones, with --status)."""
    with session_for(brand) as (session, b):
        rows = profiles.list_requests(session, brand=b, status=None if status == "all" else status)
    if as_json:
        print_json([_request_dict(r) for r in rows])
        return
    table = Table(title=f"Review queue ({status})")
    for col in ("id", "reason", "profiles", "matched on", "detail"):
        table.add_column(col)
    for r in rows:
        matched = ", ".join(f"{m['kind']}={m['value']}" for m in r.matched_on)
        table.add_row(r.id, r.reason, "\n".join(r.profile_ids), matched, r.detail)
    console.print(table)


@review_app.command("approve")
def review_approve(request_id: str, brand: BrandOpt = None) -> None:
    """Merge the request's profiles into the oldest of them."""
    with session_for(brand) as (session, b):
        survivor = profiles.approve_request(session, brand=b, request_id=request_id)
    console.print(f"approved: merged into {survivor}")


@review_app.command("reject")
def review_reject(request_id: str, brand: BrandOpt = None) -> None:
    """Keep the profiles apart."""
    with session_for(brand) as (session, b):
        profiles.reject_request(session, brand=b, request_id=request_id)
    console.print("rejected: profiles stay apart")


@events_app.command("unattached")
def events_unattached(
    limit: Annotated[int, typer.Option(min=1)] = 50,
    as_json: JsonOpt = False,
    brand: BrandOpt = None,
) -> None:
    """Events stored without a profile (no usable identifier)."""
    with session_for(brand) as (session, b):
        rows = events_repo.list_unattached(session, brand_id=b.id, limit=limit)
    data = [
        {
            "id": r.id,
            "source": r.source,
            "event_type": r.event_type,
            "occurred_at": r.occurred_at.isoformat(),
            "order_id": r.order_id,
        }
        for r in rows
    ]
    emit(
        data,
        title="Unattached events",
        columns=("id", "source", "event_type", "occurred_at"),
        as_json=as_json,
    )


@events_app.command("link")
def events_link(
    event_id: str,
    profile_id: Annotated[
        str, typer.Argument(help="The profile to attach the event (and its order) to.")
    ],
    brand: BrandOpt = None,
) -> None:
    """Attach an unattached event to a profile; statistics follow."""
    with session_for(brand) as (session, b):
        target = profiles.link_event(session, brand=b, event_id=event_id, profile_id=profile_id)
    console.print(f"linked {event_id} to {target}")


@events_app.command("rejected")
def events_rejected(
    limit: Annotated[int, typer.Option(min=1)] = 50,
    as_json: JsonOpt = False,
    brand: BrandOpt = None,
) -> None:
    """Payloads that were rejected, with the field and reason (kept for replay)."""
    with session_for(brand) as (session, b):
        rows = events_repo.list_rejected(session, brand_id=b.id, limit=limit)
    data = [
        {
            "id": r.id,
            "origin": r.origin,
            "source": r.source,
            "field": r.error_field,
            "error": r.error,
        }
        for r in rows
    ]
    emit(
        data,
        title="Rejected payloads",
        columns=("origin", "source", "field", "error"),
        as_json=as_json,
    )


@events_app.command("replay")
def events_replay(
    ids: Annotated[
        list[str] | None, typer.Argument(help="Rejected payload ids (default: every one).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 10_000,
    brand: BrandOpt = None,
) -> None:
    """Re-process kept rejected payloads (webhook bodies, import lines) after a fix; those
    that now pass are ingested, the others stay with their error brought up to date."""
    with session_for(brand) as (_, b):
        ctx = BrandContext.of(b)
    result = replay_rejected(state.app().engine, ctx, ids=ids or None, limit=limit)
    for rid, field, reason in result.errors[:20]:
        console.print(f"[yellow]still rejected[/] {rid}: {field}: {reason}")
    console.print(
        f"examined {result.examined}: {result.accepted} accepted "
        f"({result.ingest.imported} imported, {result.ingest.duplicates} duplicates), "
        f"{result.still_rejected} still rejected"
    )


@stats_app.command("recompute")
def stats_recompute(brand: BrandOpt = None) -> None:
    """Rebuild every profile's statistics from its orders and events and report any drift."""
    with session_for(brand) as (session, b):
        checked, drifts = profiles.recompute_all(session, brand=b)
        ltv, net = profiles.totals(session, brand=b)
    for d in drifts[:50]:
        console.print(
            f"[yellow]drift[/] {d.profile_id} {d.field}: stored {d.stored!r} -> {d.recomputed!r}"
        )
    console.print(
        f"checked {checked:,} profiles: {len(drifts)} drifting values fixed; "
        f"sum of lifetime value {ltv} = sum of net orders {net}"
    )
    if drifts:
        raise typer.Exit(1)
