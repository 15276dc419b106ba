"""A small OpenAI-compatible HTTP server for load and fault-injection runs (stdlib asyncio only).

Test and benchmark support, not part of the package.

It answers ``POST /v1/completions`` and ``/v1/chat/completions`` (and ``GET /v1/models``) in one of
two ways:

- ``upstream=URL``: it forwards each request to a real server (e.g. llama.cpp's) and relays the
  answer — a fault-injecting proxy in front of a real model;
- no upstream: it writes an answer itself from the request's JSON schema (``response_format``), text
  derived from a hash of the prompt, after ``latency`` seconds — a fast stand-in server for measuring
  the client side (the runner) alone.

``fault_rate`` of the requests (chosen by a seeded generator, so a run is repeatable) get a fault
instead, in turn: HTTP 429 (overloaded), HTTP 500, a hang longer than the client's timeout
(``hang``), or a body that is not JSON. ``stats`` counts what was served.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import threading
from collections import Counter
from typing import Any

FAULTS = ("429", "500", "timeout", "malformed")


def _words(seed: str, count: int) -> str:
    """An English-looking sentence of about ``count`` words, chosen by a hash of ``seed``."""
    nouns = (
        "router",
        "invoice",
        "refund",
        "screen",
        "account",
        "order",
        "delivery",
        "film",
        "story",
        "plot",
        "password",
        "update",
        "app",
        "battery",
        "printer",
        "ending",
        "cast",
        "script",
        "agent",
        "laptop",
    )
    adjs = (
        "slow",
        "great",
        "broken",
        "warm",
        "late",
        "clever",
        "dull",
        "quick",
        "noisy",
        "fresh",
        "odd",
        "fine",
    )
    h = hashlib.sha256(seed.encode("utf-8")).digest()
    out: list[str] = []
    i = 0
    while len(out) < count:
        n1, n2 = nouns[h[i % 32] % len(nouns)], nouns[h[(i + 1) % 32] % len(nouns)]
        a1 = adjs[h[(i + 2) % 32] % len(adjs)]
        out += f"the {n1} was {a1} and my {n2} is not what I had".split()
        i += 3
    return " ".join(out[:count]).capitalize() + f" ({h[:3].hex()})."


def answer_for(schema: dict[str, Any] | None, seed: str) -> Any:
    """A value valid for ``schema`` (the subset simulacra's specs use), its text derived from ``seed``."""
    if not schema:
        return {"text": _words(seed, 12)}
    if "enum" in schema:
        return schema["enum"][int(hashlib.sha256(seed.encode()).hexdigest(), 16) % len(schema["enum"])]
    if "const" in schema:
        return schema["const"]
    typ = schema.get("type")
    if typ == "object":
        return {k: answer_for(v, f"{seed}/{k}") for k, v in schema.get("properties", {}).items()}
    if typ == "array":
        n = max(schema.get("minItems", 1), 1)
        return [answer_for(schema.get("items"), f"{seed}/{i}") for i in range(n)]
    if typ == "integer":
        return int(schema.get("minimum", 1))
    if typ == "number":
        return float(schema.get("minimum", 0.5))
    if typ == "boolean":
        return True
    text = _words(seed, 12)
    lo, hi = schema.get("minLength", 0), schema.get("maxLength", 10**6)
    while len(text) < lo:
        text += " " + text
    return text[:hi]


class LocalServer:
    """Serve on ``127.0.0.1:port`` in a background thread (``start()`` / ``stop()``, or ``with``)."""

    def __init__(
        self,
        *,
        upstream: str | None = None,
        latency: float = 0.0,
        fault_rate: float = 0.0,
        hang: float = 5.0,
        seed: int = 0,
        port: int = 0,
        model: str = "local-stub",
    ) -> None:
        self.upstream, self.latency, self.fault_rate, self.hang = upstream, latency, fault_rate, hang
        self.model = model
        self.port = port
        self._rng = random.Random(seed)
        self._fault_turn = 0
        self.stats: Counter = Counter()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._ready = threading.Event()
        self._client: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # ---- lifecycle --------------------------------------------------------------------------------
    def start(self) -> LocalServer:
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the local server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._server = loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", self.port))
        self.port = self._server.sockets[0].getsockname()[1]
        if self.upstream:
            import httpx

            self._client = httpx.AsyncClient(timeout=httpx.Timeout(600.0))
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            self._server.close()
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            if self._client is not None:
                loop.run_until_complete(self._client.aclose())
            loop.close()

    # ---- HTTP ---------------------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, path, _ = line.decode("latin-1").split(" ", 2)
                headers = {}
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    k, _, v = h.decode("latin-1").partition(":")
                    headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
                status, payload, *more = await self._respond(method, path, headers, body)
                if status == 0:  # hang, then drop the connection
                    return
                extra = more[0] if more else ({"Retry-After": "0"} if status == 429 else {})
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
                head = (
                    f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
                    + "".join(f"{k}: {v}\r\n" for k, v in extra.items())
                    + "Connection: keep-alive\r\n\r\n"
                )
                writer.write(head.encode("latin-1") + data)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            return
        finally:
            writer.close()

    def _fault(self) -> str | None:
        if self.fault_rate <= 0 or self._rng.random() >= self.fault_rate:
            return None
        kind = FAULTS[self._fault_turn % len(FAULTS)]
        self._fault_turn += 1
        return kind

    async def _respond(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple:
        """``(status, payload)`` or ``(status, payload, extra headers)``; status 0 drops the connection."""
        if method == "GET" and path.rstrip("/").endswith("/models"):
            return 200, {"object": "list", "data": [{"id": self.model, "object": "model"}]}
        if method != "POST" or not path.rstrip("/").endswith(("/completions", "/chat/completions")):
            return 404, {"error": {"message": f"no route {method} {path}"}}
        self.stats["requests"] += 1
        fault = self._fault()
        if fault is not None:
            self.stats[f"fault_{fault}"] += 1
            if fault == "429":
                return 429, {"error": {"message": "rate limited (injected)"}}
            if fault == "500":
                return 500, {"error": {"message": "server error (injected)"}}
            if fault == "timeout":
                await asyncio.sleep(self.hang)
                return 0, None
            return 200, b'{"choices": [{"text": "{\\"te'  # cut off: not JSON
        try:
            req = json.loads(body)
        except ValueError:
            return 400, {"error": {"message": "body is not JSON"}}
        chat = path.rstrip("/").endswith("/chat/completions")
        if self.upstream:
            resp = await self._client.post(
                self.upstream.rstrip("/") + ("/chat/completions" if chat else "/completions"), json=req
            )
            self.stats["forwarded"] += 1
            try:
                return resp.status_code, resp.json()
            except ValueError:
                return resp.status_code, resp.content
        if self.latency:
            await asyncio.sleep(self.latency)
        rf = req.get("response_format") or {}
        schema = (
            (rf.get("json_schema") or {}).get("schema")
            if rf.get("type") == "json_schema"
            else rf.get("schema")
        )
        prompt = json.dumps(req.get("messages")) if chat else str(req.get("prompt", ""))
        text = json.dumps(answer_for(schema, f"{prompt}|{req.get('seed')}"))
        usage = {"prompt_tokens": max(1, len(prompt) // 4), "completion_tokens": max(1, len(text) // 4)}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        choice: dict[str, Any] = {"index": 0, "finish_reason": "stop"}
        if chat:
            choice["message"] = {"role": "assistant", "content": text}
        else:
            choice["text"] = text
        self.stats["answered"] += 1
        return 200, {
            "id": "local",
            "object": "chat.completion" if chat else "text_completion",
            "model": self.model,
            "choices": [choice],
            "usage": usage,
        }
