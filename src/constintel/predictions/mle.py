"""Maximum likelihood over log-parameters, shared by the models."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import minimize

from .summary import Floats

__all__ = ["maximize"]

BOUND = 12.0  # parameters searched in [e^-12, e^12]


def maximize(
    loglik_and_grad: Callable[[Floats], tuple[float, Floats]],
    theta0: Floats,
    n: float,
    what: str,
) -> tuple[Floats, float]:
    """(log-parameters, log-likelihood) at the maximum, by L-BFGS-B on the mean negative
    log-likelihood and its analytic gradient. Raises ``ArithmeticError`` when there is no
    finite interior maximum: a parameter at the edge of the search means the data do not
    identify the model (e.g. every purchase on one day), and its predictions would be
    meaningless."""

    def objective(theta: Floats) -> tuple[float, Floats]:
        ll, grad = loglik_and_grad(theta)
        return -ll / n, -grad / n

    result = minimize(
        objective,
        theta0,
        jac=True,
        method="L-BFGS-B",
        bounds=[(-BOUND, BOUND)] * len(theta0),
        options={"maxiter": 500, "ftol": 1e-14, "gtol": 1e-9},
    )
    if not np.all(np.isfinite(result.x)) or not np.isfinite(result.fun):
        raise ArithmeticError(f"{what} fit did not converge: {result.message}")
    if np.any(np.abs(result.x) > BOUND - 0.5):
        raise ArithmeticError(f"{what} fit has no interior maximum: the data do not identify it")
    return result.x, -float(result.fun) * n
