"""The recency/frequency summary every customer-base model reads, and its exact compression.

Per customer: ``x`` repeat purchases (orders after the first), ``t_x`` time from the first to
the last purchase, ``T`` time from the first purchase to the end of observation, ``m`` the
average order value. Any time unit works; ConstIntel uses whole days (UTC dates), so many
customers share the same (x, t_x, T) and the likelihoods are evaluated once per distinct row,
weighted by how many customers it stands for. The compression is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["Summary", "compress"]

Floats = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Summary:
    x: Floats
    t_x: Floats
    T: Floats
    weight: Floats

    @property
    def customers(self) -> float:
        return float(self.weight.sum())


def _as_floats(values: object, name: str) -> Floats:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds a value that is not finite")
    return arr


def compress(x: object, t_x: object, T: object) -> Summary:
    """Validate and compress (x, t_x, T) to distinct rows with weights."""
    xs, ts, Ts = _as_floats(x, "x"), _as_floats(t_x, "t_x"), _as_floats(T, "T")
    if not (xs.shape == ts.shape == Ts.shape):
        raise ValueError("x, t_x and T must have the same length")
    if np.any(xs < 0) or np.any(xs != np.floor(xs)):
        raise ValueError("x (repeat purchases) must be whole numbers >= 0")
    if np.any(ts < 0) or np.any(ts > Ts):
        raise ValueError("t_x must lie in [0, T]")
    if np.any((xs == 0) & (ts != 0)):
        raise ValueError("a customer without repeat purchases has t_x = 0")
    whole = bool(
        np.all(ts == np.floor(ts)) and np.all(Ts == np.floor(Ts)) and (Ts.max(initial=0) < 2**20)
    )
    if not whole or xs.size == 0:
        return Summary(xs, ts, Ts, np.ones_like(xs))
    # Whole numbers: one int64 key per row, then a sort-based unique (exact).
    xi, ti, Ti = xs.astype(np.int64), ts.astype(np.int64), Ts.astype(np.int64)
    key = (xi << 40) | (ti << 20) | Ti
    uniq, counts = np.unique(key, return_counts=True)
    ux = (uniq >> 40).astype(np.float64)
    ut = ((uniq >> 20) & (2**20 - 1)).astype(np.float64)
    uT = (uniq & (2**20 - 1)).astype(np.float64)
    return Summary(ux, ut, uT, counts.astype(np.float64))
