"""Browser fixtures: the app served on 127.0.0.1 in a thread, Debian's chromium driven by Playwright,
and a phone-sized context. Without /usr/bin/chromium the browser tests are skipped, unless
VOTING_REQUIRE_BROWSER=1 (set in CI), where a missing browser is a failure.

Never run `playwright install`: these tests drive the chromium that Debian packages.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PHONE_VIEWPORT = {"width": 360, "height": 740}
# Where screenshots go when VOTING_SCREENSHOTS names a folder (off in CI).
SHOTS = os.environ.get("VOTING_SCREENSHOTS")


def _unavailable(reason: str) -> None:
    if os.environ.get("VOTING_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (VOTING_REQUIRE_BROWSER=1: the browser tests must run here)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """As production has it: CSRF on (fetch must send X-CSRFToken) and Secure session cookies,
    which chromium keeps on http://127.0.0.1 because loopback is a secure context."""
    return {**app_config, "WTF_CSRF_ENABLED": True, "SESSION_COOKIE_SECURE": True, "REMEMBER_COOKIE_SECURE": True}


@pytest.fixture
def live_server(app: Any) -> Iterator[str]:
    """The app (built by the `app` fixture from app_config) served on a free port; yields the base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        _unavailable(f"{CHROMIUM} is missing: install Debian's chromium package to run the browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright (Python) is not installed: pip install -e '.[test]'")
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def phone_user_agent(browser: Any) -> str:
    """A mid-range Android phone running the same Chrome version as the browser under test."""
    major = re.match(r"\d+", browser.version)
    return (f"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{major.group() if major else '120'}.0.0.0 Mobile Safari/537.36")


@pytest.fixture
def new_phone(browser: Any) -> Iterator[Any]:
    """Make more phones (each a fresh context: 360×740, touch, a mobile user agent, empty storage);
    they are closed after the test."""
    made: list[Any] = []

    def make(**extra: Any) -> Any:
        context = browser.new_context(viewport=PHONE_VIEWPORT, is_mobile=True, has_touch=True,
                                      user_agent=phone_user_agent(browser), **extra)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def phone(new_phone: Any) -> Any:
    """A fresh phone."""
    return new_phone()


class ConsoleWatch:
    """Console errors and uncaught exceptions of the pages it watches (a CSP violation is one)."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        # The site has no icon yet (base.html links none), so chromium's own request for
        # /favicon.ico is answered 404; that is not an error of the page under test.
        self.allowed: list[re.Pattern[str]] = [re.compile(r"status of 404 .*\[\S*/favicon\.ico\]$")]

    def watch(self, page: Any) -> Any:
        page.on("console", lambda msg: self.errors.append(f"{page.url}: {msg.text} [{msg.location.get('url', '')}]")
                if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: uncaught {exc}"))
        return page

    def allow(self, pattern: str) -> None:
        """An error the test expects, e.g. the browser's note about a page answered with 410."""
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]


@pytest.fixture
def console() -> Iterator[ConsoleWatch]:
    """Fails the test on any console error of a watched page that the test did not allow."""
    watch = ConsoleWatch()
    yield watch
    bad = watch.unexpected()
    if bad:
        pytest.fail("console errors in the browser:\n" + "\n".join(bad), pytrace=False)


@pytest.fixture
def shot() -> Any:
    """Save a screenshot of a page as SHOTS/<name>.png when VOTING_SCREENSHOTS is set."""

    def take(page: Any, name: str, **options: Any) -> None:
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), **options)

    return take
