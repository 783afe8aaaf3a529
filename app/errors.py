"""Errors as RFC 9457 problem+json: a stable machine `code`, titles and details in
English (`title`, `detail`) and Japanese (`title_ja`, `detail_ja`).

Services raise `AppError` subclasses; `install_error_handlers` maps them, and every
framework error, to problem+json in one place. Nothing here echoes request bodies,
so personal data never leaves through an error.
"""

from __future__ import annotations

import functools
import logging
import traceback
from dataclasses import dataclass
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.problem_texts import DETAILS_EN, DETAILS_JA, TITLES_EN, TITLES_JA
from app.request_context import current_request_id

PROBLEM_JSON = "application/problem+json"
logger = logging.getLogger(__name__)


def problem_titles(code: str) -> tuple[str, str]:
    """The English and Japanese title of the problem type `code`."""
    if code not in TITLES_EN or code not in TITLES_JA:
        raise LookupError(f"problem code {code} has no title in app/problem_texts.py")
    return TITLES_EN[code], TITLES_JA[code]


@dataclass(frozen=True)
class FieldError:
    """One problem with one answer or one node of a definition, at a JSON Pointer."""

    path: str
    code: str
    message_ja: str
    message_en: str

    def as_dict(self) -> dict[str, str]:
        return {
            "path": self.path,
            "code": self.code,
            "message_ja": self.message_ja,
            "message_en": self.message_en,
        }


class AppError(Exception):
    """Base of every error a service raises on purpose.

    A subclass that is a problem type of its own names its code, and its status where it
    differs from its base; its titles (and a standing detail, if it has one) come from
    `app.problem_texts`:

        class PaymentNotFound(NotFound, code="PAYMENT_NOT_FOUND"): ...
    """

    status: ClassVar[int] = 400
    code: ClassVar[str] = "BAD_REQUEST"
    title_en: ClassVar[str] = TITLES_EN[code]
    title_ja: ClassVar[str] = TITLES_JA[code]
    default_headers: ClassVar[dict[str, str]] = {}
    """Response headers every instance carries (a 401 gets WWW-Authenticate: Bearer)."""

    def __init_subclass__(cls, *, code: str | None = None, status: int | None = None) -> None:
        super().__init_subclass__()
        if status is not None:
            cls.status = status
        if code is not None:
            cls.code = code
            cls.title_en, cls.title_ja = problem_titles(code)
        if cls.status == 401 and "WWW-Authenticate" not in cls.default_headers:
            # RFC 9110 §11.6.1: every 401 names the scheme that would be accepted.
            cls.default_headers = {**cls.default_headers, "WWW-Authenticate": "Bearer"}

    def __init__(
        self,
        detail_en: str | None = None,
        detail_ja: str | None = None,
        *,
        errors: list[FieldError] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.detail_en = detail_en or DETAILS_EN.get(self.code) or self.title_en
        self.detail_ja = detail_ja or DETAILS_JA.get(self.code) or self.title_ja
        self.errors = errors or []
        self.extra = extra or {}
        self.headers = {**self.default_headers, **(headers or {})}
        super().__init__(f"{self.code}: {self.detail_en}")


class NotFound(AppError, code="NOT_FOUND", status=404): ...


class Conflict(AppError, code="CONFLICT", status=409): ...


class ValidationFailed(AppError, code="VALIDATION_FAILED", status=422): ...


class JsonTooDeep(AppError, code="JSON_TOO_DEEP"): ...


class NulCharacter(AppError, code="NUL_CHARACTER"):
    """U+0000: PostgreSQL text and JSONB cannot hold it."""


class UnpairedSurrogate(AppError, code="UNPAIRED_SURROGATE"):
    """A lone UTF-16 surrogate (`"\\ud800"` in JSON or YAML): no UTF-8 text, so no
    database column, can hold it."""


class PayloadTooLarge(AppError, code="PAYLOAD_TOO_LARGE", status=413): ...


def error_body(error: AppError, instance: str | None = None) -> dict[str, Any]:
    """The problem+json body that tells the client about `error`."""
    body: dict[str, Any] = {
        "type": f"urn:madoguchi:problem:{error.code.lower().replace('_', '-')}",
        "title": error.title_en,
        "title_ja": error.title_ja,
        "status": error.status,
        "code": error.code,
        "detail": error.detail_en,
        "detail_ja": error.detail_ja,
    }
    if instance:
        body["instance"] = instance
    request_id = current_request_id()
    if request_id:
        body["request_id"] = request_id
    if error.errors:
        body["errors"] = [field_error.as_dict() for field_error in error.errors]
    if error.extra:
        body.update(error.extra)
    return body


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM_JSON, headers=headers)


def app_error_response(error: AppError, instance: str | None = None) -> JSONResponse:
    return problem_response(error_body(error, instance), headers=error.headers or None)


def problem_responses(*errors: type[AppError]) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: documents the problem types it may answer with."""
    documented: dict[int | str, dict[str, Any]] = {}
    for error in errors:
        entry = documented.setdefault(
            error.status,
            {
                "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
                "description": "",
            },
        )
        codes = [c for c in entry["description"].split(", ") if c]
        entry["description"] = ", ".join([*codes, error.code])
    return documented


_HTTP_CODES: dict[int, str] = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}
"""The problem code of a framework HTTP error (e.g. an unknown route), by status."""


def _pointer(loc: tuple[Any, ...]) -> str:
    parts = [str(part).replace("~", "~0").replace("/", "~1") for part in loc]
    return "/" + "/".join(parts) if parts else ""


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        return app_error_response(exc, instance=request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            FieldError(
                path=_pointer(tuple(error.get("loc", ()))),
                code=str(error.get("type", "invalid")),
                message_ja="値が正しくありません",
                message_en=str(error.get("msg", "Invalid value")),
            )
            for error in exc.errors()
        ]
        return app_error_response(
            ValidationFailed(
                "The request does not match the expected shape.",
                "リクエストの形式が正しくありません。",
                errors=errors,
            ),
            instance=request.url.path,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
        body = _standing_body(exc.status_code, code, request.url.path)
        return problem_response(body, headers=getattr(exc, "headers", None))


def log_unexpected(exc: BaseException) -> None:
    """Logs an unhandled error by type and frames only: the message (e.g. a driver error
    quoting a row) may carry personal data."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    logger.error("unhandled %s\n%s", type(exc).__name__, frames)


def internal_error_body(instance: str | None) -> dict[str, Any]:
    return _standing_body(500, "INTERNAL_ERROR", instance)


def _standing_body(status: int, code: str, instance: str | None) -> dict[str, Any]:
    """The body of a problem answered without an `AppError` (framework HTTP errors, a
    500): its texts are the catalog's."""
    return error_body(_standing_problem(status, code)(), instance)


@functools.cache
def _standing_problem(status: int, code: str) -> type[AppError]:
    """The problem class of a framework status (one per status and code, made once)."""
    return type(code, (AppError,), {}, code=code, status=status)
