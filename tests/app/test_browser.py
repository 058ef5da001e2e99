"""End to end: `streamlit run app.py` in a subprocess, driven by Playwright in Debian's headless Chromium.

Visits every page, takes a screenshot of each (kept under pytest's tmp_path; ``ACCSIM_SCREENSHOTS=dir``
keeps them there instead) and looks at it for an error box or an exception; changes a control, copies
the URL the app wrote and opens it in a fresh session; checks that nothing is fetched from outside.

Skips (with the reason) when /usr/bin/chromium or the playwright package is missing; never installs
browsers. Run with ``pytest -m browser tests/app/test_browser.py``.
"""
from __future__ import annotations

import os
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
# every page, and what each shows once it has run (the default page is the bare URL)
PAGES = {"": "Step time", "what-if": "Step time", "workload": "Parameters", "scale-out": "Scaling efficiency",
         "generate": "Time to first token", "serve": "TTFT p99", "sweep": "Points that fit", "devices": "Catalogue",
         "accuracy": "Device kind"}  # the title renders before the tables; the chooser after them


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


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    port = _free_port()
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        yield url, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture()
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _new_page(browser, outside: list[str]):
    page = browser.new_page(viewport={"width": 1400, "height": 2000})  # tall: the app scrolls inside
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("http://127.0.0.1", "data:",
                                                                                     "blob:")) else None)
    return page


def _metric_value(page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]').filter(has=page.get_by_text(label, exact=True)).first
    return box.locator('[data-testid="stMetricValue"]').inner_text(timeout=RUN_TIMEOUT_MS).strip()


def _wait_idle(page) -> None:
    """Wait until the script run finishes (the status widget says 'Running...' while it works)."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=RUN_TIMEOUT_MS)


def _open(page, url: str, ready: str) -> float:
    start = time.monotonic()
    page.goto(url, wait_until="domcontentloaded", timeout=RUN_TIMEOUT_MS)
    page.get_by_text(ready, exact=True).first.wait_for(timeout=RUN_TIMEOUT_MS)
    _wait_idle(page)
    return time.monotonic() - start


def _shots_dir(tmp_path: Path) -> Path:
    d = Path(os.environ.get("ACCSIM_SCREENSHOTS") or tmp_path)
    d.mkdir(parents=True, exist_ok=True)
    return d


def _no_error_box(page, where: str) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, f"{where}: an exception is shown"
    errors = page.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, f"{where}: error box {errors.first.inner_text()!r}"


def test_every_page_renders_without_an_error_box(server, browser, tmp_path):
    url, log = server
    outside: list[str] = []
    page = _new_page(browser, outside)
    shots = _shots_dir(tmp_path)
    times = {}
    for path, ready in PAGES.items():
        times[path or "simulate"] = _open(page, f"{url}/{path}", ready)
        shot = shots / f"{path or 'simulate'}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000, shot
        _no_error_box(page, path or "simulate")
    print("page loads (s):", {k: round(v, 1) for k, v in times.items()}, "screenshots in", shots)
    assert outside == [], f"fetched from outside: {outside}"  # the favicon is drawn locally
    # the comparison chips show whole device names (they were cut to "NVIDIA…", and to "N" at 1280 px)
    page.set_viewport_size({"width": 1280, "height": 2000})
    for path, ready in (("", "Step time"), ("sweep", "Points that fit")):
        _open(page, f"{url}/{path}", ready)
        chips = page.locator('[data-testid="stMultiSelect"] span[title]')
        assert chips.count() >= 2, path
        for i in range(chips.count()):
            full = chips.nth(i).evaluate("e => e.scrollWidth <= e.clientWidth + 1")
            assert full, f"{path or 'simulate'}: chip {chips.nth(i).get_attribute('title')!r} is cut"
    text = log.read_text()
    assert "Traceback" not in text and "WARNING" not in text, text[-2000:]  # a clean server log


def test_change_device_in_a_real_browser(server, browser, tmp_path):
    import simulator as sim

    url, _ = server
    rows = sim.list_hardware()
    target = next(h for h in rows if h["name"] == "nvidia-a100-pcie")
    page = _new_page(browser, [])
    _open(page, url, "Step time")
    before = _metric_value(page, "Step time")
    assert " ms (" in before, before  # the number and its band
    device = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(
        has=page.get_by_text("Device", exact=True))
    device.click()
    page.keyboard.type("A100 PCIe")
    page.get_by_role("option", name="GPU · A100 PCIe 80GB").click()
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    after = before
    while after == before and time.monotonic() < deadline:
        page.wait_for_timeout(250)
        after = _metric_value(page, "Step time")
    _wait_idle(page)
    shot = _shots_dir(tmp_path) / "after-device-change.png"
    page.screenshot(path=str(shot), full_page=True)
    assert after != before, f"headline step time stayed {before} after choosing {target['name']}"
    _no_error_box(page, "after the device change")
    assert "device=nvidia-a100-pcie" in page.url  # the URL follows the scenario


def test_a_shared_url_reproduces_the_page(server, browser, tmp_path):
    url, _ = server
    page = _new_page(browser, [])
    _open(page, f"{url}/generate?gen_model=gpt2&gen_prompt=128&gen_out=16&gen_batch=2", "Time to first token")
    assert "gen_model=gpt2" in page.url
    box = page.locator('[data-testid="stNumberInput"]').filter(has=page.get_by_text("Prompt tokens", exact=True))
    field = box.locator("input")
    field.fill("300")
    field.press("Enter")
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    while "gen_prompt=300" not in page.url and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    _wait_idle(page)
    shared = page.url
    assert "gen_prompt=300" in shared and "/generate" in shared, shared
    ttft = _metric_value(page, "Time to first token")
    other = browser.new_context().new_page()  # a fresh session, as someone the URL was sent to
    other.set_viewport_size({"width": 1400, "height": 2000})
    _open(other, shared, "Time to first token")
    assert other.locator('[data-testid="stNumberInput"]').filter(
        has=other.get_by_text("Prompt tokens", exact=True)).locator("input").input_value() == "300"
    assert _metric_value(other, "Time to first token") == ttft
    other.screenshot(path=str(_shots_dir(tmp_path) / "shared-url.png"), full_page=True)
    _no_error_box(other, "the shared URL")
    page.reload(wait_until="domcontentloaded")  # and a reload keeps it too
    page.get_by_text("Time to first token", exact=True).first.wait_for(timeout=RUN_TIMEOUT_MS)
    _wait_idle(page)
    assert _metric_value(page, "Time to first token") == ttft
