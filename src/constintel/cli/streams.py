"""``constintel relay``, ``constintel worker`` and ``constintel streams``: the production
streams (Redis) and their inspection."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import delete

from constintel.activation.sender import activation_step
from constintel.core import heap
from constintel.core.errors import ConstIntelError
from constintel.core.pump import Pump
from constintel.db.session import transaction
from constintel.streams.handlers import HANDLERS
from constintel.streams.models import HandledMessage
from constintel.streams.outbox import STREAMS
from constintel.streams.redis_io import StreamNames, connect, dead_letters, group_states
from constintel.streams.relay import backlog
from constintel.streams.relay import pump as relay_pump
from constintel.streams.worker import Worker

from .common import command_group, console, fail, print_json, run_until_stopped, state

__all__ = ["relay", "streams_app", "worker"]

streams_app = command_group("Redis Streams: status and replay.")


def _redis() -> tuple[Any, StreamNames]:
    settings = state.settings()
    if not settings.redis_url:
        raise fail("set CONSTINTEL_REDIS_URL (e.g. redis://127.0.0.1:6379/0) to use the streams")
    return connect(settings.redis_url), StreamNames(settings.stream_prefix)


def relay(
    interval: Annotated[float, typer.Option(min=0.01, help="Seconds between idle looks.")] = 0.1,
) -> None:
    """Publish the outbox to Redis Streams, in order per profile (several relays may run at
    once on PostgreSQL). Ctrl-C stops."""
    client, names = _redis()
    try:
        engine = state.app().engine
    except ConstIntelError as exc:
        raise fail(str(exc)) from exc
    console.print(f"relaying the outbox to {names.prefix}* every {interval} s when idle")
    run_until_stopped([relay_pump(engine, client, names, interval=interval, name="relay")])


def worker(
    group: Annotated[
        list[str] | None,
        typer.Option(help=f"Consumer group(s) to run (default: all of {', '.join(HANDLERS)})."),
    ] = None,
    claim_idle_ms: Annotated[
        int, typer.Option(help="Reclaim messages pending this long on a dead consumer.")
    ] = 30_000,
    max_attempts: Annotated[
        int, typer.Option(min=1, help="Deliveries before a message goes to dead letters.")
    ] = 5,
) -> None:
    """Consume the streams: each group's handler applies messages exactly once and
    acknowledges after its commit. Run as many as you like. Ctrl-C stops."""
    client, names = _redis()
    groups = group or list(HANDLERS)
    unknown = [g for g in groups if g not in HANDLERS]
    if unknown:
        raise fail(f"unknown group(s) {unknown}; one of {', '.join(HANDLERS)}")
    try:
        engine = state.app().engine
    except ConstIntelError as exc:
        raise fail(str(exc)) from exc
    workers = [
        Worker(
            engine,
            client,
            names,
            HANDLERS[g],
            claim_idle_ms=claim_idle_ms,
            max_attempts=max_attempts,
            block_ms=200,
        )
        for g in groups
    ]
    for w in workers:
        w.ensure_groups()
    console.print(f"worker {workers[0].consumer}: groups {', '.join(groups)}")
    pumps = [Pump(f"worker-{w.handler.group}", w.run_once, interval=0.0) for w in workers]
    if "automations" in groups:
        # The activation clock: abandoned carts, scheduled campaigns, the sender.
        pumps.append(Pump("activation", lambda: activation_step(engine), interval=1.0))
    heap.settle()
    run_until_stopped(pumps)


@streams_app.command("status")
def status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Per stream: length; per group: lag and pending; dead letters; the outbox backlog."""
    client, names = _redis()
    rows = group_states(client, names, STREAMS)
    dead = dead_letters(client, names, HANDLERS)
    out = {"streams": rows, "dead_letters": dead, "outbox_backlog": backlog(state.app().engine)}
    if as_json:
        print_json(out)
        return
    columns = ("stream", "length", "group", "lag", "pending")
    table = Table(*columns)
    for r in rows:
        table.add_row(*(str(r[k]) if r[k] is not None else "-" for k in columns))
    console.print(table)
    console.print(f"dead letters: {dead}   outbox backlog: {out['outbox_backlog']}")


@streams_app.command("replay")
def replay(
    group: Annotated[str, typer.Option(help="Consumer group to rewind.")],
    stream: Annotated[str, typer.Option(help=f"One of {', '.join(STREAMS)}.")],
    from_id: Annotated[
        str, typer.Option("--from", help="Redis stream id to re-deliver from (0 = the start).")
    ] = "0",
    forget_from_outbox_id: Annotated[
        int | None,
        typer.Option(
            help="Also forget that the group applied messages with outbox id >= this, so they "
            "are applied again (after fixing a handler); otherwise they are skipped."
        ),
    ] = None,
) -> None:
    """Re-deliver a stream to a consumer group from a point (XGROUP SETID)."""
    client, names = _redis()
    if stream not in STREAMS or group not in HANDLERS:
        raise fail(f"stream one of {STREAMS}; group one of {tuple(HANDLERS)}")
    client.xgroup_setid(names.stream(stream), group, from_id)
    forgotten = 0
    if forget_from_outbox_id is not None:
        with transaction(state.app().engine) as session:
            result = session.execute(
                delete(HandledMessage).where(
                    HandledMessage.consumer_group == group,
                    HandledMessage.outbox_id >= forget_from_outbox_id,
                )
            )
            forgotten = result.rowcount or 0  # type: ignore[attr-defined]
    console.print(
        f"{group} re-reads {stream} from {from_id}; {forgotten} applied messages forgotten"
    )
