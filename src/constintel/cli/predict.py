"""``constintel predict``: fit the brand's prediction models and report on them."""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from constintel.brands.models import Brand
from constintel.core.clock import utcnow
from constintel.core.errors import ConstIntelError
from constintel.db.session import transaction
from constintel.predictions import report as reports
from constintel.predictions import service as predictions

from .common import BrandOpt, command_group, console, err, fail, print_json, session_for, state

__all__ = ["predict_app"]

predict_app = command_group(
    "Churn risk, predicted lifetime value and segments: fit the models, report on them."
)

AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of", help="Measure history up to this UTC date (YYYY-MM-DD; default today)."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _as_of(value: str | None) -> date:
    if value is None:
        return utcnow().date()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise fail(f"--as-of: not a date (YYYY-MM-DD): {value!r}", 2) from exc


def _brands(brand: str | None, all_brands: bool) -> list[tuple[str, str]]:
    if all_brands:
        with transaction(state.app().engine) as session:
            return [(b.id, b.name) for b in session.query(Brand).order_by(Brand.name)]
    with session_for(brand) as (_session, b):
        return [(b.id, b.name)]


@predict_app.command("fit")
def fit(
    brand: BrandOpt = None,
    all_brands: Annotated[bool, typer.Option("--all-brands", help="Refit every brand.")] = False,
    as_of: AsOf = None,
    horizon_months: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=120,
            help="Predicted LTV horizon (default $CONSTINTEL_PREDICT_HORIZON_MONTHS, 12).",
        ),
    ] = None,
    discount_rate: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="Annual discount rate (default 0.10)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Refit BG/NBD, MBG/NBD and Gamma-Gamma on the brand's whole order history, recut the
    RFM quintiles and rescore every profile (the previous model stays in the history)."""
    settings = state.settings()
    day = _as_of(as_of)
    results: list[dict[str, Any]] = []
    try:
        engine = state.app().engine
        for brand_id, name in _brands(brand, all_brands):
            started = time.perf_counter()
            with Progress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err,
                disable=as_json,
                transient=True,
            ) as progress:
                task = progress.add_task(f"{name}: loading", total=None)

                def step(
                    what: str, done: int, total: int, task: Any = task, name: str = name
                ) -> None:
                    progress.update(
                        task,
                        description=f"{name}: {what}",
                        completed=done,
                        total=total or None,
                    )

                result = predictions.refit(
                    engine,
                    brand_id,
                    as_of=day,
                    horizon_months=horizon_months or settings.predict_horizon_months,
                    annual_discount_rate=(
                        settings.predict_discount_rate if discount_rate is None else discount_rate
                    ),
                    progress=step,
                )
            if result is None:
                err.print(f"{name}: another process is refitting this brand right now; skipped")
                continue
            results.append(
                {
                    "brand": name,
                    "brand_id": brand_id,
                    "version": result.version,
                    "status": result.status,
                    "reason": result.reason,
                    "profiles_scored": result.profiles,
                    "predictions_changed": result.changed,
                    "seconds": round(time.perf_counter() - started, 3),
                    "params": result.models.as_dict() if result.models else None,
                }
            )
    except ConstIntelError as exc:
        raise fail(str(exc)) from exc
    if as_json:
        print_json(results)
        return
    for r in results:
        if r["status"] != "fitted":
            console.print(
                f"[yellow]{r['brand']}[/]: model v{r['version']}: insufficient data: "
                f"{r['reason']}; "
                f"{r['profiles_scored']} profiles labelled by the fallback rules"
            )
            continue
        p = r["params"]
        console.print(
            f"[bold]{r['brand']}[/]: model v{r['version']} fitted on {p['customers']} customers "
            f"({p['repeat_customers']} repeat) in {p['fit_seconds']:.2f} s; "
            f"{r['profiles_scored']} profiles scored, {r['predictions_changed']} changed, "
            f"{r['seconds']:.2f} s in all"
        )
        _params_table(p)


def _params_table(p: dict[str, Any]) -> None:
    table = Table(title="Fitted parameters (time in days)")
    for col in ("model", "parameters", "log-likelihood"):
        table.add_column(col)
    bg, mbg, gg = p["bgnbd"], p["mbgnbd"], p["gamma_gamma"]
    for label, m in (("BG/NBD (frequency)", bg), ("MBG/NBD (churn)", mbg)):
        table.add_row(
            label,
            f"r={m['r']:.4g} alpha={m['alpha']:.4g} a={m['a']:.4g} b={m['b']:.4g}",
            f"{m['log_likelihood']:.1f}",
        )
    table.add_row(
        "Gamma-Gamma (spend)",
        f"p={gg['p']:.4g} q={gg['q']:.4g} gamma={gg['gamma']:.4g}",
        f"{gg['log_likelihood']:.1f}",
    )
    console.print(table)
    cuts = p["rfm_cuts"]
    console.print(
        "RFM quintile cuts: "
        + "; ".join(f"{k} {', '.join(f'{v:g}' for v in cuts[k])}" for k in cuts)
    )


@predict_app.command("report")
def report(
    brand: BrandOpt = None,
    holdout_days: Annotated[
        int, typer.Option(min=7, help="Length of the held-out period at the end of the history.")
    ] = 90,
    as_of: AsOf = None,
    image: Annotated[
        Path | None,
        typer.Option(help="Also write the holdout chart as a PNG here.", dir_okay=False),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The current model's parameters and log-likelihood, and a holdout check: refit on the
    history before the last HOLDOUT_DAYS and compare predicted with actual repeat orders in
    them, by number of repeat orders before."""
    end = _as_of(as_of)
    cutoff = end - timedelta(days=holdout_days)
    epoch = date(1970, 1, 1)
    with session_for(brand) as (session, b):
        model = predictions.current_model(session, b.id)
        ids, days = predictions.order_days(session, b.id)
        name = b.name
    current = None if model.fitted is None else model.fitted.as_dict()
    try:
        check = reports.holdout_check(
            np.asarray(ids, dtype=object),
            np.asarray(days, dtype=np.float64),
            calibration_end=float((cutoff - epoch).days),
            end=float((end - epoch).days),
        )
    except (ValueError, ArithmeticError) as exc:
        check = None
        why = str(exc)
    if as_json:
        print_json(
            {
                "brand": name,
                "model_version": model.version,
                "model_status": model.status,
                "reason": model.reason,
                "params": current,
                "holdout": None
                if check is None
                else {
                    "calibration_end": cutoff.isoformat(),
                    "end": end.isoformat(),
                    "customers": check.customers,
                    "bgnbd": check.frequency.as_dict(),
                    "mbgnbd": check.churn.as_dict(),
                    "actual_total": check.actual_total,
                    "bgnbd_total": check.bgnbd_total,
                    "mbgnbd_total": check.mbgnbd_total,
                    "buckets": [
                        {
                            "repeat_orders": bk.label,
                            "customers": bk.customers,
                            "actual": bk.actual,
                            "bgnbd": bk.bgnbd,
                            "mbgnbd": bk.mbgnbd,
                        }
                        for bk in check.buckets
                    ],
                },
            }
        )
    else:
        if current is None:
            console.print(
                f"[yellow]{name}[/]: model v{model.version}: {model.status}: {model.reason}"
            )
        else:
            console.print(f"[bold]{name}[/]: model v{model.version}")
            _params_table(current)
        if check is None:
            console.print(f"[yellow]holdout check not possible[/]: {why}")
        else:
            table = Table(
                title=f"Holdout: repeat orders {cutoff} .. {end} ({holdout_days} days), "
                f"models fitted on {check.customers} customers before {cutoff}"
            )
            for col in ("repeat orders before", "customers", "actual (mean)", "BG/NBD", "MBG/NBD"):
                table.add_column(col, justify="right")
            for bk in check.buckets:
                table.add_row(
                    bk.label,
                    str(bk.customers),
                    f"{bk.actual:.3f}",
                    f"{bk.bgnbd:.3f}",
                    f"{bk.mbgnbd:.3f}",
                )
            table.add_row(
                "total",
                str(check.customers),
                f"{check.actual_total:.0f}",
                f"{check.bgnbd_total:.0f}",
                f"{check.mbgnbd_total:.0f}",
            )
            console.print(table)
    if image is not None:
        if check is None:
            raise fail("no holdout check to draw")
        try:
            reports.write_image(check, image, title=f"{name}: holdout check")
        except RuntimeError as exc:
            raise fail(str(exc)) from exc
        err.print(f"wrote {image}")
