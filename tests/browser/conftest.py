"""Chromium from Debian's package, driven by Playwright; tests skip with the reason when it is missing."""

import os
import shutil

import pytest

from tests.chatbot.conftest import lantern_server  # noqa: F401  (the served app the browser visits)

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    """Debian's chromium, or another found on PATH; Playwright's own download is never used."""
    for candidate in (os.environ.get("LANTERN_CHROMIUM", ""), "/usr/bin/chromium", shutil.which("chromium") or ""):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package")
    executable = chromium_path()
    if executable is None:
        pytest.skip("needs Chromium: install Debian's package (apt-get install -y chromium) or set LANTERN_CHROMIUM")
    # Playwright's sync API keeps an event loop in this thread; the test's own database calls are still sync.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
