"""The dashboard in a real headless Chromium (Debian's ``chromium``, driven by Playwright's
Python API): log in, find a customer by a differently formatted phone, open their page and
see the right lifetime value, approve a merge from the review queue and see the merged
profile, export a CSV; every page is checked with axe-core (no serious or critical
violations) and at phone width (no horizontal scrolling). Screenshots of each page go to
``test-artifacts/screenshots/``.

Without Chromium these tests skip with the reason (``apt-get install chromium``); under
``CI=true`` a missing browser is a failure.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.live import EVERYONE, Tenant

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"
AXE = ROOT / "tests" / "data" / "axe" / "axe-4.14.1.min.js"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def check_page(page: Any, name: str) -> None:
    """Screenshot at desktop and phone width; axe-core finds nothing serious; no sideways
    scrolling on a phone."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document)")
    serious = [
        (v["id"], v["help"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], f"{name}: {serious}"
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SHOTS / f"{name}-phone.png"), full_page=True)
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name}: {overflow}px wider than a phone screen"
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_marketer_logs_in_finds_a_customer_approves_a_merge_and_exports(
    tenant: Tenant, chromium: Any, tmp_path: Path
) -> None:
    tenant.four_people()
    assert tenant.api("POST", "/events", json=EVERYONE).json()["reviews"] == 1

    page = chromium.new_page(base_url=tenant.live.url)
    page.goto("/dashboard/")
    assert page.url.endswith("/dashboard/login")
    check_page(page, "login")
    page.get_by_label("Your brand's API key").fill(tenant.key)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard/")
    assert page.locator("#kpi-orders").inner_text() == "0"  # the default range: the last 30 days
    check_page(page, "overview")

    page.get_by_role("link", name="Customers").click()
    page.get_by_label("Email, phone, loyalty id or name").fill("(202) 555-0143")
    page.get_by_role("button", name="Search").click()
    check_page(page, "customers")
    page.locator("#customers a").first.click()
    assert page.locator("#ltv").inner_text() == "20.00 USD"
    check_page(page, "customer")

    for link in ("Cohorts", "Automations", "Stores", "Unattached", "Review queue"):
        page.get_by_role("link", name=link).click()
        check_page(page, link.split()[0].lower())
    page.get_by_role("button", name="Approve merge").click()
    page.wait_for_url("**/dashboard/customers/*")
    assert page.locator("#ltv").inner_text() == "100.00 USD"
    assert page.locator("#orders").inner_text() == "4"
    check_page(page, "merged-customer")

    page.get_by_role("link", name="Customers").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    saved = tmp_path / "customers.csv"
    download.value.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text())))
    assert [(r["lifetime_value"], r["total_orders"]) for r in rows] == [("100.00", "4")]
    page.close()
