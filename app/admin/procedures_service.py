"""Procedure management (手続の管理) by a municipality's admins: definitions sent as JSON
or YAML, checked, saved as versions, published and retired through app.forms.service,
each change written to the audit log. Never commits."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.audit.service import Actor
from app.errors import AppError, NulCharacter, UnpairedSurrogate, ValidationFailed
from app.forms import repository as forms_repository
from app.forms import service as forms
from app.forms.compiler import CompiledForm, check_definition, compile_definition
from app.forms.repository import Procedure, ProcedureVersion

JSON_MEDIA_TYPES = frozenset({"application/json"})
YAML_MEDIA_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml"})


class DefinitionBodyInvalid(ValidationFailed, code="DEFINITION_BODY_INVALID"): ...


class DefinitionMediaTypeUnsupported(
    AppError, code="DEFINITION_MEDIA_TYPE_UNSUPPORTED", status=415
): ...


class _DefinitionYamlLoader(yaml.SafeLoader):
    """safe_load without aliases (a few bytes of anchors can expand to gigabytes once
    stored as JSON) and without implicit timestamps (dates stay "YYYY-MM-DD" strings,
    as the definition language expects)."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in a definition", event.start_mark
            )
        return super().compose_node(parent, index)


_DefinitionYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_definition_body(media_type: str, body: bytes, *, max_depth: int) -> dict[str, Any]:
    """The definition in a request body, as plain JSON-compatible data."""
    if media_type not in JSON_MEDIA_TYPES | YAML_MEDIA_TYPES:
        raise DefinitionMediaTypeUnsupported(
            f"Content-Type must be application/json or application/yaml, not '{media_type[:60]}'.",
            "Content-Typeはapplication/jsonまたはapplication/yamlにしてください。",
        )
    try:
        text = body.decode("utf-8")
        if media_type in JSON_MEDIA_TYPES:
            data = json.loads(text)
        else:
            data = yaml.load(text, Loader=_DefinitionYamlLoader)  # a SafeLoader subclass
    except (UnicodeDecodeError, ValueError, yaml.YAMLError, RecursionError) as exc:
        raise DefinitionBodyInvalid(
            f"The body is not valid {'JSON' if media_type in JSON_MEDIA_TYPES else 'YAML'}: "
            f"{_first_line(exc)}",
            "JSONまたはYAMLとして読み取れません。書式を確認してください。",
        ) from None
    if not isinstance(data, dict):
        raise DefinitionBodyInvalid(
            "The definition must be a mapping (an object) at the top level.",
            "定義の最上位はキーと値の組（オブジェクト）にしてください。",
        )
    if _nesting_depth(data) > max_depth:
        raise DefinitionBodyInvalid(
            f"The definition may be nested at most {max_depth} levels deep.",
            f"定義の入れ子は{max_depth}段までです。",
        )
    _refuse_unstorable_text(data)
    return data


def _refuse_unstorable_text(data: Any) -> None:
    """YAML's "\\0" and "\\ud800" escapes make text no database column can hold (the
    request middleware refuses the same in JSON bodies before they are parsed)."""
    pending = [data]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            pending.extend(node.keys())
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, str):
            if "\x00" in node:
                raise NulCharacter(
                    "Remove the NUL character (U+0000, YAML's \\0) from the definition.",
                    "定義からNUL文字（U+0000、YAMLの\\0）を取り除いてください。",
                )
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                raise UnpairedSurrogate(
                    "Remove the unpaired surrogate (\\ud800-\\udfff) from the definition.",
                    "定義から対になっていないサロゲート（\\ud800〜\\udfff）を取り除いてください。",
                ) from None


def check(definition_data: Mapping[str, Any]) -> CompiledForm:
    """Check and compile without saving anything; raises DefinitionInvalid with every
    problem and its JSON Pointer."""
    return compile_definition(check_definition(definition_data))


@dataclass(frozen=True)
class ManagedProcedure:
    procedure: Procedure
    versions: list[ProcedureVersion]
    """Oldest first."""

    @property
    def latest(self) -> ProcedureVersion:
        return self.versions[-1]

    @property
    def current(self) -> ProcedureVersion | None:
        """The version the catalog shows: the newest published one."""
        published = [v for v in self.versions if v.status == "published"]
        return published[-1] if published else None


async def list_procedures(session: AsyncSession, municipality_code: str) -> list[ManagedProcedure]:
    """Every procedure of the municipality, drafts and retired ones included."""
    listed = await forms_repository.procedures_with_versions(session, municipality_code)
    return [ManagedProcedure(procedure, versions) for procedure, versions in listed if versions]


async def get_managed(
    session: AsyncSession, municipality_code: str, procedure_code: str
) -> ManagedProcedure:
    """Another municipality's procedure is simply not found."""
    procedure = await forms.get_procedure(session, municipality_code, procedure_code)
    return ManagedProcedure(procedure, await forms.list_versions(session, procedure))


async def get_version(
    session: AsyncSession, municipality_code: str, procedure_code: str, number: int
) -> ProcedureVersion:
    managed = await get_managed(session, municipality_code, procedure_code)
    for version in managed.versions:
        if version.version == number:
            return version
    raise forms.ProcedureVersionNotFound(
        f"Procedure '{procedure_code}' has no version {number}.",
        f"手続「{procedure_code}」に第{number}版はありません。",
    )


async def create_procedure(
    session: AsyncSession,
    actor: Actor,
    municipality_code: str,
    definition_data: Mapping[str, Any],
) -> ManagedProcedure:
    procedure, version = await forms.create_procedure(session, municipality_code, definition_data)
    await _audit(session, actor, "procedure.create", procedure, version)
    return ManagedProcedure(procedure, [version])


async def add_version(
    session: AsyncSession,
    actor: Actor,
    municipality_code: str,
    procedure_code: str,
    definition_data: Mapping[str, Any],
) -> ProcedureVersion:
    procedure = await forms.get_procedure(session, municipality_code, procedure_code)
    version = await forms.add_version(session, procedure, definition_data)
    await _audit(session, actor, "procedure.version_add", procedure, version)
    return version


async def update_draft(
    session: AsyncSession,
    actor: Actor,
    municipality_code: str,
    procedure_code: str,
    number: int,
    definition_data: Mapping[str, Any],
) -> ProcedureVersion:
    version = await get_version(session, municipality_code, procedure_code, number)
    version = await forms.update_draft(session, version, definition_data)
    procedure = await forms_repository.procedure_of(session, version)
    await _audit(session, actor, "procedure.version_update", procedure, version)
    return version


async def publish(
    session: AsyncSession,
    actor: Actor,
    municipality_code: str,
    procedure_code: str,
    number: int,
    *,
    now: datetime,
) -> ManagedProcedure:
    version = await get_version(session, municipality_code, procedure_code, number)
    procedure = await forms.publish_version(session, version, now=now)
    await _audit(session, actor, "procedure.publish", procedure, version)
    return await get_managed(session, municipality_code, procedure_code)


async def retire(
    session: AsyncSession,
    actor: Actor,
    municipality_code: str,
    procedure_code: str,
    *,
    now: datetime,
) -> ManagedProcedure:
    procedure = await forms.get_procedure(session, municipality_code, procedure_code)
    await forms.retire_procedure(session, procedure, now=now)
    await _audit(session, actor, "procedure.retire", procedure, None)
    return await get_managed(session, municipality_code, procedure_code)


async def _audit(
    session: AsyncSession,
    actor: Actor,
    action: str,
    procedure: Procedure,
    version: ProcedureVersion | None,
) -> None:
    details: dict[str, Any] = {"procedure_code": procedure.code}
    if version is not None:
        details |= {"version": version.version, "definition_digest": version.definition_digest}
    await audit.record(
        session,
        actor,
        action,
        "procedure",
        procedure.id,
        procedure.municipality_code,
        details=details,
    )


def _nesting_depth(data: Any) -> int:
    deepest = 0
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, dict):
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in node)
    return deepest


def _first_line(error: BaseException) -> str:
    if isinstance(error, RecursionError):
        return "nested too deeply"
    return str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
