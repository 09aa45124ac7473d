"""Pump: a step runs again while it has more to do."""

from __future__ import annotations

import pytest

from constintel.core.pump import Pump


@pytest.mark.parametrize(
    ("batch", "expected"),
    [
        (None, [5, 5, 3, 0]),  # until a step does nothing
        (5, [5, 5, 3]),  # a step that took less than a full batch emptied the queue
    ],
)
def test_a_pump_steps_until_nothing_is_left(batch: int | None, expected: list[int]) -> None:
    results = [5, 5, 3, 0, 9]
    calls: list[int] = []

    def step() -> int:
        calls.append(results[len(calls)])
        return calls[-1]

    Pump("test", step, batch=batch).run_until_done()
    assert calls == expected
