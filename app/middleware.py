"""ASGI middleware: request ids, the request-body cap, and one access-log line per request.

Pure ASGI (not BaseHTTPMiddleware): bodies are counted as they arrive, and a JSON body's
nesting depth is checked before any parser recurses into it.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import (
    AppError,
    JsonTooDeep,
    NulCharacter,
    PayloadTooLarge,
    UnpairedSurrogate,
    error_body,
    internal_error_body,
    log_unexpected,
)
from app.request_context import reset_request_id, set_request_id

access_logger = logging.getLogger("madoguchi.access")
_REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class _BodyTooLarge(Exception):
    pass


@dataclass(frozen=True)
class BodyLimit:
    """A route whose body may be larger than the general cap: the method and the exact
    path shape, and its own cap. Its body is streamed to the route, never read whole."""

    method: str
    path: re.Pattern[str]
    max_bytes: int


class RequestContextMiddleware:
    """Gives every request an id (a well-formed incoming `X-Request-ID` is kept), returns
    it in `X-Request-ID`, refuses bodies over the cap with 413, and logs method, path
    template-free path, status and duration. Query strings are never logged: they may
    carry personal data."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_json_depth: int,
        body_limits: Sequence[BodyLimit] = (),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_json_depth = max_json_depth
        self.body_limits = tuple(body_limits)

    def _body_limit(self, scope: Scope) -> int:
        for limit in self.body_limits:
            if scope.get("method") == limit.method and limit.path.fullmatch(
                str(scope.get("path", ""))
            ):
                return limit.max_bytes
        return self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        incoming = _header(scope, b"x-request-id")
        request_id = (
            incoming if incoming and _REQUEST_ID_PATTERN.match(incoming) else uuid.uuid4().hex
        )
        token = set_request_id(request_id)
        started = time.perf_counter()
        status_holder: dict[str, int] = {"status": 0}
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        max_body_bytes = self._body_limit(scope)
        try:
            declared = _header(scope, b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
                await self._refuse(scope, send_with_id, _too_large(max_body_bytes))
                return

            if _has_nul_in_url(scope):
                await self._refuse(scope, send_with_id, _nul_character())
                return

            if _is_json(scope) or _is_form(scope):
                # JSON and form bodies are read whole (they are capped anyway) so their
                # nesting depth and NULs are checked before any parser sees them.
                try:
                    body = await _read_body(receive, self.max_body_bytes)
                except _BodyTooLarge:
                    await self._refuse(scope, send_with_id, _too_large(self.max_body_bytes))
                    return
                if _is_json(scope) and json_nesting_depth(body) > self.max_json_depth:
                    await self._refuse(scope, send_with_id, _too_deep(self.max_json_depth))
                    return
                if _has_nul_in_body(body, form=_is_form(scope)):
                    await self._refuse(scope, send_with_id, _nul_character())
                    return
                if _is_json(scope) and has_unpaired_surrogate(body):
                    await self._refuse(scope, send_with_id, _unpaired_surrogate())
                    return
                await self.app(scope, _replay(body, receive), send_with_id)
                return

            received = 0

            async def capped_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > max_body_bytes:
                        raise _BodyTooLarge
                return message

            try:
                await self.app(scope, capped_receive, send_with_id)
            except _BodyTooLarge:
                if response_started:
                    raise
                await self._refuse(scope, send_with_id, _too_large(max_body_bytes))
        except Exception as exc:
            # Handled here rather than by Starlette's ServerErrorMiddleware, which would
            # re-raise and let the server log the message (possibly personal data).
            log_unexpected(exc)
            if not response_started:
                await _send_problem(send_with_id, internal_error_body(scope.get("path")))
        finally:
            access_logger.info(
                "%s %s %s %.1fms",
                scope.get("method", "-"),
                scope.get("path", "-"),
                status_holder["status"],
                (time.perf_counter() - started) * 1000,
            )
            reset_request_id(token)

    async def _refuse(self, scope: Scope, send: Send, error: AppError) -> None:
        await _send_problem(send, error_body(error, scope.get("path")))


def _too_large(max_body_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The request body must be at most {max_body_bytes} bytes.",
        f"送信できるデータは{max_body_bytes}バイトまでです。",
    )


def _too_deep(max_json_depth: int) -> JsonTooDeep:
    return JsonTooDeep(
        f"JSON may be nested at most {max_json_depth} levels deep.",
        f"JSONの入れ子は{max_json_depth}段までです。",
    )


def _nul_character() -> NulCharacter:
    return NulCharacter(
        "Remove the U+0000 character from the URL or the body.",
        "URLまたは本文からU+0000の文字を取り除いてください。",
    )


def _unpaired_surrogate() -> UnpairedSurrogate:
    return UnpairedSurrogate(
        "Remove the unpaired surrogate (a \\ud800-\\udfff escape or its bytes without "
        "its pair) from the body.",
        "本文から対になっていないサロゲート（\\ud800〜\\udfff）を取り除いてください。",
    )


async def _send_problem(send: Send, body: dict[str, object]) -> None:
    payload = json.dumps(body, ensure_ascii=False).encode()
    status = int(str(body["status"]))
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def json_nesting_depth(body: bytes) -> int:
    """The deepest nesting of arrays/objects in a JSON text (strings skipped)."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_JSON_STRING.sub(b"", body)):
        if bracket in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


# A JSON string: escapes skipped, so an escaped quote does not end it; an unterminated
# one runs to the end of the text. Replaced by nothing before the brackets are counted:
# scanned by the regular expression engine, not byte by byte in Python.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


# PostgreSQL text and JSONB cannot hold U+0000: refused at the door, not as a driver
# error deep in a query. JSON may escape it (an odd run of backslashes before u0000).
_JSON_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


# A surrogate escape (\ud800-\udfff) or a surrogate's UTF-8 bytes (ED A0-BF ..), which
# Python's json reads without complaint; only then is the body parsed to see whether
# each one is half of a pair.
_SURROGATE_HINT = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")


def has_unpaired_surrogate(body: bytes) -> bool:
    """True when the JSON text holds a lone UTF-16 surrogate, which PostgreSQL refuses
    with a driver error. A body that is not JSON at all is left to the route's 422."""
    if _SURROGATE_HINT.search(body) is None:
        return False
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return False
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _has_nul_in_url(scope: Scope) -> bool:
    query: bytes = scope.get("query_string", b"")
    return "\x00" in str(scope.get("path", "")) or b"%00" in query or b"\x00" in query


def _has_nul_in_body(body: bytes, *, form: bool) -> bool:
    if b"\x00" in body:
        return True
    if form:
        return b"%00" in body
    return b"\\u0000" in body and _JSON_NUL_ESCAPE.search(body) is not None


def _is_form(scope: Scope) -> bool:
    content_type = (_header(scope, b"content-type") or "").lower()
    return scope.get("method") in {"POST", "PUT", "PATCH"} and content_type.startswith(
        "application/x-www-form-urlencoded"
    )


def _is_json(scope: Scope) -> bool:
    """FastAPI also parses a body sent without any Content-Type as JSON."""
    content_type = _header(scope, b"content-type")
    return scope.get("method") in {"POST", "PUT", "PATCH"} and (
        content_type is None or "json" in content_type.lower()
    )


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive_after: Receive) -> Receive:
    """Hands the app the body already read, then passes on what the client sends next
    (a disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive_after()

    return receive


def _header(scope: Scope, name: bytes) -> str | None:
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


# The API only ever answers JSON: nothing in a response may load, run or be framed.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The web client's pages: their own scripts, styles and images, nothing from elsewhere.
WEB_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# FastAPI's /docs page loads Swagger UI from its CDN with an inline bootstrap script.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https:; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
_API_PATHS = ("/api/", "/healthz", "/readyz", "/openapi.json")


class SecurityHeadersMiddleware:
    """Adds the browser security headers to every response: no MIME sniffing, no
    framing, no referrer beyond the origin, a CSP per kind of page, and HSTS when the
    service is public over https. A header a route set itself is left alone."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self._headers_for(str(scope.get("path", "")))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {key.lower() for key, _ in headers}
                headers += [(key, value) for key, value in extra if key not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _headers_for(self, path: str) -> list[tuple[bytes, bytes]]:
        if path.startswith(_API_PATHS):
            csp = API_CSP
        elif path.startswith(("/docs", "/redoc")):
            csp = DOCS_CSP
        else:
            csp = WEB_CSP
        headers = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
            (b"content-security-policy", csp.encode()),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        ]
        if self.hsts:
            headers.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))
        return headers
