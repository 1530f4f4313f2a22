"""Debian's chromium, driven by Playwright (no browser download)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django_otp.oath import hotp
from playwright.sync_api import sync_playwright

from msa.demo_data import demo_password, demo_totp_key

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@contextlib.contextmanager
def launch_chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=CHROMIUM_FLAGS,
            headless=True,
        )
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# The last TOTP time step used per (server, login): a code is accepted once (django-otp
# refuses a step at or before the last one used), with one step of tolerance either side.
_LAST_STEP: dict[tuple[str, str], int] = {}
TOTP_STEP_S = 30


def demo_totp_code(base_url: str, username: str) -> str:
    """A fresh TOTP code for a demo login, never one this test run already used."""
    current = int(time.time()) // TOTP_STEP_S
    step = max(current, _LAST_STEP.get((base_url, username), current - 1) + 1)
    while step > current + 1:  # at most one step ahead: wait for the clock to catch up
        time.sleep(1.0)
        current = int(time.time()) // TOTP_STEP_S
    _LAST_STEP[(base_url, username)] = step
    return f"{hotp(demo_totp_key(username), step):06d}"


def login(page: Any, base_url: str, username: str, password: str) -> None:
    """Sign in as a demo login: password, then the TOTP code of its demo authenticator."""
    page.goto(base_url + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_selector("#id_token")
    page.fill("#id_token", demo_totp_code(base_url, username))
    page.click("#otp-submit")
    page.wait_for_load_state()


def sign_in(page: Any, base_url: str, username: str) -> None:
    """login() with the demo password, and the same again through the form's own buttons when
    its ``button[type=submit]`` hit the top bar's "Sign out" on the TOTP page."""
    login(page, base_url, username, demo_password(username))
    if "/accounts/" not in page.url:
        return
    page.goto(base_url + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", demo_password(username))
    page.click("main button[type=submit]")
    page.wait_for_selector("#id_token")
    page.fill("#id_token", demo_totp_code(base_url, username))
    page.click("main button[type=submit]")
    page.wait_for_load_state()
