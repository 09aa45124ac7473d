"""Predictions benchmark: fit + score of N customers by ConstIntel and by `lifetimes`, beside the
raw limit.

    python bench/predict.py [--customers 1000000] [--seed 1] [--skip-lifetimes]
                            [--lifetimes-customers N] [--blas-threads K]

1. Generates ``--customers`` customers (seeded, vectorized) by simulating the BG/NBD process in
   whole days: lambda ~ Gamma(r=0.25, rate alpha=30 days), dropout p ~ Beta(a=0.8, b=2.5),
   observation length T uniform on 0..729 days after the first order (day 0). Purchases are a
   Poisson process of rate lambda and the customer drops out after each repeat purchase with
   probability p, so x = min(N(T), K) with N(T) ~ Poisson(lambda T) and K ~ Geometric(p), and
   the x-th arrival, given N(T) = n, is T times a Beta(x, n - x + 1) order statistic; t_x is it
   floored to a whole day. Spend follows the Gamma-Gamma model: nu ~ Gamma(q=3.7, rate
   gamma=15) per customer, each order value ~ Gamma(p=6, rate nu), and m is the average of all
   x + 1 orders (what a profile keeps, and what ConstIntel's Gamma-Gamma reads with n = x + 1).
2. ConstIntel, in a fresh (spawned) process: ``Customers`` (orders = x + 1, first/last order
   day, value = m (x + 1), average = m) at an ``as_of`` that gives back T, then ``fit_models``
   (BG/NBD, MBG/NBD, Gamma-Gamma, RFM cuts) and ``score_arrays`` (12-month LTV and the rest).
   The annual discount rate is set to 1.01^12 - 1 so its monthly rate is lifetimes' 0.01.
3. lifetimes 0.11.3, in another fresh process, on the same data (pandas Series):
   ``BetaGeoFitter().fit``, ``GammaGammaFitter().fit(x + 1, m)`` (the same Gamma-Gamma
   likelihood over all orders) and the 12-month CLV: ``conditional_expected_average_profit(x + 1,
   m)`` into ``lifetimes.utils._customer_lifetime_value(time=12, freq="D",
   discount_rate=0.01)``, which is what ``customer_lifetime_value`` runs inside; with
   ``--lifetimes-customers n`` on the first n customers only, its times scaled by N / n.
4. The physical limit, in the same run: one pass of four ``np.log`` over N floats (about the
   transcendental work of one likelihood evaluation per customer), and over the distinct
   (x, t_x, T) rows that ``compress`` leaves, which is what ConstIntel's likelihood runs over.

Each contender runs its workload twice in its own process: first plain (the times, and the
process's peak RSS from ``getrusage`` read right after it, with /proc's VmHWM beside it), then
under ``tracemalloc`` (the peak of Python/numpy allocations made by the workload, its inputs
excluded). Both processes are spawned before the data are generated, because Linux carries a
parent's RSS at fork into the child's ru_maxrss. Both fits' parameters are printed beside the
generating ones, with the log-likelihood (ConstIntel's function) at each, and the two 12-month
LTVs are compared customer by customer.

numpy and scipy each load their own OpenBLAS, whose idle threads spin for a while after every
BLAS call (``np.dot``, L-BFGS-B's updates); with few CPUs they slow the element-wise work in
between. ``--blas-threads 1`` sets OPENBLAS_NUM_THREADS (and OMP_/MKL_) in both contenders'
processes to show how much.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing as mp
import os
import resource
import tempfile
import time
import traceback
import tracemalloc
import warnings
from collections.abc import Callable
from datetime import UTC, date, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from constintel.predictions import purchase, spend
from constintel.predictions.purchase import PurchaseParams
from constintel.predictions.scoring import Customers, fit_models, score_arrays
from constintel.predictions.spend import SpendParams
from constintel.predictions.summary import Floats, compress

TRUTH = {"r": 0.25, "alpha": 30.0, "a": 0.8, "b": 2.5, "p": 6.0, "q": 3.7, "gamma": 15.0}
MAX_T_DAYS = 730
AS_OF = date(2026, 1, 1)
EPOCH = date(1970, 1, 1)
MONTHLY_DISCOUNT = 0.01  # lifetimes' discount_rate is per month
HORIZON_MONTHS = 12
MIB = 2**20
BLAS_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def simulate(n: int, seed: int) -> tuple[Floats, Floats, Floats, Floats]:
    """(x, t_x, T, m) of n customers, in whole days; see the module docstring."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(TRUTH["r"], 1.0 / TRUTH["alpha"], n)  # purchases per day while active
    p = np.clip(rng.beta(TRUTH["a"], TRUTH["b"], n), 1e-12, 1.0)
    T = rng.integers(0, MAX_T_DAYS, n).astype(np.float64)
    arrivals = rng.poisson(lam * T)  # purchases in (0, T] had nobody dropped out
    lifetime = rng.geometric(p)  # drops out right after this many repeat purchases
    x = np.minimum(arrivals, lifetime)
    has = x > 0
    # Given n arrivals in (0, T], the k-th is T times the k-th of n uniform order statistics.
    share = rng.beta(np.where(has, x, 1), np.where(has, arrivals - x + 1, 1))
    t_x = np.where(has, np.floor(share * T), 0.0)
    nu = rng.gamma(TRUTH["q"], 1.0 / TRUTH["gamma"], n)
    orders = x + 1  # every order, the first included
    m = rng.gamma(TRUTH["p"] * orders, 1.0 / nu) / orders  # mean of `orders` Gamma(p, nu)
    return x.astype(np.float64), t_x, T, m


def load(path: Path, n: int | None = None) -> tuple[Floats, Floats, Floats, Floats]:
    with np.load(path) as data:
        return tuple(  # type: ignore[return-value]
            np.ascontiguousarray(data[k][:n]) for k in ("x", "t_x", "T", "m")
        )


def max_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def hwm_kib() -> float:
    """VmHWM, the peak RSS of this process's own address space (Linux; NaN elsewhere)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1])
    except OSError:
        pass
    return float("nan")


def caught_summary(caught: list[warnings.WarningMessage]) -> list[str]:
    counts: dict[str, int] = {}
    for w in caught:
        key = f"{w.category.__name__}: {str(w.message)[:160]} ({Path(w.filename).name}:{w.lineno})"
        counts[key] = counts.get(key, 0) + 1
    return [f"{n}x {key}" for key, n in counts.items()]


class Counted:
    """Wraps a likelihood function to count its evaluations (one call = value + gradient)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.fn(*args, **kwargs)


def _constintel(path: Path, ltv_path: Path) -> dict[str, Any]:
    x, t_x, T, m = load(path)
    today = float((AS_OF - EPOCH).days)
    first = today - T
    customers = Customers(
        orders=x + 1, first_day=first, last_day=first + t_x, value=m * (x + 1), average=m
    )
    annual = (1.0 + MONTHLY_DISCOUNT) ** 12 - 1.0
    # Count likelihood evaluations (a call-counting wrapper; costs nanoseconds a call).
    counters = {
        mod: Counted(mod._loglik_and_grad)
        for mod in (purchase, spend)
        if hasattr(mod, "_loglik_and_grad")
    }
    for mod, counter in counters.items():
        setattr(mod, "_loglik_and_grad", counter)  # noqa: B010

    def evals() -> int:
        return sum(c.calls for c in counters.values())

    marks: list[tuple[str, float, int]] = []

    def progress(msg: str) -> None:
        marks.append((msg, time.perf_counter(), evals()))

    def workload() -> tuple[float, float, Any, dict[str, Floats]]:
        marks.clear()
        started = time.perf_counter()
        marks.append(("summary, checks, compress", started, evals()))
        models = fit_models(
            customers,
            AS_OF,
            horizon_months=HORIZON_MONTHS,
            annual_discount_rate=annual,
            progress=progress,
        )
        fitted = time.perf_counter()
        marks.append(("end", fitted, evals()))
        scores = score_arrays(models, customers, AS_OF)
        return fitted - started, time.perf_counter() - fitted, models, scores

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rss_before = max_rss_kib()
        fit_s, score_s, models, scores = workload()
        rss_peak, hwm = max_rss_kib(), hwm_kib()
        stages = [
            (label, end - start, calls_end - calls)
            for (label, start, calls), (_, end, calls_end) in itertools.pairwise(marks)
        ]
        ltv = scores["predicted_ltv"]
        np.save(ltv_path, ltv)
        del scores
        tracemalloc.start()
        tracemalloc.reset_peak()
        traced_fit, traced_score, *_ = workload()
        traced_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    for mod, counter in counters.items():
        setattr(mod, "_loglik_and_grad", counter.fn)  # noqa: B010
    f, c, s = models.frequency, models.churn, models.spend
    return {
        "fit": fit_s,
        "score": score_s,
        "stages": stages,
        "rss_before": rss_before,
        "rss_peak": rss_peak,
        "hwm": hwm,
        "traced_peak": traced_peak,
        "traced_seconds": traced_fit + traced_score,
        "bgnbd": {"r": f.r, "alpha": f.alpha, "a": f.a, "b": f.b},
        "mbgnbd": {"r": c.r, "alpha": c.alpha, "a": c.a, "b": c.b},
        "gamma_gamma": {"p": s.p, "q": s.q, "gamma": s.gamma},
        "ltv_nan": int(np.count_nonzero(~np.isfinite(ltv))),
        "warnings": caught_summary(caught),
    }


def _lifetimes(path: Path, n: int, ltv_path: Path) -> dict[str, Any]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import lifetimes
        import pandas as pd  # type: ignore[import-untyped]  # no pandas-stubs here
        from lifetimes import BetaGeoFitter, GammaGammaFitter
        from lifetimes.utils import _customer_lifetime_value

        x, t_x, T, m = (pd.Series(a) for a in load(path, n))

        def workload() -> tuple[list[tuple[str, float]], Any, Any, Any]:
            t0 = time.perf_counter()
            bgf = BetaGeoFitter().fit(x, t_x, T)
            t1 = time.perf_counter()
            ggf = GammaGammaFitter().fit(x + 1, m)
            t2 = time.perf_counter()
            spend = ggf.conditional_expected_average_profit(x + 1, m)
            clv = _customer_lifetime_value(
                bgf,
                x,
                t_x,
                T,
                spend,
                time=HORIZON_MONTHS,
                freq="D",
                discount_rate=MONTHLY_DISCOUNT,
            )
            t3 = time.perf_counter()
            stages = [
                ("BetaGeoFitter.fit (BFGS + autograd Hessian)", t1 - t0),
                ("GammaGammaFitter.fit (n = x + 1)", t2 - t1),
                ("customer_lifetime_value (12 months)", t3 - t2),
            ]
            return stages, bgf, ggf, clv

        rss_before = max_rss_kib()
        stages, bgf, ggf, clv = workload()
        rss_peak, hwm = max_rss_kib(), hwm_kib()
        ltv = np.asarray(clv, dtype=np.float64)
        np.save(ltv_path, ltv)
        del clv
        tracemalloc.start()
        tracemalloc.reset_peak()
        traced_stages, *_ = workload()
        traced_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    bp, gp = bgf.params_, ggf.params_
    return {
        "version": lifetimes.__version__,
        "pandas": pd.__version__,
        "fit": stages[0][1] + stages[1][1],
        "score": stages[2][1],
        "stages": [(label, s, None) for label, s in stages],
        "rss_before": rss_before,
        "rss_peak": rss_peak,
        "hwm": hwm,
        "traced_peak": traced_peak,
        "traced_seconds": sum(s for _, s in traced_stages),
        "bgnbd": {k: float(bp[k]) for k in ("r", "alpha", "a", "b")},
        "gamma_gamma": {"p": float(gp["p"]), "q": float(gp["q"]), "gamma": float(gp["v"])},
        "ltv_nan": int(np.count_nonzero(~np.isfinite(ltv))),
        "warnings": caught_summary(caught),
    }


def child_main(conn: Connection) -> None:
    """A contender's process: wait for its job, run it, send back the result."""
    try:
        job, args = conn.recv()
        run: Callable[..., dict[str, Any]] = _constintel if job == "constintel" else _lifetimes
        conn.send(run(*args))
    except BaseException:
        conn.send({"error": traceback.format_exc()})
    finally:
        conn.close()


class Child:
    """A fresh spawned interpreter for one contender. Start it before the parent allocates the
    data: on Linux a child's ru_maxrss starts at its parent's RSS when it was forked (it is
    carried across exec), so a child spawned from a big parent reports the parent's size."""

    def __init__(self) -> None:
        ctx = mp.get_context("spawn")
        self.conn, theirs = ctx.Pipe()
        self.proc = ctx.Process(target=child_main, args=(theirs,), daemon=True)
        self.proc.start()
        theirs.close()

    def run(self, job: str, *args: object) -> dict[str, Any]:
        self.conn.send((job, args))
        try:
            result: dict[str, Any] = self.conn.recv()
        except EOFError:
            result = {"error": "the process died without a result"}
        self.proc.join()
        if "error" in result:
            raise SystemExit(f"{job} failed (exit {self.proc.exitcode}):\n{result['error']}")
        return result


def log_pass_seconds(n: int, repeats: int = 5) -> float:
    """Best time of four np.log over n float64 (the likelihood's transcendental floor)."""
    values = np.random.default_rng(0).random(n) + 1.0
    out = np.empty_like(values)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(4):
            np.log(values, out=out)
        best = min(best, time.perf_counter() - started)
    return best


def rel(a: float, b: float) -> str:
    return f"{abs(a - b) / max(abs(a), abs(b), 1e-300):.1e}"


def print_params(
    ours: dict[str, Any], theirs: dict[str, Any] | None, s_rows: Any, x: Floats, m: Floats
) -> None:
    head = f"{'generating':>12}{'ConstIntel':>14}{'lifetimes':>14}{'rel. diff':>11}"
    print(f"\n{'parameter':<22}{head}")
    groups = [
        ("BG/NBD", "bgnbd", ("r", "alpha", "a", "b")),
        ("Gamma-Gamma", "gamma_gamma", ("p", "q", "gamma")),
    ]
    for title, key, names in groups:
        print(title)
        for name in names:
            label = {"alpha": "alpha (days)", "gamma": "gamma (lifetimes: v)"}.get(name, name)
            mine = ours[key][name]
            other = theirs[key][name] if theirs else float("nan")
            diff = rel(mine, other) if theirs else "-"
            print(f"  {label:<20}{TRUTH[name]:>12g}{mine:>14.6f}{other:>14.6f}{diff:>11}")
    # Both optima judged by one likelihood (ConstIntel's, in days, over every customer).
    ll_ours = purchase.log_likelihood(PurchaseParams("bgnbd", **ours["bgnbd"]), s_rows)
    gg_ours = spend.log_likelihood(SpendParams(**ours["gamma_gamma"]), x, m)
    if theirs:
        ll_theirs = purchase.log_likelihood(PurchaseParams("bgnbd", **theirs["bgnbd"]), s_rows)
        gg_theirs = spend.log_likelihood(SpendParams(**theirs["gamma_gamma"]), x, m)
        print(
            f"  log-likelihood at each fit (ConstIntel's function, all customers):\n"
            f"    BG/NBD       ConstIntel {ll_ours:,.4f}  lifetimes {ll_theirs:,.4f}"
            f"  (ConstIntel - lifetimes = {ll_ours - ll_theirs:+.2e})\n"
            f"    Gamma-Gamma  ConstIntel {gg_ours:,.4f}  lifetimes {gg_theirs:,.4f}"
            f"  (ConstIntel - lifetimes = {gg_ours - gg_theirs:+.2e})"
        )
    c = ours["mbgnbd"]
    print(
        f"MBG/NBD (ConstIntel only; churn risk; the data are BG/NBD so no generating values): "
        f"r {c['r']:.6f}, alpha {c['alpha']:.6f}, a {c['a']:.6f}, b {c['b']:.6f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-lifetimes", action="store_true")
    parser.add_argument(
        "--lifetimes-customers",
        type=int,
        default=None,
        help="time lifetimes on the first n customers only and scale its times by N / n",
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=None,
        help="set OPENBLAS_NUM_THREADS (and OMP_/MKL_) in both contenders' processes; by "
        "default they inherit this environment",
    )
    args = parser.parse_args()
    n = args.customers
    n_lt = min(args.lifetimes_customers or n, n)
    if args.blas_threads is not None:
        # Read by numpy's and scipy's OpenBLAS when the spawned children import them.
        for var in BLAS_VARS:
            os.environ[var] = str(args.blas_threads)
    # Both contenders' processes start now, while this one is small (see Child).
    ours_child = Child()
    theirs_child = None if args.skip_lifetimes else Child()

    with tempfile.TemporaryDirectory(prefix="constintel-bench-") as tmp:
        work = Path(tmp)
        data = work / "customers.npz"
        started = time.perf_counter()
        x, t_x, T, m = simulate(n, args.seed)
        np.savez(data, x=x, t_x=t_x, T=T, m=m)
        elapsed = time.perf_counter() - started
        print(
            f"generated {n:,} customers (seed {args.seed}) in {elapsed:.1f} s:"
            f" {np.mean(x > 0):.1%} with a repeat order, mean x {x.mean():.3f}, max x "
            f"{x.max():.0f}, mean T {T.mean():.0f} days, mean m {m.mean():.2f}",
            flush=True,
        )

        started = time.perf_counter()
        rows = compress(x, t_x, T)
        compress_s = time.perf_counter() - started
        distinct = int(rows.x.size)
        pass_n = log_pass_seconds(n)
        pass_k = log_pass_seconds(distinct)

        print("ConstIntel (fresh process) ...", flush=True)
        ours = ours_child.run("constintel", data, work / "ltv_ours.npy")
        theirs: dict[str, Any] | None = None
        if theirs_child:
            print(f"lifetimes on {n_lt:,} customers (fresh process) ...", flush=True)
            theirs = theirs_child.run("lifetimes", data, n_lt, work / "ltv_lifetimes.npy")
        ltv_ours = np.load(work / "ltv_ours.npy")
        ltv_theirs = np.load(work / "ltv_lifetimes.npy") if theirs else None

    scale = n / n_lt
    scaled = theirs is not None and n_lt < n
    lt_head = f"lifetimes {theirs['version']}" if theirs else "lifetimes"
    if scaled:
        lt_head += f" (x{scale:.1f})"
    print(f"\n{n:,} customers; {os.cpu_count()} CPUs; numpy {np.__version__}")
    blas = os.environ.get("OPENBLAS_NUM_THREADS")
    print(
        f"OPENBLAS_NUM_THREADS={blas}"
        if blas
        else "OPENBLAS_NUM_THREADS unset: numpy's and scipy's OpenBLAS each use one thread per CPU"
    )
    if theirs:
        print(f"lifetimes {theirs['version']} with pandas {theirs['pandas']}")
    if scaled:
        print(
            f"NOTE: lifetimes ran on the first {n_lt:,} customers only; its times below are "
            f"SCALED by {scale:.2f} (linear in N); its memory is as measured on {n_lt:,}."
        )

    lt = scale if scaled else 1.0
    total_ours = ours["fit"] + ours["score"]
    total_theirs = (theirs["fit"] + theirs["score"]) * lt if theirs else float("nan")
    ours["total"] = total_ours
    if theirs:
        theirs["total"] = theirs["fit"] + theirs["score"]
    # (label, key, unit factor, whether lifetimes' value is a time to scale by N / n)
    table: list[tuple[str, str, float, bool]] = [
        ("fit (s)", "fit", 1.0, True),
        ("score: 12-month LTV (s)", "score", 1.0, True),
        ("total (s)", "total", 1.0, True),
        ("peak RSS, getrusage ru_maxrss (MiB)", "rss_peak", 1 / 1024, False),
        ("  the same from /proc VmHWM (MiB)", "hwm", 1 / 1024, False),
        ("  ru_maxrss before the clock (MiB)", "rss_before", 1 / 1024, False),
        ("tracemalloc peak, workload only (MiB)", "traced_peak", 1 / MIB, False),
        ("  (time of that traced rerun, s)", "traced_seconds", 1.0, True),
    ]
    print(f"\n{'':<40}{'ConstIntel':>14}{lt_head:>28}")
    for label, key, unit, is_time in table:
        other = (
            f"{theirs[key] * unit * (lt if is_time else 1.0):>28.2f}"
            if theirs
            else f"{'skipped':>28}"
        )
        print(f"{label:<40}{ours[key] * unit:>14.2f}{other}")
    print(
        "ru_maxrss: the contender's own process (interpreter, imports and the input arrays "
        "included);\ntracemalloc: Python/numpy allocations of fit + score alone, in a second run."
    )
    print(
        "ConstIntel's fit also fits MBG/NBD and cuts RFM quintiles, and its score also gives "
        "P(alive),\n30/90-day orders and the next-order day; lifetimes does BG/NBD + "
        "Gamma-Gamma + CLV only."
    )

    print("\nwhere the time goes")
    for name, result, factor in (("ConstIntel", ours, 1.0), ("lifetimes", theirs, lt)):
        if not result:
            continue
        for label, seconds, calls in result["stages"]:
            evals = f"  {calls} likelihood+gradient evaluations" if calls else ""
            each = f" ({seconds / calls * 1000:.1f} ms each)" if calls else ""
            print(f"  {name:<11}{label:<46}{seconds * factor:7.2f} s{evals}{each}")
    print(
        "  (ConstIntel's last stage also holds the RFM quintile cuts; lifetimes' Hessian is "
        "part of its fit)"
    )

    print("\nphysical limit (same run, this process)")
    print(f"  compress: {distinct:,} distinct (x, t_x, T) rows of {n:,} ({compress_s:.3f} s)")
    print(
        f"  one pass of 4 x np.log over {n:,} floats: {pass_n * 1000:.1f} ms; "
        f"over the {distinct:,} distinct rows: {pass_k * 1000:.1f} ms"
    )
    print(
        f"  ConstIntel fit = {ours['fit'] / pass_n:,.0f} passes over N "
        f"({ours['fit'] / pass_k:,.0f} over the distinct rows)"
    )
    if theirs:
        print(f"  lifetimes fit  = {theirs['fit'] * lt / pass_n:,.0f} passes over N")

    if scaled:
        print(
            f"\n(lifetimes fitted the first {n_lt:,} customers only: its parameters, and the LTVs "
            "compared below, rest on less data than ConstIntel's)"
        )
    print_params(ours, theirs, rows, x, m)

    if ltv_theirs is not None:
        mine = ltv_ours[:n_lt]
        diff = np.abs(mine - ltv_theirs)
        ok = np.isfinite(diff)
        relative = diff[ok] / np.maximum(np.abs(ltv_theirs[ok]), 1e-9)
        print(
            f"\n12-month LTV per customer ({n_lt:,} compared): mean ConstIntel "
            f"{np.nanmean(mine):.4f}, lifetimes {np.nanmean(ltv_theirs):.4f}; max |diff| "
            f"{diff[ok].max():.2e}, max relative diff {relative.max():.2e}, median "
            f"{np.median(relative):.2e}; non-finite: ConstIntel {ours['ltv_nan']}, "
            f"lifetimes {theirs['ltv_nan'] if theirs else 0}"
        )
    for name, result in (("ConstIntel", ours), ("lifetimes", theirs)):
        if result is None:
            continue
        lines = result["warnings"]
        print(f"\nwarnings raised in the {name} process: {len(lines) or 'none'}")
        for line in lines:
            print(f"  {line}")

    when = datetime.now(UTC)
    print(f"\n(measured {when:%Y-%m-%d %H:%M} UTC)")
    if theirs:
        tail = (
            f"lifetimes: {total_theirs:.2f} s{' (scaled)' if scaled else ''}; "
            f"speed-up {total_theirs / total_ours:.1f}\N{MULTIPLICATION SIGN}"
        )
    else:
        tail = "lifetimes: skipped"
    print(f"fit+score {n:,} customers: {total_ours:.2f} s (target < 5 s); {tail}")


if __name__ == "__main__":
    main()
