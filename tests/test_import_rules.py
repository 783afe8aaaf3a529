"""Who may import whom (issue 12, docs/decisions/0002-lifecycle-listeners.md): a domain's
tables are its own, the lifecycle tells listeners instead of calling the KPI, the card
module only verifies cards, and payments never reach into the staff module. Read with
`ast` from the source of app/**, so a rule broken anywhere (a function-level or
TYPE_CHECKING import included) fails."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"


@dataclass(frozen=True)
class Rule:
    name: str
    forbidden: str
    """A module; importing it or anything under it breaks the rule."""
    applies_to: tuple[str, ...] = ("",)
    """Path prefixes (relative to the repository) of the modules the rule binds."""
    exempt: tuple[str, ...] = ()
    """Path prefixes the rule does not bind (the owner)."""

    def binds(self, path: str) -> bool:
        return path.startswith(self.applies_to) and not path.startswith(self.exempt)


RULES = [
    Rule(
        "only app.submissions uses the submission tables",
        forbidden="app.submissions.models",
        exempt=("app/submissions/", "app/models.py"),
    ),
    Rule(
        "only app.forms uses the form tables",
        forbidden="app.forms.models",
        exempt=("app/forms/", "app/models.py"),
    ),
    Rule(
        "app.submissions tells listeners, it never calls the KPI",
        forbidden="app.kpi",
        applies_to=("app/submissions/",),
    ),
    Rule(
        "app.auth verifies callers and cards; it never reaches into applications",
        forbidden="app.submissions",
        applies_to=("app/auth/",),
    ),
    Rule(
        "payments import nothing from the staff module",
        forbidden="app.admin",
        applies_to=("app/payments/",),
    ),
]


def imported_modules(source: str, module: str) -> set[str]:
    """Every module `source` imports. `from a import b` counts as both `a` and `a.b`
    (b may be a module); relative imports are resolved against `module`."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")[: -node.level]
                base = ".".join([*package, base] if base else package)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def violations(rule: Rule, sources: dict[str, str]) -> list[str]:
    """`path: module` for every import in `sources` (path -> source) that breaks `rule`."""
    broken = []
    for path, source in sorted(sources.items()):
        if not rule.binds(path):
            continue
        module = path.removesuffix(".py").replace("/", ".")
        for name in sorted(imported_modules(source, module)):
            if name == rule.forbidden or name.startswith(rule.forbidden + "."):
                broken.append(f"{path}: {name}")
    return broken


def _app_sources() -> dict[str, str]:
    root = APP.parent
    return {
        path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
        for path in APP.rglob("*.py")
    }


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.forbidden)
def test_app_keeps_the_rule(rule: Rule) -> None:
    assert violations(rule, _app_sources()) == [], rule.name


# A module that breaks each rule in one of the ways Python spells an import, placed
# where the rule binds it; the same text in the owner's package is allowed.
BREAKING: dict[str, tuple[str, str, str]] = {
    "app.submissions.models": (
        "app/admin/review_service.py",
        "from app.submissions.models import Submission\n",
        "app/submissions/repository.py",
    ),
    "app.forms.models": (
        "app/kpi/service.py",
        "def f():\n    from app.forms import models\n    return models\n",
        "app/forms/repository.py",
    ),
    "app.kpi": (
        "app/submissions/lifecycle.py",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import app.kpi.rollups\n",
        "app/listeners.py",
    ),
    "app.submissions": (
        "app/auth/jpki/router.py",
        "from app.submissions import prefill\n",
        "app/admin/review_router.py",
    ),
    "app.admin": (
        "app/payments/service.py",
        "from app.admin.review_service import PreconditionRequired\n",
        "app/main.py",
    ),
}


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.forbidden)
def test_the_rule_catches_a_breaking_import(rule: Rule) -> None:
    breaking_path, source, allowed_path = BREAKING[rule.forbidden]
    assert violations(rule, {breaking_path: source}) != []
    assert violations(rule, {allowed_path: source}) == []


def test_relative_imports_are_resolved() -> None:
    found = imported_modules("from ..submissions import models\n", "app.kpi.rollups")
    assert "app.submissions.models" in found
