"""The customer-base models against the published CDNOW estimates, and their invariants.

CDNOW sample (tests/data/cdnow, provenance in its SOURCE.md): 2,357 customers, 39-week
calibration period, time in weeks.

- BG/NBD: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way", Marketing
  Science 24(2): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4; and the worked
  example of their note "Implementing the BG/NBD Model": customer 1 (x=2, t_x=30.43,
  T=38.86) is expected to make 1.226 purchases in the next 39 weeks.
- Gamma-Gamma: Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves", JMR 42(4):
  p = 6.25, q = 3.74, gamma = 15.44 (on the repeat customers' mean spend, zbar).
- MBG/NBD: no published CDNOW estimate; the `lifetimes` package's ModifiedBetaGeoFitter
  (0.11.3) gives r = 0.525, alpha = 6.183, a = 0.891, b = 1.614 on the same file.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import check_grad
from scipy.special import gammaln, hyp2f1

from constintel.predictions import purchase, spend
from constintel.predictions.purchase import PurchaseParams
from constintel.predictions.report import holdout_check
from constintel.predictions.scoring import Customers, FittedModels, score_arrays
from constintel.predictions.segments import Cuts, quintile_cuts
from constintel.predictions.spend import SpendParams
from constintel.predictions.summary import compress

DATA = Path(__file__).resolve().parent.parent / "data" / "cdnow"


def sig3(value: float) -> str:
    return f"{value:.3g}"


@pytest.fixture(scope="module")
def cdnow() -> np.ndarray:
    return np.genfromtxt(
        DATA / "cdnow_customers_summary_with_transactions.csv", delimiter=",", names=True
    )


def test_bgnbd_matches_the_published_cdnow_estimates(cdnow: np.ndarray) -> None:
    s = compress(cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert s.customers == 2357
    fit = purchase.fit(s, "bgnbd")
    assert [sig3(v) for v in (fit.r, fit.alpha, fit.a, fit.b)] == ["0.243", "4.41", "0.793", "2.43"]
    # alpha and b to 4 figures as published (4.414, 2.426), LL to one decimal.
    assert round(fit.alpha, 3) == pytest.approx(4.414, abs=1e-3)
    assert round(fit.b, 3) == pytest.approx(2.426, abs=1e-3)
    assert round(fit.log_likelihood, 1) == -9582.4


def test_the_published_conditional_expectation_of_customer_one() -> None:
    bg = PurchaseParams("bgnbd", 0.242594, 4.413587, 0.792919, 2.425939)
    expected = purchase.conditional_expected(bg, 39.0, 2, 30.43, 38.86)
    assert round(float(expected), 3) == 1.226


def test_mbgnbd_on_cdnow_agrees_with_lifetimes(cdnow: np.ndarray) -> None:
    s = compress(cdnow["x"], cdnow["t_x"], cdnow["T"])
    fit = purchase.fit(s, "mbgnbd")
    assert [round(v, 3) for v in (fit.r, fit.alpha, fit.a, fit.b)] == [0.525, 6.183, 0.891, 1.614]
    # Its extra dropout at the first purchase does not buy a worse fit on this data.
    assert fit.log_likelihood == pytest.approx(-9582.1, abs=0.1)


def test_gamma_gamma_matches_the_published_cdnow_estimates(cdnow: np.ndarray) -> None:
    fit = spend.fit(cdnow["x"], cdnow["zbar"])
    assert [sig3(v) for v in (fit.p, fit.q, fit.gamma)] == ["6.25", "3.74", "15.4"]
    # Only the 946 repeat customers carry spend information.
    assert int(np.count_nonzero(cdnow["x"] > 0)) == 946


@pytest.mark.parametrize("kind", ["bgnbd", "mbgnbd"])
def test_analytic_gradient_equals_the_numerical_one(cdnow: np.ndarray, kind: str) -> None:
    s = compress(cdnow["x"], cdnow["t_x"], cdnow["T"])
    ux, inv = np.unique(s.x, return_inverse=True)
    shift = 1 if kind == "mbgnbd" else 0

    def ll(theta: np.ndarray) -> float:
        return purchase._loglik_and_grad(theta, s, shift, ux, inv.astype(float))[0]

    def grad(theta: np.ndarray) -> np.ndarray:
        return purchase._loglik_and_grad(theta, s, shift, ux, inv.astype(float))[1]

    for point in ([0.5, 5.0, 0.8, 2.0], [2.0, 0.5, 3.0, 0.7]):
        theta = np.log(point)
        assert check_grad(ll, grad, theta) < 1e-4 * np.linalg.norm(grad(theta))


def test_gamma_gamma_gradient_equals_the_numerical_one(cdnow: np.ndarray) -> None:
    d = spend._data(*spend._usable(cdnow["x"], cdnow["zbar"]))

    def ll(theta: np.ndarray) -> float:
        return spend._loglik_and_grad(theta, d)[0]

    def grad(theta: np.ndarray) -> np.ndarray:
        return spend._loglik_and_grad(theta, d)[1]

    theta = np.log([3.0, 2.0, 10.0])
    assert check_grad(ll, grad, theta) < 1e-4 * np.linalg.norm(grad(theta))
    # The sums-based likelihood is the density of the module docstring, term by term.
    p, q, g = 3.0, 2.0, 10.0
    x, m = spend._usable(cdnow["x"], cdnow["zbar"])
    direct = (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(g)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(g + m * x)
    ).sum()
    assert ll(theta) == pytest.approx(direct, rel=1e-12)


def test_compression_is_exact() -> None:
    rng = np.random.default_rng(5)
    T = rng.integers(0, 60, 5000).astype(float)
    x = rng.integers(0, 4, 5000).astype(float)
    t_x = np.where(x > 0, np.floor(rng.random(5000) * T), 0.0)
    s = compress(x, t_x, T)
    assert s.x.size < 2500  # whole days: many customers share a row
    assert s.customers == 5000
    loose = compress(x + 0.0, t_x + 0.25 * (x > 0) * (t_x < T), T)  # not whole: no compression
    assert loose.x.size == 5000
    p = PurchaseParams("mbgnbd", 0.6, 12.0, 0.9, 1.8)
    from constintel.predictions.summary import Summary

    raw = Summary(x, t_x, T, np.ones_like(x))
    assert purchase.log_likelihood(p, s) == pytest.approx(
        purchase.log_likelihood(p, raw), rel=1e-12
    )


def test_invalid_summaries_are_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="t_x must lie in"):
        compress([1], [5], [3])
    with pytest.raises(ValueError, match="x \\(repeat purchases\\)"):
        compress([-1], [0], [3])
    with pytest.raises(ValueError, match="t_x = 0"):
        compress([0], [1], [3])


def test_euler_form_equals_the_direct_hypergeometric_and_survives_its_overflow() -> None:
    p = PurchaseParams("bgnbd", 0.243, 4.414, 0.793, 2.426)
    r, al, a, b = p.r, p.alpha, p.a, p.b

    def direct(t: float, x: float, t_x: float, T: float) -> float:
        z = t / (al + T + t)
        head = (a + b + x - 1) / (a - 1)
        body = 1 - ((al + T) / (al + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
        alive = 1 + (x > 0) * a / (b + x - 1) * ((al + T) / (al + t_x)) ** (r + x)
        return float(head * body / alive)

    for case in [(39, 2, 30.43, 38.86), (10, 0, 0, 20), (52, 7, 35, 38), (100, 20, 37, 38.5)]:
        assert float(purchase.conditional_expected(p, *case)) == pytest.approx(direct(*case))
    with np.errstate(all="ignore"):
        assert math.isnan(direct(500, 300, 37, 38.5)) or math.isinf(direct(500, 300, 37, 38.5))
    heavy = float(purchase.conditional_expected(p, 500, 300, 37, 38.5))
    assert math.isfinite(heavy)
    assert heavy > 0


def simulate(n: int, seed: int, r: float, alpha: float, a: float, b: float, modified: bool):
    """Whole-day purchase histories from the (M)BG/NBD process."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    T = rng.integers(30, 400, n).astype(float)
    x = np.zeros(n)
    t_x = np.zeros(n)
    t = np.zeros(n)
    alive = rng.random(n) >= p if modified else np.ones(n, bool)
    for _ in range(400):
        t = t + rng.exponential(1 / lam)
        buy = alive & (t <= T)
        x += buy
        t_x = np.where(buy, t, t_x)
        alive = buy & (rng.random(n) >= p)
        if not alive.any():
            break
    return x, np.floor(t_x), T


@pytest.mark.parametrize("kind", ["bgnbd", "mbgnbd"])
def test_fit_recovers_the_parameters_it_was_simulated_with(kind: str) -> None:
    truth = (0.5, 20.0, 0.9, 3.0)
    x, t_x, T = simulate(60_000, 7, *truth, modified=kind == "mbgnbd")
    fit = purchase.fit(compress(x, t_x, T), kind)  # type: ignore[arg-type]
    got = (fit.r, fit.alpha, fit.a, fit.b)
    for g, w in zip(got, truth, strict=True):
        assert g == pytest.approx(w, rel=0.2)
    # r / alpha (the mean purchase rate) is pinned down much better than either alone.
    assert fit.r / fit.alpha == pytest.approx(truth[0] / truth[1], rel=0.07)


def test_gamma_gamma_recovers_its_parameters() -> None:
    rng = np.random.default_rng(3)
    n = 40_000
    nu = rng.gamma(4.0, 1 / 20.0, n)  # q = 4, gamma = 20
    x = rng.integers(1, 8, n)
    values = rng.gamma(6.0, 1.0, (n, 7)) / nu[:, None]  # p = 6
    m = np.array([values[i, : x[i]].mean() for i in range(n)])
    fit = spend.fit(x, m)
    assert fit.p == pytest.approx(6.0, rel=0.05)
    assert fit.q == pytest.approx(4.0, rel=0.05)
    assert fit.gamma == pytest.approx(20.0, rel=0.1)


MBG = PurchaseParams("mbgnbd", 0.525, 6.183, 0.891, 1.614)
BG = PurchaseParams("bgnbd", 0.243, 4.414, 0.793, 2.426)
GG = SpendParams(6.25, 3.74, 15.44)
repeat = st.integers(min_value=0, max_value=60)
span = st.floats(min_value=0, max_value=300, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(x=repeat, t_x=span, gap=span, later=st.floats(min_value=0.01, max_value=300))
def test_p_alive_is_a_probability_falling_with_time_since_the_last_purchase(
    x: int, t_x: float, gap: float, later: float
) -> None:
    t_x = t_x if x > 0 else 0.0
    T = t_x + gap
    for params in (MBG, BG):
        now = float(purchase.p_alive(params, x, t_x, T))
        after = float(purchase.p_alive(params, x, t_x, T + later))
        assert 0.0 <= after <= now <= 1.0
        if params is MBG and now > 1e-12:
            assert after < now  # strictly: every customer can have lapsed


@settings(max_examples=100, deadline=None)
@given(T=span, later=st.floats(min_value=0.5, max_value=300))
def test_a_one_time_buyers_churn_risk_grows_with_time(T: float, later: float) -> None:
    risk = 1 - purchase.p_alive(MBG, 0, 0, T)
    assert 0 < risk < 1
    assert 1 - purchase.p_alive(MBG, 0, 0, T + later) > risk
    # BG/NBD cannot say this: a one-time buyer is always "alive" there.
    assert float(purchase.p_alive(BG, 0, 0, T + later)) == 1.0


def models() -> FittedModels:
    return FittedModels(
        frequency=PurchaseParams("bgnbd", 0.243, 4.414 * 7, 0.793, 2.426),  # weeks -> days
        churn=PurchaseParams("mbgnbd", 0.525, 6.183 * 7, 0.891, 1.614),
        spend=GG,
        cuts=Cuts((10, 30, 90, 200), (1, 1, 1, 2), (20, 40, 80, 150)),
    )


def customers(orders: float, first: int, last: int, value: float) -> Customers:
    return Customers(
        np.array([orders]),
        np.array([float(first)]),
        np.array([float(last)]),
        np.array([value]),
        np.array([value / orders]),
    )


AS_OF = date(2026, 11, 24)
TODAY = (AS_OF - date(1970, 1, 1)).days


@settings(max_examples=150, deadline=None)
@given(
    orders=st.integers(min_value=1, max_value=40),
    age=st.integers(min_value=0, max_value=700),
    since_last=st.integers(min_value=0, max_value=700),
    average=st.floats(min_value=0.01, max_value=5000),
    more=st.floats(min_value=0.01, max_value=5000),
)
def test_predicted_ltv_is_non_negative_and_increasing_in_monetary_value(
    orders: int, age: int, since_last: int, average: float, more: float
) -> None:
    first = TODAY - age
    last = TODAY - min(since_last, age) if orders > 1 else first
    low = score_arrays(models(), customers(orders, first, last, average * orders), AS_OF)
    high = score_arrays(models(), customers(orders, first, last, (average + more) * orders), AS_OF)
    assert low["predicted_ltv"][0] >= 0
    assert high["predicted_ltv"][0] > low["predicted_ltv"][0]
    # Spend is shrunk toward the population mean, less so the more orders back it up.
    assert low["expected_order_value"][0] > 0


def test_expected_orders_grow_with_the_horizon_and_ltv_is_discounted() -> None:
    m = models()
    c = customers(5, TODAY - 200, TODAY - 10, 400.0)
    out = score_arrays(m, c, AS_OF)
    assert 0 < out["expected_orders_30"][0] < out["expected_orders_90"][0]
    undiscounted = FittedModels(
        m.frequency, m.churn, m.spend, m.cuts, horizon_months=12, annual_discount_rate=0.0
    )
    assert score_arrays(undiscounted, c, AS_OF)["predicted_ltv"][0] > out["predicted_ltv"][0]
    # A frequent recent buyer is expected back soon; a long-lapsed one-time buyer never
    # passes even odds.
    assert 0 < out["next_order_in_days"][0] < 90
    lapsed = score_arrays(m, customers(1, TODAY - 600, TODAY - 600, 50.0), AS_OF)
    assert math.isnan(lapsed["next_order_in_days"][0])


def test_quintile_cuts_share_scores_between_ties() -> None:
    orders = np.array([1.0] * 60 + [2.0] * 25 + [5.0] * 15)
    cuts = quintile_cuts(np.arange(100.0), orders, np.arange(100.0))
    assert cuts.frequency == (1.0, 1.0, 1.0, 2.0)
    assert cuts.recency == (19.0, 39.0, 59.0, 79.0)


def test_holdout_check_on_the_cdnow_transactions() -> None:
    rows = np.loadtxt(DATA / "CDNOW_sample.txt")
    start = date(1997, 1, 1)
    days = np.array(
        [
            (date(int(v) // 10000, int(v) // 100 % 100, int(v) % 100) - start).days
            for v in rows[:, 2]
        ],
        dtype=float,
    )
    # One purchase per customer and day, as the published summary counts them.
    pairs = np.unique(np.stack([rows[:, 0], days], axis=1), axis=0)
    cal_end = (date(1997, 9, 30) - start).days / 7
    end = (date(1998, 6, 30) - start).days / 7
    check = holdout_check(pairs[:, 0], pairs[:, 1] / 7, calibration_end=cal_end, end=end)
    assert check.customers == 2357
    # The calibration summary rebuilt from the transactions gives the published fit.
    assert [sig3(v) for v in (check.frequency.r, check.frequency.a)] == ["0.243", "0.793"]
    assert [b.customers for b in check.buckets] == [1411, 439, 214, 100, 62, 38, 29, 64]
    assert check.actual_total == 1882
    # Predicted holdout purchases rise with past frequency, like the actual ones.
    predicted = [b.bgnbd for b in check.buckets]
    assert predicted == sorted(predicted)
    assert check.bgnbd_total == pytest.approx(check.actual_total, rel=0.15)


def test_holdout_check_refuses_a_calibration_period_too_short_to_fit() -> None:
    customer = np.array([1.0, 1.0, 2.0, 3.0])
    day = np.array([0.0, 5.0, 8.0, 9.0])
    with pytest.raises(ValueError, match="use a shorter holdout"):
        holdout_check(customer, day, calibration_end=6.0, end=10.0)
