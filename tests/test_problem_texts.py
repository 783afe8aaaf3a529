"""Every problem code a client can receive is declared once and has its titles in both
languages (app/problem_texts.py); a class naming a code without titles cannot exist."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest

from app.errors import AppError, NotFound
from app.problem_texts import DETAILS_EN, DETAILS_JA, TITLES_EN, TITLES_JA

APP = Path(__file__).resolve().parent.parent / "app"
FRAMEWORK_CODES = {
    "BAD_REQUEST",
    "UNAUTHORIZED",
    "FORBIDDEN",
    "METHOD_NOT_ALLOWED",
    "NOT_ACCEPTABLE",
    "UNSUPPORTED_MEDIA_TYPE",
    "HTTP_ERROR",
    "INTERNAL_ERROR",
}
"""Codes answered without an error class: AppError's own, framework HTTP errors, a 500."""


def _declared_codes() -> list[str]:
    codes = []
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                for keyword in node.keywords:
                    if keyword.arg == "code" and isinstance(keyword.value, ast.Constant):
                        codes.append(str(keyword.value.value))
    return codes


def test_each_code_is_declared_by_one_error_class() -> None:
    codes = _declared_codes()
    assert len(codes) > 100
    assert [code for code, count in Counter(codes).items() if count > 1] == []


def test_catalog_titles_every_code_and_nothing_else() -> None:
    codes = set(_declared_codes()) | FRAMEWORK_CODES
    assert set(TITLES_EN) == codes
    assert set(TITLES_JA) == codes
    assert all(TITLES_EN.values()) and all(TITLES_JA.values())
    assert set(DETAILS_EN) == set(DETAILS_JA) <= codes


def test_an_error_takes_its_texts_from_the_catalog() -> None:
    class ProcedureGone(NotFound, code="PROCEDURE_NOT_FOUND"): ...

    class ApplicationGone(NotFound, code="SUBMISSION_NOT_FOUND"): ...

    gone = ProcedureGone()
    assert (gone.status, gone.title_en, gone.title_ja) == (
        404,
        "Procedure not found",
        "手続が見つかりません",
    )
    assert (gone.detail_en, gone.detail_ja) == (gone.title_en, gone.title_ja)
    standing = ApplicationGone()
    assert standing.detail_ja == "この申請は存在しないか、アクセスする権限がありません。"
    assert ApplicationGone("Case detail", "個別の説明").detail_ja == "個別の説明"


def test_a_code_without_titles_is_refused_at_declaration() -> None:
    with pytest.raises(LookupError, match="NO_SUCH_PROBLEM"):

        class Untitled(AppError, code="NO_SUCH_PROBLEM"): ...
