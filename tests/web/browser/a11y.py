"""axe-core (bundled by axe-playwright-python) on the page as it is shown: no violation
of any impact (minor, moderate, serious or critical) is accepted."""

from __future__ import annotations

import json


def assert_accessible(page, name: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    violations = [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "nodes": [node["target"] for node in violation["nodes"]],
        }
        for violation in results.response["violations"]
    ]
    assert not violations, f"{name}: " + json.dumps(violations, ensure_ascii=False, indent=2)
