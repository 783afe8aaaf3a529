"""One clock per request (issue 12): services and routers take `now` from the request
(`app.dependencies.Now`) or from the command that runs them; none reads the wall clock
itself, so a test can stand at any moment (31 March 23:59 JST) and every rule sees the
same one. Read with `ast` from the source of app/**, like tests/test_import_rules.py.

Reading the clock stays allowed where the clock is made or a command starts:
app/db.py (defines `utcnow`), app/dependencies.py (the request clock), column defaults
in `models.py`, command entry points (`__main__.py`, app/seed.py), and the test CA
tool (app/auth/jpki/testca, which does not ship)."""

from __future__ import annotations

import ast

import pytest

from tests.test_import_rules import _app_sources

ALLOWED = (
    "app/db.py",
    "app/dependencies.py",
    "app/seed.py",
    "app/auth/jpki/testca/",
)
ALLOWED_NAMES = ("models.py", "__main__.py")

WALL_CLOCKS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
}
"""(object, attribute) calls that read the wall clock; `utcnow()` by any path too."""


def allowed(path: str) -> bool:
    return path.startswith(ALLOWED) or path.rsplit("/", 1)[-1] in ALLOWED_NAMES


def clock_reads(source: str) -> list[str]:
    """`line: call` for every call in `source` that reads the wall clock."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id == "utcnow":
            found.append(f"{node.lineno}: utcnow()")
        elif isinstance(func, ast.Attribute):
            owner = func.value
            # datetime.now(), dt.datetime.now(), db.utcnow(), date.today(), time.time()
            owner_name = (
                owner.id
                if isinstance(owner, ast.Name)
                else owner.attr
                if isinstance(owner, ast.Attribute)
                else None
            )
            if func.attr == "utcnow" or (owner_name, func.attr) in WALL_CLOCKS:
                found.append(f"{node.lineno}: {owner_name}.{func.attr}()")
    return found


def violations(sources: dict[str, str]) -> list[str]:
    return [
        f"{path}:{read}"
        for path, source in sorted(sources.items())
        if not allowed(path)
        for read in clock_reads(source)
    ]


def test_no_service_or_router_reads_the_wall_clock() -> None:
    assert violations(_app_sources()) == [], "take `now` from the request (app.dependencies.Now)"


@pytest.mark.parametrize(
    "source",
    [
        "from app.db import utcnow\ndef f():\n    return utcnow()\n",
        "from app import db\nasync def f():\n    return db.utcnow()\n",
        "from datetime import UTC, datetime\nx = datetime.now(UTC)\n",
        "import datetime as dt\nx = dt.datetime.now(dt.UTC)\n",
        "from datetime import date\ndef f(now=None):\n    return now or date.today()\n",
        "import time\nstamp = time.time()\n",
    ],
)
def test_the_rule_catches_a_clock_read(source: str) -> None:
    assert violations({"app/admin/review_service.py": source}) != []
    assert violations({"app/payments/router.py": source}) != []
    # Where clocks are made or commands start, the same text is allowed.
    assert violations({"app/retention/__main__.py": source}) == []
    assert violations({"app/dependencies.py": source}) == []


def test_column_defaults_and_passed_clocks_are_not_reads() -> None:
    source = (
        "from app.db import utcnow\n"
        "created_at = mapped_column(default=utcnow)\n"
        "def f(now):\n    return now.date()\n"
    )
    assert violations({"app/kpi/service.py": source}) == []
