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
from scipy.optimize import minimize
from scipy.special import digamma, gammaln

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


def _loglik_and_grad(
    theta: Floats, x: Floats, m: Floats, ux: Floats, inv: Floats
) -> tuple[float, Floats]:
    p, q, g = np.exp(theta)
    idx = inv.astype(np.intp)
    px_u = p * ux
    c_u = gammaln(px_u + q) - gammaln(px_u) - gammaln(q) + q * np.log(g)
    dp_u = ux * (digamma(px_u + q) - digamma(px_u))
    dq_u = digamma(px_u + q) - digamma(q) + np.log(g)
    px = p * x
    log_gmx = np.log(g + m * x)
    log_m, log_x = np.log(m), np.log(x)
    ll = c_u[idx] + (px - 1) * log_m + px * log_x - (px + q) * log_gmx
    g_p = dp_u[idx] + x * (log_m + log_x - log_gmx)
    g_q = dq_u[idx] - log_gmx
    g_g = q / g - (px + q) / (g + m * x)
    grad = np.array([p * g_p.sum(), q * g_q.sum(), g * g_g.sum()])
    return float(ll.sum()), grad


def log_likelihood(params: SpendParams, x: object, m: object) -> float:
    xs, ms = _usable(x, m)
    ux, inv = np.unique(xs, return_inverse=True)
    theta = np.log([params.p, params.q, params.gamma])
    return _loglik_and_grad(theta, xs, ms, ux, inv.astype(np.float64))[0]


def fit(x: object, m: object) -> SpendParams:
    """Fit on the customers with x >= 1 and m > 0 (the others carry no spend information)."""
    xs, ms = _usable(x, m)
    if xs.size == 0:
        raise ValueError("no repeat customers with a positive average order value to fit")
    ux, inv = np.unique(xs, return_inverse=True)
    invf = inv.astype(np.float64)
    n = float(xs.size)
    mean = float(ms.mean())
    # Start with p = q = 2 and gamma so the population mean equals the sample mean.
    theta0 = np.log([2.0, 2.0, mean / 2.0])

    def objective(theta: Floats) -> tuple[float, Floats]:
        ll, grad = _loglik_and_grad(theta, xs, ms, ux, invf)
        return -ll / n, -grad / n

    result = minimize(
        objective,
        theta0,
        jac=True,
        method="L-BFGS-B",
        bounds=[(-12.0, 12.0)] * 3,
        options={"maxiter": 500, "ftol": 1e-14, "gtol": 1e-9},
    )
    if not np.all(np.isfinite(result.x)) or not np.isfinite(result.fun):
        raise ArithmeticError(f"Gamma-Gamma fit did not converge: {result.message}")
    p, q, g = (float(v) for v in np.exp(result.x))
    return SpendParams(p, q, g, -float(result.fun) * n)


def expected_average(params: SpendParams, x: object, m: object) -> Floats:
    """E(average order value | x, m); the population mean where there is no usable history
    (x = 0 or m <= 0)."""
    p, q, g = params.p, params.q, params.gamma
    xs = np.asarray(x, dtype=np.float64)
    ms = np.asarray(m, dtype=np.float64)
    usable = (xs > 0) & (ms > 0)
    xs_u = np.where(usable, xs, 0.0)
    ms_u = np.where(usable, ms, 0.0)
    return p * (g + ms_u * xs_u) / (p * xs_u + q - 1)
