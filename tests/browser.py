"""The browser every browser test uses: Debian's chromium (`make test` installs it with apt), driven headless
by playwright, with the network off.

Every request that is not file:, data: or blob: is aborted and recorded, so a page that still reaches for a CDN
shows up in `blocked_requests` (and in `console_errors`, as the browser reports the failed load). A page is
opened from a path or a URL:

    from browser import open_page  # tests/ is on sys.path under pytest

    with open_page(docs / "index.html") as opened:
        opened.wait_for("#models")
        names = opened.evaluate("[...document.querySelectorAll('li')].map(e => e.textContent)")
        opened.screenshot(tmp_path / "index.png")
        assert opened.problems() == []

Tests that open many pages share one browser: `with launch_browser() as shared: open_page(path, browser=shared)`.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")
DEFAULT_TIMEOUT_MS = 30_000


def chromium_path() -> str:
    """Debian's chromium (never a browser playwright downloads): $CHROMIUM, else `chromium` on PATH."""
    candidates = [os.environ.get("CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    message = ("chromium is not installed (looked for $CHROMIUM, `chromium` on PATH and /usr/bin/chromium). "
               "`make test` installs it (`make browser`: apt-get install chromium, as root); "
               "elsewhere install your distribution's chromium package.")
    try:
        import pytest
    except ImportError:  # pragma: no cover - used outside pytest
        raise RuntimeError(message) from None
    pytest.fail(message, pytrace=False)


@dataclass
class OpenedPage:
    """A page opened with the network off, and everything that went wrong while it loaded and ran."""

    page: Any  # playwright.sync_api.Page
    url: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def wait_for(self, selector: str, timeout_ms: int = DEFAULT_TIMEOUT_MS, state: str = "visible"):
        """Wait until selector matches an element in that state; returns its first element handle."""
        return self.page.wait_for_selector(selector, timeout=timeout_ms, state=state)

    def evaluate(self, expression: str, arg: Any = None) -> Any:
        """Run JavaScript in the page (an expression, or a function taking arg) and return its JSON result."""
        return self.page.evaluate(expression, arg)

    def wait_until(self, expression: str, arg: Any = None, timeout_ms: int = DEFAULT_TIMEOUT_MS):
        """Wait until a JavaScript expression (or function of arg) is truthy in the page."""
        return self.page.wait_for_function(expression, arg=arg, timeout=timeout_ms)

    def text(self, selector: str = "body") -> str:
        """The rendered text of the first element matching selector."""
        return self.page.inner_text(selector)

    def count(self, selector: str) -> int:
        return self.page.locator(selector).count()

    def screenshot(self, path: str | os.PathLike) -> Path:
        """A full-page PNG."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def problems(self) -> list[str]:
        """Every console error, uncaught page error, blocked and failed request, one line each."""
        return ([f"console error: {m}" for m in self.console_errors]
                + [f"page error: {m}" for m in self.page_errors]
                + [f"blocked request (network is off): {u}" for u in self.blocked_requests]
                + [f"failed request: {u}" for u in self.failed_requests])


@contextmanager
def launch_browser(timeout_ms: int = DEFAULT_TIMEOUT_MS) -> Iterator[Any]:
    """A headless Debian chromium under playwright (a playwright.sync_api.Browser), closed on exit."""
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            timeout=timeout_ms,
            # root in CI and containers: chromium's sandbox needs user namespaces it may not have
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update"],
        )
        try:
            yield launched
        finally:
            launched.close()


def _url(target: str | os.PathLike) -> str:
    """A URL as given; a path (with an optional #fragment, as single-page apps route) as a file:// URL."""
    text = str(target)
    if "://" in text or text.startswith(("data:", "about:")):
        return text
    path, hash_sign, fragment = text.partition("#")
    return Path(path).resolve().as_uri() + hash_sign + fragment


@contextmanager
def open_page(target: str | os.PathLike, *, browser: Any = None, viewport: tuple[int, int] = (1280, 900),
              wait_until: str = "load", timeout_ms: int = DEFAULT_TIMEOUT_MS,
              color_scheme: str = "light") -> Iterator[OpenedPage]:
    """Open a file path or URL in a fresh browser context with the network off; yields an OpenedPage.
    With no browser given, one is launched for this page and closed after it."""
    if browser is None:
        with launch_browser(timeout_ms) as own:
            with open_page(target, browser=own, viewport=viewport, wait_until=wait_until,
                           timeout_ms=timeout_ms, color_scheme=color_scheme) as opened:
                yield opened
        return
    url = _url(target)
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]},
                                  color_scheme=color_scheme, service_workers="block")
    context.set_default_timeout(timeout_ms)
    opened = OpenedPage(page=None, url=url)

    def _route(route):
        request_url = route.request.url
        if request_url.startswith(LOCAL_SCHEMES):
            route.continue_()
        else:
            opened.blocked_requests.append(request_url)
            route.abort("blockedbyclient")

    context.route("**/*", _route)
    context.set_offline(True)  # what routing does not see (websockets, prefetches) fails too
    page = context.new_page()
    opened.page = page
    page.on("console", lambda message: opened.console_errors.append(
        f"{message.text} ({message.location.get('url', '')}:{message.location.get('lineNumber', '')})")
        if message.type == "error" else None)
    page.on("pageerror", lambda error: opened.page_errors.append(str(error)))
    page.on("requestfailed", lambda request: None if request.url in opened.blocked_requests else
            opened.failed_requests.append(f"{request.url}: {request.failure}"))
    try:
        page.goto(url, wait_until=wait_until, timeout=timeout_ms)
        yield opened
    finally:
        context.close()

