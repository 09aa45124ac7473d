"""A stream worker: one consumer of one consumer group.

- reads new messages with XREADGROUP and applies them in batches (``apply``: effects and the
  handled-ledger in one transaction), acknowledging only after that commit;
- reclaims messages left pending by a dead consumer (XAUTOCLAIM after ``claim_idle_ms``), and
  forgets consumers that hold nothing and have not read for ``FORGET_AFTER`` claim periods
  (each restarted worker is a new consumer: without this, a group would list every worker
  that ever ran; a live consumer forgotten by mistake is re-created by its next read);
- a message that fails is left pending and retried (one by one, so it cannot hold back the
  messages batched with it); once it has been delivered ``max_attempts`` times it moves to the
  group's dead-letter stream with its last error, and is acknowledged.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis
from sqlalchemy import Engine

from constintel.streams.apply import apply_batch
from constintel.streams.handlers import Handler, Message
from constintel.streams.redis_io import StreamNames

__all__ = ["Worker"]

log = logging.getLogger(__name__)
FORGET_AFTER = 10  # claim periods without a read, and nothing pending, before a consumer goes
# KEYS[1] stream; ARGV group, this consumer, idle limit (ms). Returns the consumers deleted.
_FORGET_SCRIPT = """
local forgotten = {}
for _, entry in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local c = {}
  for i = 1, #entry, 2 do c[entry[i]] = entry[i + 1] end
  if c['name'] ~= ARGV[2] and c['pending'] == 0 and c['idle'] > tonumber(ARGV[3]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], c['name'])
    table.insert(forgotten, c['name'])
  end
end
return forgotten
"""


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass
class Worker:
    engine: Engine
    client: redis.Redis
    names: StreamNames
    handler: Handler
    consumer: str = field(default_factory=consumer_name)
    batch: int = 500
    block_ms: int = 1000
    claim_idle_ms: int = 30_000
    max_attempts: int = 5
    _tidied: float = field(default=0.0, init=False, repr=False)

    def ensure_groups(self) -> None:
        for stream in self.handler.streams:
            try:
                self.client.xgroup_create(
                    self.names.stream(stream), self.handler.group, id="0", mkstream=True
                )
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    # -- one pass ------------------------------------------------------------------------
    def run_once(self) -> int:
        """Reclaim, then read and apply one batch per stream; returns messages handled."""
        handled = 0
        for stream in self.handler.streams:
            handled += self._reclaim(stream)
        if time.monotonic() - self._tidied >= self.claim_idle_ms / 1000:
            self._tidied = time.monotonic()
            for stream in self.handler.streams:
                self._forget_gone_consumers(stream)
        streams: dict[Any, Any] = {self.names.stream(s): ">" for s in self.handler.streams}
        reply: Any = self.client.xreadgroup(
            self.handler.group, self.consumer, streams, count=self.batch, block=self.block_ms
        )
        for full_name, entries in reply or []:
            stream = full_name[len(self.names.prefix) :]
            messages = [self._message(stream, rid, fields) for rid, fields in entries]
            handled += self._apply(stream, messages)
        return handled

    def _message(self, stream: str, redis_id: str, fields: dict[str, str]) -> Message:
        return Message(
            stream=stream,
            redis_id=redis_id,
            outbox_id=int(fields["outbox_id"]),
            brand_id=fields["brand_id"],
            key=fields["key"],
            data=orjson.loads(fields["data"]),
        )

    def _apply(self, stream: str, messages: list[Message]) -> int:
        if not messages:
            return 0
        try:
            apply_batch(self.engine, self.handler, messages)
        except Exception:
            log.exception(
                "%s: batch of %d failed; retrying one by one", self.handler.group, len(messages)
            )
            ok: list[Message] = []
            for m in messages:
                try:
                    apply_batch(self.engine, self.handler, [m])
                    ok.append(m)
                except Exception as exc:  # stays pending: retried after claim_idle_ms
                    # Kept in Redis, so whichever consumer dead-letters it can say why.
                    self.client.hset(
                        self.names.errors(self.handler.group),
                        m.redis_id,
                        f"{type(exc).__name__}: {exc}",
                    )
                    log.warning("%s: message %s failed: %s", self.handler.group, m.redis_id, exc)
            messages = ok
        if messages:
            self.client.xack(
                self.names.stream(stream), self.handler.group, *[m.redis_id for m in messages]
            )
        return len(messages)

    def _reclaim(self, stream: str) -> int:
        name = self.names.stream(stream)
        _, claimed, _ = self.client.xautoclaim(
            name,
            self.handler.group,
            self.consumer,
            min_idle_time=self.claim_idle_ms,
            start_id="0-0",
            count=self.batch,
        )
        if not claimed:
            return 0
        log.info(
            "%s: reclaimed %d message(s) of %s pending over %d ms (a consumer died, or a "
            "message failed and is retried)",
            self.handler.group,
            len(claimed),
            stream,
            self.claim_idle_ms,
        )
        retry: list[Message] = []
        for rid, fields in claimed:
            if fields is None:  # deleted by trimming meanwhile
                self.client.xack(name, self.handler.group, rid)
                continue
            delivered = self._deliveries(name, rid)
            if delivered > self.max_attempts:
                self._dead(stream, rid, fields, delivered)
            else:
                retry.append(self._message(stream, rid, fields))
        handled = 0
        for m in retry:  # one by one: a poison message cannot take others down with it
            handled += self._apply(stream, [m])
        return handled

    def _forget_gone_consumers(self, stream: str) -> None:
        """Delete the group's other consumers that hold no pending message and have not read
        for FORGET_AFTER claim periods (their messages, if any, were reclaimed first). The
        check and the delete are one script, so a consumer cannot read a message in between
        and lose it with its pending list. (Before Redis 7.2 a consumer's idle time counts
        from its last read that returned messages, so a live worker of a quiet group may be
        forgotten too: its next read re-creates it, with nothing lost.)"""
        forgotten = self.client.eval(
            _FORGET_SCRIPT,
            1,
            self.names.stream(stream),
            self.handler.group,
            self.consumer,
            FORGET_AFTER * self.claim_idle_ms,
        )
        for name in forgotten or []:
            log.info(
                "%s: forgot consumer %s of %s (gone, nothing pending)",
                self.handler.group,
                name,
                stream,
            )

    def _deliveries(self, name: str, rid: str) -> int:
        info: list[dict[str, Any]] = self.client.xpending_range(
            name, self.handler.group, min=rid, max=rid, count=1
        )
        return int(info[0]["times_delivered"]) if info else 1

    def _dead(self, stream: str, rid: str, fields: dict[Any, Any], delivered: int) -> None:
        errors = self.names.errors(self.handler.group)
        error = self.client.hget(errors, rid) or "unknown (no error was recorded)"
        self.client.hdel(errors, rid)
        self.client.xadd(
            self.names.dead(self.handler.group),
            {**fields, "stream": stream, "id": rid, "attempts": str(delivered - 1), "error": error},
        )
        self.client.xack(self.names.stream(stream), self.handler.group, rid)
        log.error(
            "%s: message %s dead-lettered after %d attempts: %s",
            self.handler.group,
            rid,
            delivered - 1,
            error,
        )
