"""Whether this Python's anthropic SDK and pydantic-ai can serve a model together.

Our models are pydantic-ai's ``AnthropicModel`` over the anthropic SDK, both as
the host installed them. Some hosts, installed today, pair them so that no
request can be built: Code Puppy 0.0.721–0.0.749 declare ``anthropic>=0.108.0``
with no upper bound beside ``pydantic-ai-slim==2.31.0``, so pip installs
anthropic 2.x, whose ``BetaMessageParam`` is a ``Union`` pydantic-ai cannot
instantiate and whose ``messages.create()`` no longer takes ``temperature``.

What a caller may rely on:

* :func:`check` answers once per process (cached), when the first model is
  built, never at import: it runs pydantic-ai's real ``AnthropicModel`` over
  the real SDK for one streamed request (what Code Puppy's agent sends),
  answered in memory by a transport of the SDK's own HTTP library
  (:func:`sdk_http`) — no socket, no credential. Most of its cost is the SDK
  building validators for its answer types, which the first real request would
  build anyway (``benchmarks/host_stack.py``). It detects what the two can do
  together, not version numbers: any failure to import, build the request, send
  it or read the canned answer back makes :attr:`HostStack.problem` say so
  (``pydantic-ai-slim 2.31.0 cannot drive anthropic 2.17.0``;
  :attr:`HostStack.cause` holds what failed). Versions are read (from installed
  metadata) only to name them.
* :attr:`HostStack.fix` is one shell command that repairs the pairing: the SDK
  release line pydantic-ai is written for — ``anthropic<1`` (the SDK's only
  line on ``httpx``) when pydantic-ai is built on ``httpx``; else the line
  below the installed major (``anthropic<2`` for anthropic 2.x: measured with
  pydantic-ai-slim 2.51.0) — installed with this Python's pip (``pipx inject`` in
  a pipx app's environment, ``uv pip`` in one uv made: neither has pip).
* :func:`unusable_model` is what :func:`~.anthropic_model.build_model` returns in
  such an environment: every request fails with
  :class:`~claude_code_oauth.errors.HostStackMismatch` through the host's
  ``on_failure``, so inside Code Puppy the turn's answer is our one line — never
  pydantic-ai's ``TypeError`` and a traceback.
* Without pydantic-ai installed (the plain ``claude-code-oauth`` command) there
  is nothing to check: :func:`check` says so without importing anything.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shlex
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ClaudeOAuthError, HostStackMismatch

if TYPE_CHECKING:  # the probe imports pydantic-ai only when it runs
    from pydantic_ai.messages import ModelMessage

#: The probe's model id and base URL: nothing is ever sent there (in-memory transport).
PROBE_MODEL = "claude-host-stack-probe"
PROBE_URL = "http://host-stack-probe.invalid"
_PING = "ping"
_PONG = "pong"
#: An upper bound, never reached in practice: the probe is in memory. Past it the
#: answer is "could not be checked", which blocks nothing.
_PROBE_DEADLINE = 60.0


@dataclass(frozen=True)
class HostStack:
    """What :func:`check` found; ``cause`` is ``None`` when the two work together."""

    #: Installed versions, ``None`` when absent (``pydantic_ai``: its distribution's).
    anthropic: str | None
    pydantic_ai: str | None
    #: ``"httpx2 2.17.0"``: the HTTP library the SDK is built on, and its version.
    http: str | None
    #: The distribution pydantic-ai came in (``pydantic-ai-slim`` in Code Puppy).
    pydantic_dist: str = "pydantic-ai-slim"
    #: What failed, for the doctor (``TypeError: Cannot instantiate typing.Union``).
    cause: str | None = None
    #: The shell command that repairs it (``None`` when nothing failed).
    fix: str | None = None

    @property
    def present(self) -> bool:
        """Whether pydantic-ai is installed at all (else there is nothing to check)."""
        return self.pydantic_ai is not None

    @property
    def problem(self) -> str | None:
        """``pydantic-ai-slim 2.31.0 cannot drive anthropic 2.17.0``, or ``None``."""
        if self.cause is None:
            return None
        who = f"{self.pydantic_dist} {self.pydantic_ai}"
        if self.anthropic is None:
            return f"{who} is installed without the anthropic SDK"
        return f"{who} cannot drive anthropic {self.anthropic}"

    def describe(self) -> str:
        """``anthropic 1.17.0 (on httpx2 2.17.0), pydantic-ai-slim 2.51.0``."""
        sdk = f"anthropic {self.anthropic}" if self.anthropic else "no anthropic SDK"
        on = f" (on {self.http})" if self.http else ""
        return f"{sdk}{on}, {self.pydantic_dist} {self.pydantic_ai}"

    def error(self) -> HostStackMismatch:
        """The named error a request meets here (only when something failed)."""
        return HostStackMismatch(
            f"This Python's {self.problem}, so no Anthropic model can run here.",
            hint=f"Fix: `{self.fix}`, then restart Code Puppy.",
        )


@functools.cache
def sdk_http() -> Any:
    """The HTTP library the installed anthropic SDK is built on, which its
    ``http_client`` must come from: ``httpx2`` for anthropic 1.x and later,
    ``httpx`` for 0.x (Code Puppy 0.0.716 installs anthropic 0.79). Detected, not
    assumed."""
    import importlib

    import anthropic

    for cls in anthropic.DefaultAsyncHttpxClient.__mro__:
        root = cls.__module__.split(".")[0]
        if cls.__name__ == "AsyncClient" and root in ("httpx", "httpx2"):
            return importlib.import_module(root)
    raise ClaudeOAuthError(
        "The installed anthropic SDK is built on neither httpx nor httpx2; "
        "claude-code-oauth models cannot use it."
    )


def _version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _pydantic_ai_dist() -> tuple[str, str | None]:
    """Which distribution holds pydantic-ai here, and its version."""
    for dist in ("pydantic-ai-slim", "pydantic-ai"):
        version = _version(dist)
        if version is not None:
            return dist, version
    return "pydantic-ai-slim", None


def _pydantic_ai_http(dist: str) -> str | None:
    """The HTTP library pydantic-ai itself is built on (its unconditional requirement)."""
    from importlib import metadata

    try:
        requires = metadata.requires(dist) or []
    except metadata.PackageNotFoundError:
        return None
    names = {
        match.group(0).lower()
        for line in requires
        if ";" not in line and (match := re.match(r"[A-Za-z0-9_.-]+", line))
    }
    return "httpx2" if "httpx2" in names else "httpx" if "httpx" in names else None


def _major(version: str | None) -> int | None:
    match = re.match(r"(\d+)\.", version or "")
    return int(match.group(1)) if match else None


def fix_constraint(anthropic_version: str | None, pydantic_http: str | None) -> str:
    """The SDK release line pydantic-ai is written for (see the module docstring)."""
    if pydantic_http == "httpx":
        return "anthropic<1"
    return f"anthropic<{max(2, _major(anthropic_version) or 0)}"


def _pipx_app(prefix: str) -> str | None:
    """The app whose pipx environment ``prefix`` is (pipx keeps no pip in it), or ``None``."""
    try:
        with open(os.path.join(prefix, "pipx_metadata.json"), encoding="utf-8") as handle:
            app = json.load(handle)["main_package"]["package"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return app if isinstance(app, str) and re.fullmatch(r"[A-Za-z0-9_.-]+", app) else None


def _made_by_uv(prefix: str) -> bool:
    try:
        with open(os.path.join(prefix, "pyvenv.cfg"), encoding="utf-8") as handle:
            return any(re.match(r"uv\s*=", line) for line in handle)
    except OSError:
        return False


def install_command(requirement: str, python: str | None = None, prefix: str | None = None) -> str:
    """The shell command that installs ``requirement`` into this Python's environment:
    ``pipx inject --force APP`` in a pipx app's, ``uv pip install --python PYTHON`` in
    one uv made (neither has pip), else ``PYTHON -m pip install``."""
    prefix = prefix or sys.prefix
    python = shlex.quote(python or sys.executable)
    quoted = shlex.quote(requirement)
    app = _pipx_app(prefix)
    if app is not None:
        return f"pipx inject --force {app} {quoted}"
    if _made_by_uv(prefix):
        return f"uv pip install --python {python} {quoted}"
    return f"{python} -m pip install {quoted}"


# -- the probe ----------------------------------------------------------------------


def _answer_json() -> dict[str, Any]:
    return {
        "id": "msg_host_stack_probe",
        "type": "message",
        "role": "assistant",
        "model": PROBE_MODEL,
        "content": [{"type": "text", "text": _PONG}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }


def _answer_events() -> bytes:
    """The same answer as a stream of server-sent events."""
    text_block = {"type": "text", "text": ""}
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"message": dict(_answer_json(), content=[], stop_reason=None)}),
        ("content_block_start", {"index": 0, "content_block": text_block}),
        ("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": _PONG}}),
        ("content_block_stop", {"index": 0}),
        (
            "message_delta",
            {
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 1},
            },
        ),
        ("message_stop", {}),
    ]
    return "".join(
        f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n" for name, data in events
    ).encode()


class _ProbeFailed(Exception):
    """The round trip ran but its request or answer was not what it must be."""


def _sent_ping(body: dict[str, Any]) -> bool:
    messages = body.get("messages") or []
    if not messages or messages[-1].get("role") != "user":
        return False
    return _PING in json.dumps(messages[-1].get("content"))


def _text_of(response: Any) -> str:
    return "".join(str(getattr(p, "content", "")) for p in getattr(response, "parts", []))


async def _round_trip() -> None:
    """pydantic-ai's AnthropicModel over the SDK: one streamed request, read to the end."""
    import anthropic
    from pydantic_ai.messages import ModelRequest
    from pydantic_ai.models import ModelRequestParameters
    from pydantic_ai.models.anthropic import AnthropicModel
    from pydantic_ai.providers.anthropic import AnthropicProvider

    http_lib = sdk_http()
    bodies: list[dict[str, Any]] = []

    def answer(request: Any) -> Any:
        bodies.append(json.loads(request.content))
        headers = {"content-type": "text/event-stream"}
        return http_lib.Response(200, headers=headers, content=_answer_events())

    http_client = http_lib.AsyncClient(transport=http_lib.MockTransport(answer))
    client = anthropic.AsyncAnthropic(
        base_url=PROBE_URL, api_key="not-a-key", max_retries=0, http_client=http_client
    )
    model = AnthropicModel(PROBE_MODEL, provider=AnthropicProvider(anthropic_client=client))
    messages: list[ModelMessage] = [ModelRequest.user_text_prompt(_PING)]
    try:
        async with model.request_stream(messages, None, ModelRequestParameters()) as stream:
            async for _ in stream:
                pass
            streamed = stream.get()
    finally:
        await http_client.aclose()
    if len(bodies) != 1 or not bodies[0].get("stream") or not _sent_ping(bodies[0]):
        raise _ProbeFailed("the request it builds does not carry the prompt")
    if _text_of(streamed) != _PONG:
        raise _ProbeFailed("it does not read the SDK's answer back")


def _run_probe() -> BaseException | None:
    """The probe's failure, or ``None`` (also when it could not finish in time). In a
    thread of its own, with its own event loop: a model may be built inside a running
    loop."""
    import asyncio

    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            asyncio.run(_round_trip())
            outcome.append(None)
        except BaseException as exc:  # the probe's whole point: any failure is an answer
            outcome.append(exc)

    worker = threading.Thread(target=run, name="claude-code-oauth-host-stack", daemon=True)
    worker.start()
    worker.join(_PROBE_DEADLINE)
    return outcome[0] if outcome else None


def _summary(exc: BaseException) -> str:
    """``TypeError: Cannot instantiate typing.Union`` (first line, bounded)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if len(text) > 120:
        text = text[:117] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@functools.cache
def check() -> HostStack:
    """What this process's anthropic SDK and pydantic-ai can do together (once per
    process; see the module docstring)."""
    import importlib.util

    dist, pydantic_version = _pydantic_ai_dist()
    anthropic_version = _version("anthropic")
    if importlib.util.find_spec("pydantic_ai") is None:
        return HostStack(anthropic_version, None, None, dist)
    http = None
    failure: BaseException | None
    try:
        http_lib = sdk_http()
        http = f"{http_lib.__name__} {_version(http_lib.__name__) or '?'}"
        failure = _run_probe()
    except BaseException as exc:  # an SDK that cannot be imported is an answer too
        failure = exc
    stack = HostStack(anthropic_version, pydantic_version or "?", http, dist)
    if failure is None:
        return stack
    cause = str(failure) if isinstance(failure, _ProbeFailed) else _summary(failure)
    fix = install_command(fix_constraint(anthropic_version, _pydantic_ai_http(dist)))
    return HostStack(anthropic_version, pydantic_version or "?", http, dist, cause, fix)


def mismatch() -> HostStackMismatch | None:
    """The named error every request meets in this Python, or ``None`` (they work)."""
    stack = check()
    return stack.error() if stack.cause is not None else None


def unusable_model(model_name: str, error: ClaudeOAuthError, on_failure: Any) -> Any:
    """A pydantic-ai model whose every request fails with ``error`` through
    ``on_failure`` (see :mod:`.model_failures`): answered as ``[claude-code-oauth]
    <line>`` when the host says so, else raised."""
    from pydantic_ai.messages import ModelResponse, TextPart
    from pydantic_ai.models.function import FunctionModel

    from .model_failures import REPLY_PREFIX

    def outcome() -> str:
        decided = on_failure(error, error, True)
        if isinstance(decided, str):
            return REPLY_PREFIX + " ".join(decided.split())
        raise decided

    async def answer(messages: Any, info: Any) -> Any:
        return ModelResponse(parts=[TextPart(content=outcome())])

    async def stream(messages: Any, info: Any) -> Any:
        yield outcome()

    return FunctionModel(answer, stream_function=stream, model_name=model_name)
