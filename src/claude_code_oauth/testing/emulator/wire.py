"""Request and response values passed between the emulator's HTTP layer and its routes.

Routes are plain functions ``(state, Request) -> Response`` so they can be read
(and reasoned about) without the socket handling around them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

_JSON = "application/json"
_HTML = "text/html; charset=utf-8"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the emulator received it, kept for assertions.

    ``path`` never includes the query string. ``headers`` has lower-case names
    (the last value wins when a header is repeated). ``json`` is the parsed body
    when it was valid JSON, else ``None``. ``query`` maps each parameter name to
    its first value. :attr:`betas` and :attr:`speed` are what a Messages request
    asked for beyond the basics.
    """

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    query: dict[str, str] = field(default_factory=dict)

    @property
    def betas(self) -> list[str]:
        """The betas it carried (``anthropic-beta``), in the order sent."""
        return [b.strip() for b in self.headers.get("anthropic-beta", "").split(",") if b.strip()]

    @property
    def speed(self) -> Any:
        """The ``speed`` of its JSON body (``None`` when absent)."""
        return self.json.get("speed") if isinstance(self.json, dict) else None


@dataclass
class Request:
    """A parsed incoming request. ``query`` keeps every value of repeated parameters."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    request_id: str
    #: The injected fault that does not replace this request's answer but changes how
    #: the route answers it (``no_refresh_token``), if any.
    fault: str | None = None

    def first(self, name: str) -> str | None:
        """The first value of query parameter ``name``, or ``None``."""
        values = self.query.get(name)
        return values[0] if values else None

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower case (``""`` when absent)."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def json_body(self) -> Any:
        """The body parsed as JSON, or ``None`` when it is empty or not JSON."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None


@dataclass
class Response:
    """What to send back. ``headers`` are extra headers besides Content-Type/Length."""

    status: int
    body: bytes = b""
    content_type: str = _JSON
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(payload).encode(), _JSON, dict(headers or {}))


def html_response(status: int, page: str, headers: dict[str, str] | None = None) -> Response:
    extra = {"Cache-Control": "no-store"}
    extra.update(headers or {})
    return Response(status, page.encode(), _HTML, extra)


def redirect_response(location: str) -> Response:
    return Response(302, b"", _HTML, {"Location": location, "Cache-Control": "no-store"})


def with_query(url: str, params: dict[str, str]) -> str:
    """``url`` with ``params`` appended, keeping any query it already has."""
    joiner = "&" if "?" in url else "?"
    return url + joiner + urlencode(params)


def anthropic_error(
    status: int,
    error_type: str,
    message: str,
    headers: dict[str, str] | None = None,
    *,
    details: dict[str, Any] | None = None,
    **fields: Any,
) -> Response:
    """The Anthropic API error envelope ``{"type": "error", "error": {...}}``; ``details``
    (``error_code``, ``error_visibility``, …) and other ``fields`` go inside ``error``."""
    error: dict[str, Any] = {"type": error_type, "message": message, **fields}
    if details is not None:
        error["details"] = details
    return json_response(status, {"type": "error", "error": error}, headers)


def oauth_error(status: int, error: str, description: str, uri: str | None = None) -> Response:
    """An RFC 6749 §5.2 token-endpoint error (with ``error_uri`` when given)."""
    payload = {"error": error, "error_description": description}
    if uri is not None:
        payload["error_uri"] = uri
    return json_response(status, payload, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def sse(event: str, data: dict[str, Any]) -> str:
    """One server-sent event as the Messages API streams it."""
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def stream_opening(message_id: str, model: str, input_tokens: int) -> list[str]:
    """The events every Messages stream starts with: ``message_start``, an empty
    text ``content_block_start``, and the ``ping`` the API interleaves."""
    start: dict[str, Any] = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": 1},
    }
    text = {"type": "text", "text": ""}
    block = {"type": "content_block_start", "index": 0, "content_block": text}
    return [
        sse("message_start", {"type": "message_start", "message": start}),
        sse("content_block_start", block),
        sse("ping", {"type": "ping"}),
    ]
