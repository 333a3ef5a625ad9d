"""Real-browser journeys: Debian's chromium driven by Playwright, against the live server.

The server is pytest-django's `live_server` (a transactional test: tests/conftest.py
cleans the database up as the owner role afterwards). Never `playwright install`: the
browser is the system's chromium.
"""

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]

# A small Android phone, held upright.
PHONE = {"viewport": {"width": 360, "height": 740}, "has_touch": True, "is_mobile": True}


@pytest.fixture(scope="session")
def browser():
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        # Playwright's sync API runs an asyncio event loop in the test thread while the
        # browser is open, so Django takes the test body's own ORM calls (factories,
        # reading the record) for calls from async code and refuses them with
        # SynchronousOnlyOperation. They are plain sync calls. Only while the browser
        # is open (journeys run last), so other tests keep Django's check.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def phone(browser, live_server):
    """A fresh phone (no cookies) with one page open on the live server."""
    context = browser.new_context(base_url=live_server.url, **PHONE)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def desk(browser, live_server):
    """A fresh desktop browser (no cookies) with one page open on the live server."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()
