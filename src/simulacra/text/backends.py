"""LLM backends: the embedded llama.cpp model, any OpenAI-compatible server, and Anthropic.

A backend turns a :class:`Request` into a :class:`Completion` (text and token counts) and says,
by raising :class:`BackendError`, whether a failure is worth retrying (``retryable``) and whether the
server is overloaded (``overload``: 429, 503, 529), which makes the runner halve its concurrency.

API keys are read from environment variables at request time and never stored on the backend object,
written to disk or put in an error message.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .gguf import cache_dir, default_model_path, native_stderr_silenced
from .prompt import Prompt

DEFAULT_MODEL_NAME = "gemma-3-270m-q4_k_m"
__all__ = ["cache_dir", "default_model_path"]  # re-exported from .gguf (where the model file lives)


@dataclass(frozen=True)
class Request:
    """One generation request (the cache key is made of all of it)."""

    prompt: Prompt
    schema: dict[str, Any] | None
    max_tokens: int
    temperature: float
    top_p: float
    seed: int


@dataclass(frozen=True)
class Completion:
    """What a backend returned: the raw text and the tokens counted by the server."""

    text: str
    tokens_in: int
    tokens_out: int
    model: str
    finish_reason: str | None = None


class BackendError(Exception):
    """A request failed. ``retryable``: worth sending again; ``overload``: the server asks to slow down."""

    def __init__(
        self, message: str, *, retryable: bool, overload: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.retryable, self.overload, self.retry_after = retryable, overload, retry_after


class Backend:
    """The interface the runner drives."""

    name = "backend"
    model = "unknown"
    max_concurrency = 1
    structured = True  # does the backend constrain output to the JSON schema?

    async def complete(self, request: Request) -> Completion:  # pragma: no cover - interface
        raise NotImplementedError

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` (an estimate of 4 characters a token unless the backend knows better)."""
        return max(1, len(text) // 4)

    def cache_identity(self) -> dict[str, Any]:
        """What, besides the request, makes an answer: the model and how it is asked."""
        return {"backend": self.name, "model": self.model}

    async def aclose(self) -> None:
        """Release connections or the loaded model."""


# --------------------------------------------------------------------------------------------------
# embedded llama.cpp


class LlamaCppBackend(Backend):
    """The embedded default: llama.cpp in-process through llama-cpp-python, few-shot completion plus a
    grammar compiled from the JSON schema. One request at a time (the model is not re-entrant); the
    call runs in a worker thread so the event loop keeps writing results."""

    name = "embedded"

    def __init__(
        self,
        model_path: str | os.PathLike | None = None,
        *,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        structured: bool = True,
    ) -> None:
        try:
            from llama_cpp import Llama
        except ImportError:
            raise UsageError(
                "the embedded backend needs llama-cpp-python: pip install 'simulacra[local-llm]', "
                "or use --backend openai with a server"
            ) from None
        path = Path(model_path) if model_path is not None else default_model_path()
        if not path.is_file():
            raise UsageError(f"--model {path}: no such GGUF file")
        self.path = path
        self.model = DEFAULT_MODEL_NAME if model_path is None else path.stem
        self.structured = structured
        threads = n_threads or max(1, (os.cpu_count() or 2) // 2)  # llama.cpp's default: half the cores
        try:
            with native_stderr_silenced():  # llama.cpp prints notes from C even when verbose=False
                self.llm = Llama(str(path), n_ctx=n_ctx, n_threads=threads, verbose=False, seed=0)
        except Exception as exc:  # noqa: BLE001 - llama.cpp raises ValueError/RuntimeError on bad files
            raise UsageError(f"--model {path}: llama.cpp cannot load it ({exc})") from None
        self.n_ctx = n_ctx
        self._grammars: dict[str, Any] = {}
        self._lock = threading.Lock()

    def grammar(self, schema: dict[str, Any] | None) -> Any:
        """The llama.cpp grammar of ``schema`` (compiled once per distinct schema)."""
        if schema is None or not self.structured:
            return None
        from llama_cpp import LlamaGrammar

        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            self._grammars[key] = LlamaGrammar.from_json_schema(key, verbose=False)
        return self._grammars[key]

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=True, special=False))

    def cache_identity(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.model, "structured": self.structured}

    def complete_sync(self, request: Request) -> Completion:
        """The blocking call (what :meth:`complete` runs in a thread)."""
        prompt_tokens = self.count_tokens(request.prompt.text)
        if prompt_tokens + request.max_tokens > self.n_ctx:
            raise BackendError(
                f"prompt of {prompt_tokens} tokens + max_tokens {request.max_tokens} exceeds the "
                f"context of {self.n_ctx}; lower seeds.k or generation.max_tokens",
                retryable=False,
            )
        with self._lock:
            out = self.llm.create_completion(
                request.prompt.text,
                max_tokens=request.max_tokens,
                temperature=request.temperature,
                top_p=request.top_p,
                seed=request.seed,
                grammar=self.grammar(request.schema),
            )
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        return Completion(
            choice["text"],
            int(usage.get("prompt_tokens", prompt_tokens)),
            int(usage.get("completion_tokens", 0)),
            self.model,
            choice.get("finish_reason"),
        )

    async def complete(self, request: Request) -> Completion:
        return await asyncio.to_thread(self.complete_sync, request)

    async def aclose(self) -> None:
        close = getattr(self.llm, "close", None)
        if close is not None:
            close()


# --------------------------------------------------------------------------------------------------
# HTTP backends


def _classify(status: int, body: str, retry_after: str | None) -> BackendError:
    after = None
    if retry_after:
        try:
            after = float(retry_after)
        except ValueError:
            after = None
    snippet = " ".join(body.split())[:200]
    if status in (429, 503, 529):
        return BackendError(
            f"HTTP {status} (overloaded): {snippet}", retryable=True, overload=True, retry_after=after
        )
    if status >= 500 or status in (408, 409):
        return BackendError(f"HTTP {status}: {snippet}", retryable=True)
    if status in (401, 403):
        return BackendError(
            f"HTTP {status}: the server refused the API key ({snippet}); check the key's "
            "environment variable",
            retryable=False,
        )
    return BackendError(f"HTTP {status}: {snippet}", retryable=False)


class _HttpBackend(Backend):
    def __init__(
        self, base_url: str, model: str, *, api_key_env: str | None, timeout: float, max_concurrency: int
    ) -> None:
        import httpx

        if not base_url.startswith(("http://", "https://")):
            raise UsageError(f"--base-url {base_url!r}: expected http://HOST:PORT/... or https://...")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.max_concurrency = max_concurrency
        limits = httpx.Limits(max_connections=max_concurrency, max_keepalive_connections=max_concurrency)
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)), limits=limits
        )

    def _key(self) -> str | None:
        return os.environ.get(self.api_key_env) if self.api_key_env else None

    async def _post(self, path: str, payload: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        import httpx

        try:
            resp = await self.client.post(self.base_url + path, json=payload, headers=headers)
        except httpx.TimeoutException:
            raise BackendError(f"timed out after {self.timeout:g} s", retryable=True) from None
        except httpx.TransportError as exc:
            raise BackendError(f"connection failed ({type(exc).__name__}: {exc})", retryable=True) from None
        if resp.status_code != 200:
            raise _classify(resp.status_code, resp.text, resp.headers.get("retry-after"))
        try:
            data = resp.json()
        except ValueError:
            raise BackendError(
                "the server answered with something that is not JSON", retryable=True
            ) from None
        if not isinstance(data, dict):
            raise BackendError("the server answered with an unexpected JSON shape", retryable=True)
        return data

    async def aclose(self) -> None:
        await self.client.aclose()


class OpenAIBackend(_HttpBackend):
    """Any OpenAI-compatible server (OpenAI, vLLM, Ollama, llama.cpp's servers).

    ``api``: ``chat`` (``/chat/completions``, messages) or ``completions`` (``/completions``, the
    few-shot text; right for base models). ``structured`` says how the JSON schema is sent:
    ``json_schema`` (OpenAI's ``response_format``), ``json_object`` (``{"type": "json_object",
    "schema": ...}``, llama-cpp-python's server), ``grammar`` (a GBNF grammar compiled locally, for
    llama-cpp-python's ``/completions``), or ``none`` (the answer is only validated).
    """

    name = "openai"

    def __init__(
        self,
        base_url: str = "https://api.openai.com/v1",
        model: str = "gpt-4o-mini",
        *,
        api: str = "chat",
        structured: str = "json_schema",
        api_key_env: str | None = "OPENAI_API_KEY",
        timeout: float = 120.0,
        max_concurrency: int = 16,
    ) -> None:
        if api not in ("chat", "completions"):
            raise UsageError(f"--api {api!r}: choose chat or completions")
        if structured not in ("json_schema", "json_object", "grammar", "none"):
            raise UsageError(f"--structured {structured!r}: choose json_schema, json_object, grammar or none")
        super().__init__(
            base_url, model, api_key_env=api_key_env, timeout=timeout, max_concurrency=max_concurrency
        )
        self.api, self.structured_mode = api, structured
        self.structured = structured != "none"
        self._gbnf: dict[str, str] = {}

    def cache_identity(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "model": self.model,
            "api": self.api,
            "structured": self.structured_mode,
            "base_url": self.base_url,
        }

    def _grammar(self, schema: dict[str, Any]) -> str:
        key = json.dumps(schema, sort_keys=True)
        if key not in self._gbnf:
            try:
                from llama_cpp.llama_grammar import json_schema_to_gbnf
            except ImportError:
                raise UsageError(
                    "--structured grammar compiles the grammar with llama-cpp-python: "
                    "pip install 'simulacra[local-llm]', or use json_schema/json_object"
                ) from None
            self._gbnf[key] = json_schema_to_gbnf(key)
        return self._gbnf[key]

    def payload(self, request: Request) -> tuple[str, dict[str, Any]]:
        """The endpoint path and JSON body of ``request``."""
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "seed": request.seed,
        }
        schema, mode = request.schema, self.structured_mode
        if self.api == "chat":
            path = "/chat/completions"
            body["messages"] = list(request.prompt.messages)
        else:
            path = "/completions"
            body["prompt"] = request.prompt.text
        if schema is not None and mode == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": schema, "strict": True},
            }
        elif schema is not None and mode == "json_object":
            body["response_format"] = {"type": "json_object", "schema": schema}
        elif schema is not None and mode == "grammar":
            body["grammar"] = self._grammar(schema)
        return path, body

    async def complete(self, request: Request) -> Completion:
        path, body = self.payload(request)
        headers = {}
        key = self._key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        data = await self._post(path, body, headers)
        try:
            choice = data["choices"][0]
            text = choice["message"]["content"] if self.api == "chat" else choice["text"]
            if text is None:
                raise TypeError("no content")
        except (KeyError, IndexError, TypeError):
            raise BackendError("the server's answer has no choices[0] text", retryable=True) from None
        usage = data.get("usage") or {}
        return Completion(
            str(text),
            int(usage.get("prompt_tokens") or self.count_tokens(str(body))),
            int(usage.get("completion_tokens") or self.count_tokens(str(text))),
            str(data.get("model") or self.model),
            choice.get("finish_reason"),
        )


class AnthropicBackend(_HttpBackend):
    """Anthropic's Messages API. ``structured``: ``tool`` (the default) enforces the JSON schema by
    forcing one tool call whose input is the answer; ``none`` asks for text that is only validated.
    The key comes from ``ANTHROPIC_API_KEY`` (or ``api_key_env``)."""

    name = "anthropic"

    def __init__(
        self,
        model: str = "claude-3-5-haiku-latest",
        *,
        base_url: str = "https://api.anthropic.com/v1",
        structured: str = "tool",
        api_key_env: str = "ANTHROPIC_API_KEY",
        timeout: float = 120.0,
        max_concurrency: int = 8,
    ) -> None:
        if structured not in ANTHROPIC_STRUCTURED:
            raise UsageError(
                f"--structured {structured}: the anthropic backend constrains answers by forcing a tool "
                "call; choose tool (the default) or none"
            )
        if not os.environ.get(api_key_env):
            raise UsageError(
                f"--backend anthropic: set the API key in the environment variable {api_key_env}"
            )
        super().__init__(
            base_url, model, api_key_env=api_key_env, timeout=timeout, max_concurrency=max_concurrency
        )
        self.structured_mode = structured
        self.structured = structured == "tool"

    def cache_identity(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.model, "structured": self.structured_mode}

    async def complete(self, request: Request) -> Completion:
        system = next((m["content"] for m in request.prompt.messages if m["role"] == "system"), None)
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "temperature": min(request.temperature, 1.0),
            "messages": [m for m in request.prompt.messages if m["role"] != "system"],
        }
        if system:
            body["system"] = system
        if request.schema is not None and self.structured:
            body["tools"] = [
                {"name": "answer", "description": "Return the answer.", "input_schema": request.schema}
            ]
            body["tool_choice"] = {"type": "tool", "name": "answer"}
        headers = {"x-api-key": self._key() or "", "anthropic-version": "2023-06-01"}
        data = await self._post("/messages", body, headers)
        text = None
        for block in data.get("content") or []:
            if block.get("type") == "tool_use":
                text = json.dumps(block.get("input"), ensure_ascii=False)
                break
            if block.get("type") == "text" and text is None:
                text = block.get("text")
        if text is None:
            raise BackendError("the answer has no text or tool_use block", retryable=True)
        usage = data.get("usage") or {}
        return Completion(
            text,
            int(usage.get("input_tokens", 0)),
            int(usage.get("output_tokens", 0)),
            str(data.get("model") or self.model),
            data.get("stop_reason"),
        )


ANTHROPIC_STRUCTURED = ("tool", "none")
"""How the anthropic backend can be asked for JSON: a forced tool call, or plain text."""


def make_backend(
    kind: str = "embedded",
    *,
    model: str | None = None,
    base_url: str | None = None,
    api: str = "chat",
    structured: str | None = None,
    api_key_env: str | None = None,
    timeout: float = 120.0,
    concurrency: int | None = None,
    n_threads: int | None = None,
) -> Backend:
    """A backend by name: ``embedded`` (llama.cpp), ``openai`` (any compatible server) or ``anthropic``.

    ``api`` and ``structured`` take the values the chosen backend supports; any other value stops
    with a :class:`UsageError` (never ignored): anthropic has only ``api="chat"`` and structured
    ``tool`` or ``none``."""
    if kind == "embedded":
        if base_url:
            raise UsageError("--base-url is for --backend openai or anthropic, not the embedded model")
        if structured not in (None, "grammar", "none"):
            raise UsageError(
                f"--structured {structured}: the embedded model constrains answers with a grammar; "
                "choose grammar (the default) or none"
            )
        return LlamaCppBackend(model, n_threads=n_threads, structured=structured != "none")
    if kind == "openai":
        return OpenAIBackend(
            base_url or "https://api.openai.com/v1",
            model or "gpt-4o-mini",
            api=api,
            structured=structured or "json_schema",
            api_key_env=api_key_env or "OPENAI_API_KEY",
            timeout=timeout,
            max_concurrency=concurrency or 16,
        )
    if kind == "anthropic":
        if api != "chat":
            raise UsageError(
                f"--api {api}: the anthropic backend speaks only the Messages API (chat); drop --api"
            )
        return AnthropicBackend(
            model or "claude-3-5-haiku-latest",
            base_url=base_url or "https://api.anthropic.com/v1",
            structured=structured or "tool",
            api_key_env=api_key_env or "ANTHROPIC_API_KEY",
            timeout=timeout,
            max_concurrency=concurrency or 8,
        )
    raise UsageError(f"--backend {kind!r}: choose embedded, openai or anthropic")
