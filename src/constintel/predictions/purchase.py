"""BG/NBD and MBG/NBD: how often a customer buys, and whether they are still a customer.

BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way"): while active, a
customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha); after each repeat
purchase they drop out with probability p ~ Beta(a, b). Nobody drops out before the first
repeat purchase, so P(alive) = 1 for every one-time buyer.

MBG/NBD (Batislam, Denizel & Filiztekin 2007): the same, but a customer may also drop out
right after the first purchase, so a one-time buyer's P(alive) falls with time. ConstIntel uses
it for churn risk = 1 - P(alive).

Both share one likelihood with ``y = x`` (BG/NBD) or ``y = x + 1`` (MBG/NBD)::

    L = Gamma(r+x) alpha^r / Gamma(r) * B(a, b+y) / B(a, b) / (alpha+T)^(r+x)
        * (1 + [y > 0] * a / (b+y-1) * ((alpha+T) / (alpha+t_x))^(r+x))

evaluated in log space (log-sum-exp for the bracket) with its analytic gradient, the terms
that depend only on x computed once per distinct x, and fitted by maximum likelihood over
log-parameters (L-BFGS-B).

The conditional expectation of purchases in the next t (eq. 10 of FHL 2005, and its MBG
form) holds a Gauss hypergeometric 2F1 that overflows for frequent buyers over long
horizons; Euler's transformation turns ``(1-z)^(r+x) 2F1(r+x, b+y; c; z)`` into
``(1-z)^(a-1) 2F1(c-r-x, a-1; c; z)``, whose second parameter is small, so the product never
overflows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from .mle import maximize
from .summary import Floats, Summary

__all__ = [
    "PurchaseParams",
    "conditional_expected",
    "fit",
    "horizon_table",
    "log_likelihood",
    "p_alive",
]

Kind = Literal["bgnbd", "mbgnbd"]


@dataclass(frozen=True, slots=True)
class PurchaseParams:
    kind: Kind
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float = float("nan")

    @property
    def _shift(self) -> int:
        return 1 if self.kind == "mbgnbd" else 0

    def as_dict(self) -> dict[str, float | str]:
        return {
            "kind": self.kind,
            "r": self.r,
            "alpha": self.alpha,
            "a": self.a,
            "b": self.b,
            "log_likelihood": self.log_likelihood,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> PurchaseParams:
        kind = data["kind"]
        if kind not in ("bgnbd", "mbgnbd"):
            raise ValueError(f"unknown purchase model {kind!r}")
        return cls(
            kind,
            float(data["r"]),  # type: ignore[arg-type]
            float(data["alpha"]),  # type: ignore[arg-type]
            float(data["a"]),  # type: ignore[arg-type]
            float(data["b"]),  # type: ignore[arg-type]
            float(data.get("log_likelihood", float("nan"))),  # type: ignore[arg-type]
        )


def _loglik_and_grad(
    theta: Floats, s: Summary, shift: int, ux: Floats, inv: Floats
) -> tuple[float, Floats]:
    """Sum of weighted log-likelihoods and its gradient in log-parameters."""
    r, alpha, a, b = np.exp(theta)
    y_u = ux + shift
    # Terms that depend on x only, once per distinct x.
    lg_u = gammaln(r + ux) - gammaln(r) + betaln(a, b + y_u) - betaln(a, b)
    dr_u = digamma(r + ux) - digamma(r)
    da_u = digamma(a + b) - digamma(a + b + y_u)
    db_u = digamma(b + y_u) - digamma(a + b + y_u) - digamma(b) + digamma(a + b)
    has = y_u > 0
    denom_u = np.where(has, b + y_u - 1, 1.0)
    logk_u = np.where(has, np.log(a) - np.log(denom_u), -np.inf)
    inv_denom_u = np.where(has, 1.0 / denom_u, 0.0)

    idx = inv.astype(np.intp)
    x, t_x, T, w = s.x, s.t_x, s.T, s.weight
    rx = r + x
    log_aT = np.log(alpha + T)
    log_at = np.log(alpha + t_x)
    log_c = logk_u[idx] + rx * (log_aT - log_at)
    ll = lg_u[idx] + r * np.log(alpha) - rx * log_aT + np.logaddexp(0.0, log_c)
    share = expit(log_c)  # c / (1 + c); 0 where there is no second term

    g_r = dr_u[idx] + np.log(alpha) - log_aT + share * (log_aT - log_at)
    g_alpha = r / alpha - rx / (alpha + T) + share * rx * (1.0 / (alpha + T) - 1.0 / (alpha + t_x))
    g_a = da_u[idx] + share / a
    g_b = db_u[idx] - share * inv_denom_u[idx]
    # Weighted sums as multiply-then-sum, not np.dot: a BLAS call here wakes OpenBLAS's
    # thread pool, whose spinning threads then slow every vector operation that follows.
    grad = np.array(
        [
            r * (w * g_r).sum(),
            alpha * (w * g_alpha).sum(),
            a * (w * g_a).sum(),
            b * (w * g_b).sum(),
        ]
    )
    return float((w * ll).sum()), grad


def _unique_x(s: Summary) -> tuple[Floats, Floats]:
    ux, inv = np.unique(s.x, return_inverse=True)
    return ux, inv.astype(np.float64)


def log_likelihood(params: PurchaseParams, s: Summary) -> float:
    ux, inv = _unique_x(s)
    theta = np.log([params.r, params.alpha, params.a, params.b])
    return _loglik_and_grad(theta, s, params._shift, ux, inv)[0]


def fit(s: Summary, kind: Kind = "bgnbd") -> PurchaseParams:
    """Maximum-likelihood estimates of (r, alpha, a, b)."""
    if s.x.size == 0:
        raise ValueError("no customers to fit")
    shift = 1 if kind == "mbgnbd" else 0
    ux, inv = _unique_x(s)
    n = s.customers
    # Start from a purchase rate of (repeat purchases / observed time), in the data's unit.
    rate = max(float((s.weight * s.x).sum()) / max(float((s.weight * s.T).sum()), 1e-9), 1e-6)
    theta0 = np.log([1.0, 1.0 / rate, 1.0, 1.0])

    theta, ll = maximize(lambda t: _loglik_and_grad(t, s, shift, ux, inv), theta0, n, kind)
    r, alpha, a, b = (float(v) for v in np.exp(theta))
    return PurchaseParams(kind, r, alpha, a, b, ll)


def _log_odds_dead(params: PurchaseParams, x: Floats, t_x: Floats, T: Floats) -> Floats:
    """log of c in P(alive) = 1 / (1 + c); -inf where c = 0 (BG/NBD, no repeat purchase)."""
    p = params
    y = x + p._shift
    has = y > 0
    denom = np.where(has, p.b + y - 1, 1.0)
    log_k = np.where(has, np.log(p.a) - np.log(denom), -np.inf)
    return log_k + (p.r + x) * (np.log(p.alpha + T) - np.log(p.alpha + t_x))  # type: ignore[no-any-return]


def p_alive(params: PurchaseParams, x: object, t_x: object, T: object) -> Floats:
    """Probability that the customer is still active at T (in [0, 1])."""
    xs, ts, Ts = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    return expit(-_log_odds_dead(params, xs, ts, Ts))  # type: ignore[no-any-return]


def conditional_expected(
    params: PurchaseParams, t: float | Floats, x: object, t_x: object, T: object
) -> Floats:
    """Expected purchases in (T, T + t] of a customer with history (x, t_x, T).

    ``t`` may be a scalar or an array broadcastable against the customers (e.g. a column of
    horizons). Evaluated once per distinct (x, T, t): t_x only enters through P(alive)."""
    p = params
    xs, ts, Ts = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    alive = p_alive(p, xs, ts, Ts)
    return _expected_if_alive(p, np.asarray(t, dtype=np.float64), xs, Ts) * alive


def _expected_if_alive(p: PurchaseParams, t: Floats, x: Floats, T: Floats) -> Floats:
    y = x + p._shift
    c = p.a + p.b + y - 1
    z = t / (p.alpha + T + t)
    # (1-z)^(r+x) 2F1(r+x, b+y; c; z) == (1-z)^(a-1) 2F1(c-r-x, a-1; c; z)  (Euler)
    tail = np.exp((p.a - 1) * np.log1p(-z)) * hyp2f1(c - p.r - x, p.a - 1, c, z)
    return (c / (p.a - 1)) * (1.0 - tail)  # type: ignore[no-any-return]


def horizon_table(
    params: PurchaseParams, horizons: Floats, x: Floats, T: Floats
) -> tuple[Floats, NDArray[np.intp]]:
    """Expected purchases up to each horizon *if alive*, once per distinct (x, T): a table of
    shape (distinct rows, horizons) and each customer's row index. Multiply a customer's row by
    their P(alive) for the conditional expectation."""
    if x.size and np.all(np.floor(T) == T) and float(T.max()) < 2**31:
        key = (x.astype(np.int64) << 32) | T.astype(np.int64)
        uniq, inv = np.unique(key, return_inverse=True)
        ux = (uniq >> 32).astype(np.float64)
        uT = (uniq & (2**32 - 1)).astype(np.float64)
    else:
        ux, uT, inv = x, T, np.arange(x.size)
    table = _expected_if_alive(params, horizons[None, :], ux[:, None], uT[:, None])
    return table, inv.reshape(-1).astype(np.intp)
