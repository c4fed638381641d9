"""The browser every browser test drives: Debian's Chromium through Playwright (never a downloaded one)."""

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture
def browser() -> Iterator[Any]:
    with _sync_api().sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _sync_api() -> Any:
    return pytest.importorskip("playwright.sync_api")
