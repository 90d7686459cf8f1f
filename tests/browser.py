"""Open a page in headless Chromium, as a researcher's browser would, and report what happened.

Used by the report tests: :func:`render` loads an HTML file, records every
network request the page makes (a self-contained report makes none), counts
the heat-map chart elements, lists the case sections, collects console errors
and saves a PNG screenshot. It drives Debian's ``chromium`` over the Chrome
DevTools Protocol with a plain websocket client, so nothing downloads a browser.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from base64 import b64decode
from pathlib import Path

import websocket

CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
)
LOCAL_SCHEMES = ("data:", "blob:", "about:", "devtools:", "chrome:", "chrome-extension:")
STARTUP_TIMEOUT = 30.0
LOAD_TIMEOUT = 30.0
QUIET_PERIOD = 0.5

# What the page is asked once it has loaded.
_PROBE = """(() => ({
  heatmap_elements: document.querySelectorAll(
      '[data-chart="heatmap"] svg, [data-chart="heatmap"] canvas').length,
  heatmap_cells: document.querySelectorAll(
      '[data-chart="heatmap"] path[role="graphics-symbol"]').length,
  case_sections: Array.from(document.querySelectorAll('section.case')).map(s => s.id),
  title: document.title,
  scroll_width: document.documentElement.scrollWidth,
}))()"""


def find_chromium() -> str | None:
    """The first Chromium or Chrome executable on this machine, or None."""
    for candidate in CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def render(
    html_path: Path,
    screenshot: Path,
    *,
    width: int = 1366,
    height: int = 900,
    full_page: bool = False,
) -> dict:
    """Load ``html_path`` in headless Chromium; save a screenshot; return what was seen.

    Returns ``requests`` (URLs the page asked for other than itself and
    data:/blob:/about: URLs), ``heatmap_elements`` (svg/canvas in the heat-map
    container), ``heatmap_cells``, ``case_sections`` (ids), ``console_errors``,
    ``title`` and ``scroll_width`` (wider than ``width`` means a horizontal scrollbar).
    """
    executable = find_chromium()
    if executable is None:
        raise RuntimeError("no Chromium found (apt-get install chromium)")
    page_url = Path(html_path).resolve().as_uri()
    profile = Path(tempfile.mkdtemp(prefix="casecoder-chromium-"))
    process = subprocess.Popen(
        [executable, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
         "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        port = _devtools_port(profile, process)
        with _Session(_page_websocket(port)) as cdp:
            result = _visit(cdp, page_url, width, height)
            _screenshot(cdp, Path(screenshot), width, height, full_page)
            cdp.call("Browser.close")
        return result
    finally:
        _stop(process)
        shutil.rmtree(profile, ignore_errors=True)


def _devtools_port(profile: Path, process: subprocess.Popen) -> int:
    """Chromium writes the port it chose into DevToolsActivePort in the profile."""
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited with code {process.returncode} at start-up")
        if marker.is_file():
            lines = marker.read_text().splitlines()
            if lines and lines[0].strip().isdigit():
                return int(lines[0])
        time.sleep(0.05)
    raise RuntimeError("chromium did not open its DevTools port in time")


def _page_websocket(port: int) -> str:
    """The websocket URL of the first page target (the about:blank tab)."""
    from urllib.request import urlopen

    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        with urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as response:
            targets = json.load(response)
        pages = [t for t in targets if t.get("type") == "page"]
        if pages:
            return pages[0]["webSocketDebuggerUrl"]
        time.sleep(0.05)
    raise RuntimeError("chromium opened no page")


class _Session:
    """A minimal CDP client: numbered calls, with events buffered while waiting."""

    def __init__(self, url: str):
        self._socket = websocket.create_connection(url, timeout=LOAD_TIMEOUT, suppress_origin=True)
        self._ids = itertools.count(1)
        self.events: list[dict] = []

    def __enter__(self) -> _Session:
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            self._socket.close()

    def call(self, method: str, **params: object) -> dict:
        call_id = next(self._ids)
        self._socket.send(json.dumps({"id": call_id, "method": method, "params": params}))
        if method == "Browser.close":
            return {}
        while True:
            message = self._receive(LOAD_TIMEOUT)
            if message is None:
                raise TimeoutError(f"no answer to {method}")
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str, timeout: float) -> None:
        """Wait until an event named ``method`` has arrived (or was already buffered)."""
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            message = self._receive(max(deadline - time.monotonic(), 0.01))
            if message is None:
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"no {method} within {timeout} s")
                continue
            self.events.append(message)

    def drain(self, quiet: float) -> None:
        """Collect events until none has arrived for ``quiet`` seconds."""
        while (message := self._receive(quiet)) is not None:
            self.events.append(message)

    def _receive(self, timeout: float) -> dict | None:
        self._socket.settimeout(timeout)
        try:
            return json.loads(self._socket.recv())
        except websocket.WebSocketTimeoutException:
            return None


def _visit(cdp: _Session, page_url: str, width: int, height: int) -> dict:
    for domain in ("Page", "Network", "Runtime", "Log"):
        cdp.call(f"{domain}.enable")
    cdp.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
             deviceScaleFactor=1, mobile=False)
    cdp.call("Page.navigate", url=page_url)
    cdp.wait_for("Page.loadEventFired", LOAD_TIMEOUT)
    cdp.drain(QUIET_PERIOD)
    probe = cdp.call("Runtime.evaluate", expression=_PROBE, returnByValue=True)
    found = probe.get("result", {}).get("value", {})
    return {
        "requests": _requests(cdp.events, page_url),
        "console_errors": _console_errors(cdp.events),
        **found,
    }


def _requests(events: list[dict], page_url: str) -> list[str]:
    urls = []
    for event in events:
        if event.get("method") != "Network.requestWillBeSent":
            continue
        url = event["params"]["request"]["url"]
        if url.split("#")[0] == page_url or url.startswith(LOCAL_SCHEMES):
            continue
        urls.append(url)
    return urls


def _console_errors(events: list[dict]) -> list[str]:
    errors = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            errors.append(details.get("exception", {}).get("description") or details.get("text", ""))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            errors.append(params["entry"].get("text", ""))
    return errors


def _screenshot(cdp: _Session, path: Path, width: int, height: int, full_page: bool) -> None:
    if full_page:
        metrics = cdp.call("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        height = int(size["height"])
        cdp.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                 deviceScaleFactor=1, mobile=False)
    shot = cdp.call("Page.captureScreenshot", format="png",
                    clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
                    captureBeyondViewport=full_page)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b64decode(shot["data"]))


def _stop(process: subprocess.Popen) -> None:
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
