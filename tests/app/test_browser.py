"""End to end: `streamlit run app.py` in a subprocess, driven by Playwright in Debian's headless Chromium.

Skips (with the reason) when /usr/bin/chromium or the playwright package is missing; never installs
browsers. Run with ``pytest -m browser tests/app/test_browser.py``.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
START_TIMEOUT_S = 90
RUN_TIMEOUT_MS = 90_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as resp:
                if resp.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"streamlit did not become healthy in {START_TIMEOUT_S} s:\n{log.read_text()[-2000:]}")


@pytest.fixture()
def app_url(tmp_path):
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    port = _free_port()
    log = tmp_path / "streamlit.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _metric_value(page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]').filter(has=page.get_by_text(label, exact=True)).first
    return box.locator('[data-testid="stMetricValue"]').inner_text(timeout=RUN_TIMEOUT_MS).strip()


def _wait_idle(page) -> None:
    """Wait until the script run finishes (the status widget says 'Running...' while it works)."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=RUN_TIMEOUT_MS)


def test_change_device_in_a_real_browser(app_url, tmp_path):
    from playwright.sync_api import sync_playwright

    import simulator as sim

    rows = sim.list_hardware()
    target = next((h for h in rows if h["name"] == "nvidia-a100-pcie"),
                  next(h for h in rows if h["name"] != "nvidia-h100-sxm"))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 2200})  # tall: the app scrolls inside
            page.goto(app_url, wait_until="domcontentloaded", timeout=RUN_TIMEOUT_MS)
            page.get_by_text("Step time", exact=True).first.wait_for(timeout=RUN_TIMEOUT_MS)
            _wait_idle(page)
            before = _metric_value(page, "Step time")
            assert before.endswith("ms"), before
            page.screenshot(path=str(tmp_path / "before.png"), full_page=True)

            device = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(
                has=page.get_by_text("Device", exact=True))
            device.click()
            page.keyboard.type(target["display_name"])
            page.get_by_role("option", name=f"{target['kind'].upper()} · {target['display_name']}").click()
            deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
            after = before
            while after == before and time.monotonic() < deadline:
                page.wait_for_timeout(250)
                after = _metric_value(page, "Step time")
            _wait_idle(page)
            shot = tmp_path / "after.png"
            page.screenshot(path=str(shot), full_page=True)
            assert after != before, f"headline step time stayed {before} after choosing {target['name']}"
            assert page.locator('[data-testid="stException"]').count() == 0
            assert page.get_by_text(target["display_name"]).first.is_visible()
            assert shot.stat().st_size > 10_000
        finally:
            browser.close()
