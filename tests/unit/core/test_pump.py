"""Pump: a step runs again while it has more to do."""

from __future__ import annotations

from constintel.core.pump import Pump


def test_a_pump_steps_until_a_step_does_nothing() -> None:
    results = [5, 5, 3, 0, 9]
    calls: list[int] = []

    def step() -> int:
        calls.append(results[len(calls)])
        return calls[-1]

    Pump("test", step).run_until_done()
    assert calls == [5, 5, 3, 0]


def test_with_a_batch_a_partial_step_is_the_last() -> None:
    results = [5, 5, 3, 0, 9]
    calls: list[int] = []

    def step() -> int:
        calls.append(results[len(calls)])
        return calls[-1]

    Pump("test", step, batch=5).run_until_done()
    assert calls == [5, 5, 3]  # a step that took less than a full batch emptied the queue
