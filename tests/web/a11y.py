"""axe-core (bundled by axe-playwright-python) on the page as it is shown."""

from __future__ import annotations

import json

BLOCKING_IMPACTS = {"serious", "critical"}


def assert_accessible(page, name: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    blocking = [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "nodes": [node["target"] for node in violation["nodes"]],
        }
        for violation in results.response["violations"]
        if violation["impact"] in BLOCKING_IMPACTS
    ]
    assert not blocking, f"{name}: " + json.dumps(blocking, ensure_ascii=False, indent=2)
