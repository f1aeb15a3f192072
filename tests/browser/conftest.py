"""Browser tests: Debian's Chromium driven by Playwright against the real app, served on a loopback port by
werkzeug with the runtime's background loops running (catalog refresh, flusher), as under `make run`.

Without /usr/bin/chromium they are skipped, with the reason; under CI or REQUIRE_SERVICES they fail.
Screenshots of each page, at 1280 px and 390 px, go to test-artifacts/browser/ (git-ignored).
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, sync_playwright
from werkzeug.serving import make_server

from app import create_app
from app.settings import PROJECT_ROOT, Settings
from tests import factories
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
# Headless, and quiet: this machine's closed network refuses Chromium's own background connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
VENDORED = ("vast-client.min.js", "chart.umd.min.js")
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "browser"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@dataclass
class LiveServer:
    url: str
    app: Flask

    def create(self, factory, **fields):
        """A row made by a factory and committed, as the admin would have made it; returns its id."""
        with self.app.extensions["database"].sessions() as session:
            factories.bind(session)
            return factory(**fields).id


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        message = f"browser tests need Debian's chromium at {CHROMIUM}: apt-get install chromium"
        if os.environ.get("CI") or os.environ.get("REQUIRE_SERVICES"):
            pytest.fail(message)
        pytest.skip(message)
    missing = [name for name in VENDORED if not (PROJECT_ROOT / "app/static/vendor" / name).exists()]
    if missing:
        pytest.fail(f"app/static/vendor lacks {', '.join(missing)}: run `make assets`")
    return CHROMIUM


def body_read_before_sending(app):
    """werkzeug's dev server skips closing a response (an open static file) when the browser resets the
    connection mid-request, which leaks the file; reading and closing the body first makes that harmless."""

    def wsgi(environ, start_response):
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()

    return wsgi


@pytest.fixture(scope="session")
def live_server(sqlite_template, tmp_path_factory):
    directory = tmp_path_factory.mktemp("live")
    shutil.copy(sqlite_template, directory / "db.sqlite")
    settings = Settings(
        database_url=f"sqlite:///{directory / 'db.sqlite'}",
        storage_dir=str(directory / "creatives"),
        redis_url=None,
        secret_key="browser-test-secret-key-that-is-long-enough",
        log_level="WARNING",
        web_concurrency=1,
    )
    app = create_app(settings)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log per request
    runtime = app.extensions["runtime"]
    runtime.start()
    server = make_server("127.0.0.1", 0, body_read_before_sending(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield LiveServer(url=f"http://127.0.0.1:{server.port}", app=app)
    server.shutdown()
    thread.join(timeout=5)
    runtime.stop()
    app.extensions["database"].dispose()


@pytest.fixture(scope="session")
def browser(chromium):
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page_problems() -> list[str]:
    """Script errors and CSP violations of the test's page; a test may take out one it expects."""
    return []


@pytest.fixture
def page(browser, live_server, page_problems):
    """A fresh browser profile on the console. The test fails on any script error or CSP violation."""
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    context.set_default_timeout(10_000)
    opened = context.new_page()
    problems = page_problems
    opened.on("pageerror", lambda error: problems.append(str(error)))
    opened.on(
        "console",
        # A status the test expects (401, 415, ...) is also logged as a failed load; that is not a problem.
        lambda message: (
            message.type == "error"
            and not message.text.startswith("Failed to load resource")
            and problems.append(message.text)
        ),
    )
    yield opened
    context.close()
    assert problems == []


def log_in(page: Page, password: str = ADMIN_PASSWORD) -> None:
    page.goto("/admin/")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def screenshots(page: Page, name: str) -> None:
    """The page at 1280 px and at a phone's 390 px, where nothing may stick out sideways."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for size in (DESKTOP, PHONE):
        page.set_viewport_size(size)
        page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
        page.screenshot(path=ARTIFACTS / f"{name}-{size['width']}.png", full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} is {overflow} px too wide at {size['width']} px"
    page.set_viewport_size(DESKTOP)
