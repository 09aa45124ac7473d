"""The CDNOW sample's 6,919 purchases as a brand's manual (CSV) orders, moved in time so the
last day of the sample falls on ``end``: a real customer base for the prediction tests."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "data" / "cdnow" / "CDNOW_sample.txt"
LAST_DAY = date(1998, 6, 30)


def cdnow_orders(end: date) -> list[tuple[str, str | None, dict[str, Any]]]:
    shift = end - LAST_DAY
    out: list[tuple[str, str | None, dict[str, Any]]] = []
    for n, line in enumerate(DATA.read_text().splitlines()):
        customer, _sample, ymd, _cds, dollars = line.split()
        day = date(int(ymd[:4]), int(ymd[4:6]), int(ymd[6:])) + shift
        out.append(
            (
                "csv",
                None,
                {
                    "order_id": f"cdnow-{n}",
                    "total": dollars,
                    "ordered_at": day.isoformat(),
                    "email": f"cdnow{int(customer)}@example.com",
                },
            )
        )
    return out


def ingest_cdnow(ingest: Any, end: date, batch: int = 2500) -> int:
    orders = cdnow_orders(end)
    for start in range(0, len(orders), batch):
        ingest(*orders[start : start + batch])
    return len(orders)
