#!/usr/bin/env python3
"""Loads a page in headless Chromium and reports, as JSON on standard output, what a person would see.

    check_page.py --chromium /usr/bin/chromium --url URL --screenshot FILE [--timeout SECONDS]

Drives Chromium over the DevTools protocol (the `websockets` package): opens URL, waits for the load
event and for every <img> to finish, then prints
    {"title": ..., "images": [{"src", "alt", "complete", "naturalWidth"}], "errors": [...],
     "focused": {"tag", "text"}, "screenshot": FILE}
where `errors` are console errors, uncaught exceptions and failed resource loads, and `focused` is the
element that one Tab key press focuses. Saves a full-page PNG screenshot. The caller decides what passes;
this script exits non-zero only when it cannot drive the browser.
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from websockets.sync.client import connect

WAIT_FOR_IMAGES = """
new Promise(resolve => {
  const images = [...document.images];
  Promise.all(images.map(image => image.complete ? null :
      new Promise(done => { image.addEventListener('load', done); image.addEventListener('error', done); })))
    .then(() => resolve(JSON.stringify(images.map(image => ({
      src: image.currentSrc || image.src, alt: image.getAttribute('alt'),
      complete: image.complete, naturalWidth: image.naturalWidth})))));
})
"""

FOCUSED = """JSON.stringify({tag: document.activeElement ? document.activeElement.tagName : null,
  text: document.activeElement ? (document.activeElement.getAttribute('href') || '') : ''})"""


class Session:
    """One page target: numbered commands, events collected while waiting for replies."""

    def __init__(self, socket, timeout):
        self.socket = socket
        self.next_id = 0
        self.events = []
        self.timeout = timeout

    def send(self, method, params=None):
        self.next_id += 1
        command_id = self.next_id
        self.socket.send(json.dumps({"id": command_id, "method": method, "params": params or {}}))
        deadline = time.monotonic() + self.timeout
        while True:
            message = json.loads(self.socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("id") == command_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method):
        deadline = time.monotonic() + self.timeout
        while not any(event.get("method") == method for event in self.events):
            self.events.append(json.loads(self.socket.recv(timeout=max(0.1, deadline - time.monotonic()))))

    def evaluate(self, expression):
        result = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails']}")
        return json.loads(result["result"]["value"])

    def drain(self, seconds):
        """Collects events for a moment (late console messages)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                self.events.append(json.loads(self.socket.recv(timeout=max(0.05, end - time.monotonic()))))
            except TimeoutError:
                break


def errors_in(events):
    errors = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append("console: " + " ".join(str(arg.get("value", arg.get("description", ""))) for arg in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            errors.append("exception: " + details.get("exception", {}).get("description", details.get("text", "")))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            errors.append(f"log ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}".strip())
    return errors


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--chromium", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--screenshot", required=True)
    parser.add_argument("--timeout", type=float, default=120)
    options = parser.parse_args()

    profile = tempfile.mkdtemp(prefix="rendition-chromium-")
    browser = subprocess.Popen(
        [options.chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
         "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1", f"--user-data-dir={profile}",
         "--window-size=1400,1000", "about:blank"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        endpoint = None
        deadline = time.monotonic() + 60
        while endpoint is None and time.monotonic() < deadline:
            line = browser.stderr.readline()
            if not line and browser.poll() is not None:
                break
            if "DevTools listening on " in line:
                endpoint = line.split("DevTools listening on ", 1)[1].strip()
        if endpoint is None:
            raise RuntimeError("Chromium did not start its DevTools endpoint")
        # Keep reading Chromium's own log so its pipe never fills and blocks it.
        threading.Thread(target=lambda: [None for _ in browser.stderr], daemon=True).start()

        port = endpoint.split("//", 1)[1].split("/", 1)[0]
        with urllib.request.urlopen(f"http://{port}/json/list", timeout=10) as reply:
            targets = json.load(reply)
        page = next(target for target in targets if target.get("type") == "page")
        with connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=options.timeout) as socket:
            check(Session(socket, options.timeout), options)
    finally:
        browser.kill()
        browser.wait()
        shutil.rmtree(profile, ignore_errors=True)


def check(session, options):
    for domain in ("Runtime.enable", "Log.enable", "Page.enable"):
        session.send(domain)
    session.send("Page.navigate", {"url": options.url})
    session.wait_for("Page.loadEventFired")
    images = session.evaluate(WAIT_FOR_IMAGES)
    title = session.evaluate("JSON.stringify(document.title)")
    session.send("Input.dispatchKeyEvent", {"type": "keyDown", "key": "Tab", "code": "Tab", "windowsVirtualKeyCode": 9})
    session.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": "Tab", "code": "Tab", "windowsVirtualKeyCode": 9})
    focused = session.evaluate(FOCUSED)
    session.drain(0.5)

    metrics = session.send("Page.getLayoutMetrics")
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    shot = session.send("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": min(size["width"], 4000), "height": min(size["height"], 12000), "scale": 1}})
    os.makedirs(os.path.dirname(os.path.abspath(options.screenshot)), exist_ok=True)
    with open(options.screenshot, "wb") as file:
        file.write(base64.b64decode(shot["data"]))
    print(json.dumps({"title": title, "images": images, "errors": errors_in(session.events),
                      "focused": focused, "screenshot": options.screenshot}))


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # the caller shows this message
        print(f"check_page.py: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(2)
