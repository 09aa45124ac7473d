"""A background loop: run a step until it has nothing left to do, then wait for a wake-up or
an interval. The inbox drain, the outbox relay/dispatcher and the stream workers all run on
it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

__all__ = ["Pump"]

log = logging.getLogger(__name__)


class Pump:
    """A background thread running ``step`` until it has nothing left to do, then waiting for
    a wake-up or ``interval`` seconds (the inbox drain, the dispatcher and the relay share it).

    ``step`` returns how much it did; 0 means nothing was left. With ``batch`` (the most one
    step takes), a step that did less than that also means nothing was left, which spares a
    second, empty step (for the relay, a transaction of its own) after each partial one."""

    def __init__(
        self,
        name: str,
        step: Callable[[], int],
        *,
        interval: float = 1.0,
        batch: int | None = None,
    ) -> None:
        self.name = name
        self.step = step
        self.interval = interval
        self.batch = batch
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def run_until_done(self) -> None:
        """Run ``step`` until it has nothing left to do (or the pump is stopped), in the
        calling thread."""
        while not self._stop.is_set():
            done = self.step()
            if done == 0 or (self.batch is not None and done < self.batch):
                return

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self.run_until_done()
            except Exception:
                log.exception("%s failed; retrying in %.1f s", self.name, self.interval)
