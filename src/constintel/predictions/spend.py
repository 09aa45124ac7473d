"""Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV: Using Iso-Value Curves"): what a
customer spends per order.

A customer's order values are Gamma(p, nu) with nu ~ Gamma(q, gamma) across customers; the
average of x orders, m, then has the density::

    f(m | x) = Gamma(px+q) / (Gamma(px) Gamma(q)) * gamma^q m^(px-1) x^(px) / (gamma+mx)^(px+q)

fitted by maximum likelihood (log space, analytic gradient, terms in x alone once per
distinct x) on customers with at least one repeat purchase and a positive average. The
conditional expectation of a customer's average order value shrinks their own average toward
the population mean ``p gamma / (q - 1)`` by how many orders it rests on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, gammaln

from .mle import maximize
from .summary import Floats

__all__ = ["SpendParams", "expected_average", "fit", "log_likelihood"]


@dataclass(frozen=True, slots=True)
class SpendParams:
    p: float
    q: float
    gamma: float
    log_likelihood: float = float("nan")

    @property
    def population_mean(self) -> float:
        """Mean order value across customers; infinite when q <= 1 (heavy tail)."""
        return self.p * self.gamma / (self.q - 1) if self.q > 1 else float("inf")

    def as_dict(self) -> dict[str, float]:
        return {
            "p": self.p,
            "q": self.q,
            "gamma": self.gamma,
            "log_likelihood": self.log_likelihood,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> SpendParams:
        return cls(
            float(data["p"]),  # type: ignore[arg-type]
            float(data["q"]),  # type: ignore[arg-type]
            float(data["gamma"]),  # type: ignore[arg-type]
            float(data.get("log_likelihood", float("nan"))),  # type: ignore[arg-type]
        )


def _usable(x: object, m: object) -> tuple[Floats, Floats]:
    xs = np.asarray(x, dtype=np.float64)
    ms = np.asarray(m, dtype=np.float64)
    keep = (xs > 0) & (ms > 0) & np.isfinite(ms)
    return xs[keep], ms[keep]


@dataclass(frozen=True, slots=True)
class _Data:
    """What the likelihood needs of (x, m), computed once per fit: per distinct x its count,
    and the sums that do not depend on the parameters."""

    x: Floats
    mx: Floats
    ux: Floats
    counts: Floats
    s_xlog: float  # sum of x (log m + log x)
    s_logm: float  # sum of log m


def _data(x: Floats, m: Floats) -> _Data:
    ux, counts = np.unique(x, return_counts=True)
    log_m = np.log(m)
    return _Data(
        x,
        m * x,
        ux,
        counts.astype(np.float64),
        float((x * (log_m + np.log(x))).sum()),
        float(log_m.sum()),
    )


def _loglik_and_grad(theta: Floats, d: _Data) -> tuple[float, Floats]:
    """Per customer only log(gamma + m x) and its reciprocal are evaluated; the rest are sums
    over the distinct x or fixed sums."""
    p, q, g = np.exp(theta)
    n = float(d.counts.sum())
    px_u = p * d.ux
    c_u = gammaln(px_u + q) - gammaln(px_u) - gammaln(q)
    dp_u = d.ux * (digamma(px_u + q) - digamma(px_u))
    dq_u = digamma(px_u + q) - digamma(q)
    log_gmx = np.log(g + d.mx)
    inv_gmx = 1.0 / (g + d.mx)
    s_l = float(log_gmx.sum())
    s_xl = float((d.x * log_gmx).sum())
    s_inv = float(inv_gmx.sum())
    s_xinv = float((d.x * inv_gmx).sum())
    ll = (
        float((c_u * d.counts).sum())
        + n * q * np.log(g)
        + p * d.s_xlog
        - d.s_logm
        - p * s_xl
        - q * s_l
    )
    g_p = float((dp_u * d.counts).sum()) + d.s_xlog - s_xl
    g_q = float((dq_u * d.counts).sum()) + n * np.log(g) - s_l
    g_g = n * q / g - p * s_xinv - q * s_inv
    return float(ll), np.array([p * g_p, q * g_q, g * g_g])


def log_likelihood(params: SpendParams, x: object, m: object) -> float:
    theta = np.log([params.p, params.q, params.gamma])
    return _loglik_and_grad(theta, _data(*_usable(x, m)))[0]


def fit(x: object, m: object) -> SpendParams:
    """Fit on the customers with x >= 1 and m > 0 (the others carry no spend information)."""
    xs, ms = _usable(x, m)
    if xs.size == 0:
        raise ValueError("no customers with orders and a positive average order value to fit")
    d = _data(xs, ms)
    n = float(xs.size)
    mean = float(ms.mean())
    # Start with p = q = 2 and gamma so the population mean equals the sample mean.
    theta0 = np.log([2.0, 2.0, mean / 2.0])

    theta, ll = maximize(lambda t: _loglik_and_grad(t, d), theta0, n, "Gamma-Gamma")
    p, q, g = (float(v) for v in np.exp(theta))
    return SpendParams(p, q, g, ll)


def expected_average(params: SpendParams, x: object, m: object) -> Floats:
    """E(average order value | x, m): the population mean without history (x = 0); 0 for a
    customer whose orders are worth nothing so far (m <= 0: everything refunded)."""
    p, q, g = params.p, params.q, params.gamma
    xs = np.asarray(x, dtype=np.float64)
    ms = np.asarray(m, dtype=np.float64)
    usable = (xs > 0) & (ms > 0)
    xs_u = np.where(usable, xs, 0.0)
    ms_u = np.where(usable, ms, 0.0)
    value = p * (g + ms_u * xs_u) / (p * xs_u + q - 1)
    return np.where((xs > 0) & (ms <= 0), 0.0, value)
