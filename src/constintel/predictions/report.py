"""The model report: a calibration/holdout check of the purchase models (pure) and its image.

The history is cut at ``calibration_end``: the models are fitted on what happened before it,
then each customer's predicted number of repeat purchases over the holdout period is compared
with what they actually bought, averaged by their number of repeat purchases in the
calibration period (0, 1, ..., 6, 7+), as in Fader, Hardie & Lee (2005), figure 4.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import purchase
from .purchase import PurchaseParams
from .scoring import MIN_CUSTOMERS, MIN_REPEAT_CUSTOMERS
from .summary import Floats, compress

__all__ = ["Bucket", "HoldoutCheck", "holdout_check", "write_image"]

BUCKETS = 7  # 0..6 repeat purchases, then "7+"


@dataclass(frozen=True, slots=True)
class Bucket:
    label: str
    customers: int
    actual: float  # mean repeat purchases in the holdout period
    bgnbd: float  # mean predicted by BG/NBD
    mbgnbd: float  # mean predicted by MBG/NBD


@dataclass(frozen=True, slots=True)
class HoldoutCheck:
    calibration_days: int
    holdout_days: int
    customers: int
    frequency: PurchaseParams
    churn: PurchaseParams
    buckets: list[Bucket]
    actual_total: float
    bgnbd_total: float
    mbgnbd_total: float


def holdout_check(
    customer: Floats, day: Floats, *, calibration_end: float, end: float
) -> HoldoutCheck:
    """``customer``/``day``: one entry per purchase (any customer key, day as a number).
    Customers whose first purchase is after ``calibration_end`` are left out."""
    cust = np.asarray(customer)
    days = np.asarray(day, dtype=np.float64)
    keep = days <= end
    cust, days = cust[keep], days[keep]
    _, idx = np.unique(cust, return_inverse=True)
    n = int(idx.max()) + 1 if idx.size else 0
    in_cal = days <= calibration_end
    first = np.full(n, np.inf)
    np.minimum.at(first, idx, days)
    last_cal = np.full(n, -np.inf)
    np.maximum.at(last_cal, idx[in_cal], days[in_cal])
    count_cal = np.bincount(idx[in_cal], minlength=n).astype(np.float64)
    count_hold = np.bincount(idx[~in_cal], minlength=n).astype(np.float64)
    cohort = first <= calibration_end
    if not np.any(cohort):
        raise ValueError("no customer bought before the end of the calibration period")
    x = count_cal[cohort] - 1
    t_x = last_cal[cohort] - first[cohort]
    T = calibration_end - first[cohort]
    actual = count_hold[cohort]
    customers, repeat = int(cohort.sum()), int(np.count_nonzero(x > 0))
    if customers < MIN_CUSTOMERS or repeat < MIN_REPEAT_CUSTOMERS:
        raise ValueError(
            f"only {customers} customers ({repeat} with a repeat order) bought before the "
            f"holdout period; at least {MIN_CUSTOMERS} ({MIN_REPEAT_CUSTOMERS}) are needed: "
            "use a shorter holdout"
        )
    s = compress(x, t_x, T)
    bg = purchase.fit(s, "bgnbd")
    mbg = purchase.fit(s, "mbgnbd")
    horizon = float(end - calibration_end)
    pred_bg = purchase.conditional_expected(bg, horizon, x, t_x, T)
    pred_mbg = purchase.conditional_expected(mbg, horizon, x, t_x, T)
    bucket = np.minimum(x, BUCKETS).astype(np.intp)
    buckets = []
    for b in range(BUCKETS + 1):
        sel = bucket == b
        count = int(sel.sum())
        if count == 0:
            continue
        buckets.append(
            Bucket(
                label=f"{b}+" if b == BUCKETS else str(b),
                customers=count,
                actual=float(actual[sel].mean()),
                bgnbd=float(pred_bg[sel].mean()),
                mbgnbd=float(pred_mbg[sel].mean()),
            )
        )
    return HoldoutCheck(
        calibration_days=int(calibration_end - float(first[cohort].min())),
        holdout_days=int(horizon),
        customers=int(cohort.sum()),
        frequency=bg,
        churn=mbg,
        buckets=buckets,
        actual_total=float(actual.sum()),
        bgnbd_total=float(pred_bg.sum()),
        mbgnbd_total=float(pred_mbg.sum()),
    )


def write_image(check: HoldoutCheck, path: Path, *, title: str) -> None:
    """A PNG of actual vs predicted holdout purchases by calibration frequency."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "writing the report image needs matplotlib: pip install 'constintel[report]'"
        ) from exc
    labels = [b.label for b in check.buckets]
    pos = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    ax.plot(pos, [b.actual for b in check.buckets], "k-o", label="actual")
    ax.plot(pos, [b.bgnbd for b in check.buckets], "b--s", label="BG/NBD")
    ax.plot(pos, [b.mbgnbd for b in check.buckets], "r:^", label="MBG/NBD")
    ax.set_xticks(pos, labels)
    ax.set_xlabel("repeat purchases in the calibration period")
    ax.set_ylabel(f"mean purchases in the {check.holdout_days}-day holdout")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
