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
    """A background thread running ``step`` until it returns 0, then waiting for a wake-up
    or ``interval`` seconds (the inbox drain, the dispatcher and the relay share it)."""

    def __init__(self, name: str, step: Callable[[], int], *, interval: float = 1.0) -> None:
        self.name = name
        self.step = step
        self.interval = interval
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

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                while not self._stop.is_set() and self.step() > 0:
                    pass
            except Exception:
                log.exception("%s failed; retrying in %.1f s", self.name, self.interval)
