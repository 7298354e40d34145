"""What the browser tests share: Debian's chromium driven by Playwright, its flags, where screenshots go, and the
app served on a free loopback port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import playwright.sync_api as playwright_api
import pytest
from werkzeug.serving import make_server

from tests.conftest import CHROMIUM, ROOT

# A browser suite that cannot run is a failure, never a skip: a missing Playwright fails at import, a missing
# chromium fails each browser test with the reason (the `chromium_installed` fixture in conftest).
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
ARTIFACTS = ROOT / "test-artifacts"
needs_chromium = pytest.mark.usefixtures("chromium_installed")
__all__ = ["ARGS", "ARTIFACTS", "CHROMIUM", "ROOT", "needs_chromium", "playwright_api", "served"]


@contextmanager
def served(app) -> Iterator[str]:
    """The app served on a free loopback port while the block runs; its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
