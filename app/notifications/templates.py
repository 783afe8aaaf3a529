"""Mail templates (Jinja2, plain text): the first line is the subject, the rest the body,
Japanese first with English below.

A municipality can replace any template: NOTIFICATION_TEMPLATES_DIR/<municipality code>/
<kind>.txt wins over NOTIFICATION_TEMPLATES_DIR/default/<kind>.txt, which wins over the
shipped app/notifications/templates/<kind>.txt. Undefined variables are errors, so a
typo in a template fails the tests instead of sending a blank.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined

SHIPPED = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=64)
def _environment(templates_dir: str | None, municipality_code: str) -> Environment:
    search: list[Path] = []
    if templates_dir is not None:
        search += [Path(templates_dir) / municipality_code, Path(templates_dir) / "default"]
    search.append(SHIPPED)
    return Environment(
        loader=ChoiceLoader([FileSystemLoader(path) for path in search]),
        undefined=StrictUndefined,
        autoescape=False,  # plain-text mail: nothing is interpreted as markup
        keep_trailing_newline=True,
    )


def render(
    kind: str, municipality_code: str, context: dict[str, Any], templates_dir: Path | None
) -> tuple[str, str]:
    """(subject, body) of the `kind` message for this municipality."""
    environment = _environment(str(templates_dir) if templates_dir else None, municipality_code)
    text = environment.get_template(f"{kind}.txt").render(context)
    subject, _, body = text.partition("\n")
    return " ".join(subject.split()), body.lstrip("\n")
