"""Browser tests: Debian's chromium, headless, driven by Playwright against a live server.

Log in, walk from the mice to a mouse and a session and see plotly draw, filter and page a table,
and check that the public mode hides member pages. Screenshots go to test-artifacts/. Without
chromium (apt-get install chromium) these tests skip, except under LABJOIN_REQUIRE_SERVERS=1.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nav_fake_lab as fake_lab
import pytest
from nav_helpers import PASSWORDS, lab_registry, make_config, schema_names

from labjoin.navigator import create_app

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
REQUIRE = os.environ.get("LABJOIN_REQUIRE_SERVERS", "") not in ("", "0", "false")
S = schema_names()
PLOT_DRAWN = ".plotly .main-svg"


def _unavailable() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (it is in the test extra: pip install -e '.[test]')"
    if not os.path.exists(CHROMIUM):
        return f"chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = _unavailable()
    if reason:
        if REQUIRE:
            pytest.fail(reason + " -- LABJOIN_REQUIRE_SERVERS=1 makes this a failure")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


class LiveServer:
    """uvicorn serving an app in a thread, on a free local port."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def servers(browser, shared_url: str) -> Iterator[dict[str, LiveServer]]:
    apps = {"private": create_app(make_config(shared_url), registry=lab_registry()),
            "public": create_app(make_config(shared_url, public=True), registry=lab_registry())}
    live = {name: LiveServer(app) for name, app in apps.items()}
    yield live
    for server in live.values():
        server.stop()
    for app in apps.values():
        app.state.navigator.database.close()


@pytest.fixture
def page(browser) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"navigator-{name}.png"), full_page=True)


def login(page: Any, user: str) -> None:
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORDS[user])
    page.click("button[type=submit]")


def drawn_traces(page: Any, scope: str) -> int:
    """How many plotly traces (scatter, bar, heatmap) were drawn inside ``scope``."""
    return page.locator(f"{scope} .plotly .main-svg .trace, {scope} .plotly .main-svg .hm").count()


def test_member_goes_from_mice_to_a_mouse_to_a_session(page, servers) -> None:
    base = servers["private"].url
    page.goto(base + "/lab/mice")
    assert "/login" in page.url
    shot(page, "login")
    login(page, "max")
    page.wait_for_url(base + "/lab/mice")
    page.wait_for_selector(f"#rows {PLOT_DRAWN}")
    assert page.locator("#rows .row-card").count() == 4
    assert drawn_traces(page, "#rows") > 0
    shot(page, "mice")

    page.click("#rows .row-card:first-child a.row-link")
    page.wait_for_url("**/lab/mouse?**")
    assert page.locator("h1").inner_text() == "Mouse mA1"
    page.wait_for_selector(f"#panel-water {PLOT_DRAWN}")
    page.wait_for_selector(f"#panel-dates {PLOT_DRAWN}")
    assert drawn_traces(page, "#panel-water") > 0 and drawn_traces(page, "#panel-dates") > 0
    assert page.locator("#panel-dates .figure-label").inner_text() == "2024-03-08"  # the newest first
    page.locator("#panel-dates input[type=range]").fill("2")  # the slider shows another date
    page.wait_for_function("document.querySelector('#panel-dates .figure-label').textContent === '2024-03-06'")
    shot(page, "mouse")

    page.click("#panel-sessions tbody tr:first-child a")
    page.wait_for_url("**/lab/session?**")
    page.wait_for_selector(f"#panel-psych {PLOT_DRAWN}")
    page.wait_for_selector(f"#panel-clusters .select-figures {PLOT_DRAWN}")  # the first cluster, picked on load
    assert drawn_traces(page, "#panel-psych") > 0
    page.click("#panel-clusters tbody tr:nth-child(4)")
    page.wait_for_function(
        "document.querySelector('#panel-clusters .select-figures .gtitle')?.textContent === 'raster 3'")
    assert page.locator("#panel-clusters tr.selected").count() == 1
    shot(page, "session")


def test_filter_and_page_a_table(page, servers) -> None:
    base = servers["private"].url
    page.goto(base + f"/schemas/{S['behavior']}/TrialSet.Trial")
    login(page, "max")
    page.wait_for_selector("#filter-form")
    page.click(".filter-add")
    row = page.locator(".filter-row").nth(0)
    row.locator(".filter-attr").select_option("trial_id")
    row.locator(".filter-op").select_option("lte")
    row.locator("input.filter-value").fill("5")
    assert row.locator("input.filter-value").get_attribute("type") == "number"
    page.click(".filter-add")
    row2 = page.locator(".filter-row").nth(1)
    row2.locator(".filter-attr").select_option("trial_response_choice")
    row2.locator("select.filter-value").select_option("CW")  # an enum gets a drop-down of its values
    page.click("#filter-form button[type=submit]")
    page.wait_for_url("**trial_id__lte=5**")
    pager = page.locator(".pager").first
    assert "60 rows" in pager.inner_text() and "page 1 of 3" in pager.inner_text()
    assert {c.inner_text() for c in page.locator("#rows tbody td:nth-child(6)").all()} == {"CW"}
    shot(page, "table-filtered")
    page.click("a[rel=next]")
    page.wait_for_url("**_page=2**")
    assert "page 2 of 3" in page.locator(".pager").first.inner_text()
    assert page.locator(".filter-row").count() == 2  # the filters survive paging
    page.click("#rows thead th:nth-child(4) a")  # sort by trial_id
    page.wait_for_url("**_sort=trial_id**")
    first_ids = [int(c.inner_text()) for c in page.locator("#rows tbody td:nth-child(4)").all()]
    assert first_ids == sorted(first_ids)
    page.click("#rows tbody tr:first-child a")
    page.wait_for_url("**/TrialSet.Trial/row?**")
    shot(page, "row")
    page.goto(base + f"/schemas/{S['behavior']}")
    page.wait_for_selector(".diagram svg a.node")
    shot(page, "schema")
    page.click(".diagram svg a.node[data-class='TrialSet']")
    page.wait_for_url(f"**/schemas/{S['behavior']}/TrialSet")
    shot(page, "table")
    page.goto(base + f"/schemas/{S['ephys']}/Cluster/row?subject_uuid={fake_lab.subject_uuid(0)}"
              "&session_start_time=2024-03-08 09:30:00&probe_idx=0&cluster_id=2")
    page.wait_for_selector(PLOT_DRAWN)  # the waveform blob, previewed as a plot
    shot(page, "row-blob")


def test_public_mode_hides_member_pages(page, servers) -> None:
    base = servers["public"].url
    page.goto(base + "/lab/mice")
    assert "/login" not in page.url
    names = [c.inner_text() for c in page.locator("#rows .row-card a.row-link").all()]
    assert sorted(names) == sorted(fake_lab.PUBLIC_NICKNAMES)
    nav = page.locator("header nav").inner_text()
    assert "Mice" in nav and "Sessions" in nav and "Daily summary" not in nav and "Schemas" not in nav
    page.wait_for_selector(f"#rows {PLOT_DRAWN}")
    shot(page, "public-mice")
    page.click("#rows .row-card:first-child a.row-link")
    page.wait_for_url("**/lab/mouse?**")
    page.wait_for_selector(f"#panel-counts {PLOT_DRAWN}")
    assert page.locator("#panel-water").count() == 0
    shot(page, "public-mouse")
    for member_page in ("/lab/summary", "/schemas", f"/schemas/{S['subject']}/Subject"):
        page.goto(base + member_page)
        assert "/login?next=" in page.url, member_page
    login(page, "max")
    page.wait_for_url(f"**/schemas/{S['subject']}/Subject")
    page.goto(base + "/lab/summary")
    assert page.locator("h1").inner_text() == "Daily summary"
    shot(page, "public-member-summary")
