"""A real headless Chromium for the browser tests (site, dashboard), driven by Selenium.

The ``browser`` fixture (session-wide, registered in conftest.py) starts Debian's
chromium through the system chromedriver (``apt-get install -y chromium chromium-driver``;
Selenium itself comes with the ``test`` extra). Selenium Manager is never asked to
download anything: both paths are given explicitly.

Where the browser is missing the tests FAIL, saying what to install, so that CI cannot
silently skip them. Set ``NEUROPHYS_ALLOW_NO_BROWSER=1`` to skip them instead (a laptop
without Chromium).
"""
from __future__ import annotations

import base64
import io
import os
import shutil
import tempfile

import pytest

INSTALL = ("Chromium and its driver are needed: `apt-get install -y chromium chromium-driver` (Debian; "
           "/usr/bin/chromium, /usr/bin/chromedriver) and `pip install -e \".[test]\"` (selenium). "
           "Set NEUROPHYS_ALLOW_NO_BROWSER=1 to skip the browser tests instead.")


def _which(*names):
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


def find_browser():
    """(chromium path, chromedriver path) or a string saying what is missing."""
    exe = os.environ.get("NEUROPHYS_CHROMIUM") or _which("chromium", "chromium-browser", "google-chrome",
                                                         "google-chrome-stable")
    drv = os.environ.get("NEUROPHYS_CHROMEDRIVER") or _which("chromedriver")
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed"
    if not exe:
        return "no chromium on PATH"
    if not drv:
        return "no chromedriver on PATH"
    return exe, drv


def missing_browser(reason: str):
    if os.environ.get("NEUROPHYS_ALLOW_NO_BROWSER") == "1":
        pytest.skip(f"{reason} (NEUROPHYS_ALLOW_NO_BROWSER=1)")
    pytest.fail(f"{reason}. {INSTALL}", pytrace=False)


class Browser:
    """A thin wrapper: load a file, read console errors, evaluate JS, take a screenshot."""

    def __init__(self, driver):
        self.driver = driver

    def load(self, path, wait_for=None, timeout: float = 30.0):
        from selenium.webdriver.support.ui import WebDriverWait
        self.driver.get_log("browser")           # drop what earlier pages logged
        self.driver.get(path.resolve().as_uri())
        WebDriverWait(self.driver, timeout).until(
            lambda d: d.execute_script("return document.readyState") == "complete")
        # every <img> finished (loaded or failed)
        WebDriverWait(self.driver, timeout).until(lambda d: d.execute_script(
            "return Array.from(document.images).every(i => i.complete)"))
        if wait_for:
            WebDriverWait(self.driver, timeout).until(lambda d: d.execute_script(wait_for))

    def console_errors(self) -> list:
        return [e for e in self.driver.get_log("browser") if e.get("level") in ("SEVERE", "ERROR")]

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def screenshot(self):
        """The viewport as an (H, W, 3) uint8 array."""
        import numpy as np
        from PIL import Image
        png = base64.b64decode(self.driver.get_screenshot_as_base64())
        return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))

    def element_screenshot(self, element):
        import numpy as np
        from PIL import Image
        return np.asarray(Image.open(io.BytesIO(element.screenshot_as_png)).convert("RGB"))


@pytest.fixture(scope="session")
def browser():
    found = find_browser()
    if isinstance(found, str):
        missing_browser(found)
    exe, drv = found
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="neurophys-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = exe
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--allow-file-access-from-files", "--window-size=1280,1000",
                 "--hide-scrollbars", "--force-device-scale-factor=1", f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(options=opts, service=Service(executable_path=drv))
    except Exception as err:  # a browser that is there but does not start: say why
        shutil.rmtree(profile, ignore_errors=True)
        missing_browser(f"chromium did not start ({type(err).__name__}: {str(err).splitlines()[0][:300]})")
    driver.set_page_load_timeout(60)
    try:
        yield Browser(driver)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
