"""A local HTTP server on 127.0.0.1 that speaks Anthropic's Messages API (``POST /v1/messages``).

Test support, not part of the package. It checks each request as the real API does (the API key
and version headers, ``max_tokens``, alternating ``user``/``assistant`` messages with no ``system``
role among them, ``temperature`` within [0, 1], a forced ``tool_choice`` naming one of the ``tools``)
and answers a forced tool call with a ``tool_use`` block whose ``input`` fits the tool's
``input_schema`` (text derived from a hash of the request, as in :mod:`support.localserver`), or,
without tools, with one ``text`` block holding the JSON.

``script`` lists what the first requests get instead of an answer, in turn:

- ``"429"``: HTTP 429 ``rate_limit_error`` with a ``retry-after`` header of ``retry_after`` seconds;
- ``"529"``: HTTP 529 ``overloaded_error`` with the same header;
- ``"malformed"``: a ``tool_use`` block whose input breaks the schema (the first field missing, an
  unknown field instead).

``log`` keeps ``(monotonic time, status, request body)`` of every request.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from .localserver import LocalServer, answer_for

VERSION = "2023-06-01"


def _error(status: int, kind: str, message: str, extra: dict[str, str] | None = None) -> tuple:
    return status, {"type": "error", "error": {"type": kind, "message": message}}, extra or {}


def _problem(req: Any) -> str | None:
    """What the real API would refuse in this request body, or None."""
    if not isinstance(req, dict):
        return "the body is not a JSON object"
    for key in ("model", "max_tokens", "messages"):
        if key not in req:
            return f"{key}: Field required"
    if not isinstance(req["max_tokens"], int) or req["max_tokens"] < 1:
        return "max_tokens: must be a positive integer"
    temperature = req.get("temperature", 1.0)
    if not isinstance(temperature, int | float) or not 0.0 <= temperature <= 1.0:
        return f"temperature: must be within [0, 1], got {temperature!r}"
    messages = req["messages"]
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    for i, m in enumerate(messages):
        want = "user" if i % 2 == 0 else "assistant"
        if not isinstance(m, dict) or m.get("role") != want:
            return f"messages.{i}.role: expected '{want}' (roles alternate, starting with user)"
        if not isinstance(m.get("content"), str | list) or not m["content"]:
            return f"messages.{i}.content: must not be empty"
    if "system" in req and not isinstance(req["system"], str | list):
        return "system: must be a string or a list of text blocks"
    names = [t.get("name") for t in req.get("tools") or []]
    choice = req.get("tool_choice")
    if choice is not None and choice.get("type") == "tool" and choice.get("name") not in names:
        return f"tool_choice.name: '{choice.get('name')}' is not one of the tools"
    for t in req.get("tools") or []:
        if not isinstance(t.get("input_schema"), dict) or t["input_schema"].get("type") != "object":
            return "tools.input_schema: must be a JSON schema of type object"
    return None


class AnthropicServer(LocalServer):
    """Serve the Messages API on ``127.0.0.1:port`` in a background thread (``with`` or start/stop)."""

    def __init__(
        self, *, script: tuple[str, ...] = (), retry_after: float = 0.0, api_key: str = "test-key", **kw: Any
    ) -> None:
        super().__init__(model=kw.pop("model", "claude-local"), **kw)
        self.script = list(script)
        self.retry_after = retry_after
        self.api_key = api_key
        self.log: list[tuple[float, int, Any]] = []

    async def _respond(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple:
        if method != "POST" or path.rstrip("/") != "/v1/messages":
            return _error(404, "not_found_error", f"no route {method} {path}")
        try:
            req = json.loads(body)
        except ValueError:
            req = None
        status, payload, extra = self._answer(headers, req)
        self.log.append((time.monotonic(), status, req))
        self.stats[str(status)] += 1
        return status, payload, extra

    def _answer(self, headers: dict[str, str], req: Any) -> tuple:
        if headers.get("x-api-key") != self.api_key:
            return _error(401, "authentication_error", "invalid x-api-key")
        if headers.get("anthropic-version") != VERSION:
            return _error(400, "invalid_request_error", "anthropic-version header is required")
        problem = _problem(req)
        if problem is not None:
            return _error(400, "invalid_request_error", problem)
        after = {"retry-after": f"{self.retry_after:g}"}
        fault = self.script.pop(0) if self.script else None
        if fault == "429":
            return _error(
                429, "rate_limit_error", "Number of request tokens has exceeded your rate limit", after
            )
        if fault == "529":
            return _error(529, "overloaded_error", "Overloaded", after)
        seed = json.dumps([req.get("system"), req["messages"]], sort_keys=True)
        tools = {t["name"]: t for t in req.get("tools") or []}
        choice = req.get("tool_choice") or {}
        if choice.get("type") == "tool":
            schema = tools[choice["name"]]["input_schema"]
            value = answer_for(schema, seed)
            if fault == "malformed":
                first = next(iter(schema.get("properties", {})), None)
                value = {k: v for k, v in value.items() if k != first}
                value["unexpected"] = "not in the schema"
            block: dict[str, Any] = {
                "type": "tool_use",
                "id": "toolu_" + hashlib.sha256(seed.encode()).hexdigest()[:24],
                "name": choice["name"],
                "input": value,
            }
            stop = "tool_use"
        else:
            block = {"type": "text", "text": json.dumps(answer_for(None, seed))}
            stop = "end_turn"
        self.stats["answered"] += 1
        text = json.dumps(block)
        return (
            200,
            {
                "id": "msg_" + hashlib.sha256(seed.encode()).hexdigest()[:24],
                "type": "message",
                "role": "assistant",
                "model": req["model"],
                "content": [block],
                "stop_reason": stop,
                "stop_sequence": None,
                "usage": {"input_tokens": max(1, len(seed) // 4), "output_tokens": max(1, len(text) // 4)},
            },
            {},
        )
