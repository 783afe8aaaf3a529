"""The hook between answers and stored attachments (添付ファイル).

A field type that `references_attachments` (the `file` type) names uploaded files by
id in its answer. The form engine checks the ids' shape; whoever stores attachments
(app/attachments) implements `AttachmentResolver` and the submissions service calls
`check_attachments` before it saves or submits answers, so that every id is an
attachment of this submission, of a kind and size the field allows:

    problems = await check_attachments(definition, result.answers, resolver)
    if problems:
        raise ValidationFailed(..., errors=problems)   # 422, like any answer error

The submissions service reaches the store through `resolvers.check(session,
submission_id, definition, answers)`; app.listeners provides the source.

`attachment_references` lists the ids (with their JSON Pointers) for retention and for
linking uploads to the answers that use them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import FieldError
from app.forms.answers import answer_slots
from app.forms.definition import FieldDefinition, ProcedureDefinition
from app.forms.validation import pointer


@dataclass(frozen=True)
class AttachmentFacts:
    """What the attachment store knows of one attachment of the submission."""

    kind: Literal["image", "pdf"] | str
    """The kind its bytes were recognised as (not its name)."""
    size: int
    """Stored size in bytes."""


class AttachmentResolver(Protocol):
    """Implemented by the attachment store, bound to one submission and its caller."""

    async def facts(self, ids: Collection[uuid.UUID]) -> Mapping[uuid.UUID, AttachmentFacts]:
        """The facts of those `ids` that are attachments of this submission; an id that
        is not (unknown, another submission's, found infected, deleted) is left out."""
        ...


ResolverSource = Callable[[AsyncSession, uuid.UUID], AttachmentResolver]
"""The resolver of one submission's attachments (app.attachments provides it)."""


class Resolvers:
    """Where the submissions service finds the attachment store, without importing it:
    app.listeners.install_listeners() provides the source at start."""

    def __init__(self) -> None:
        self._source: ResolverSource | None = None

    def provide(self, source: ResolverSource) -> None:
        self._source = source

    async def check(
        self,
        session: AsyncSession,
        submission_id: uuid.UUID,
        definition: ProcedureDefinition,
        answers: Mapping[str, Any],
    ) -> list[FieldError]:
        """`check_attachments` against the attachments of `submission_id`."""
        if not attachment_references(definition, answers):
            return []
        if self._source is None:
            raise RuntimeError(
                "No attachment store is provided: call app.listeners.install_listeners() "
                "at start (create_app and the commands do)."
            )
        return await check_attachments(definition, answers, self._source(session, submission_id))


resolvers = Resolvers()


@dataclass(frozen=True)
class AttachmentReference:
    """One attachment id in the answers, with where it is."""

    pointer: str
    """JSON Pointer of the id, e.g. `/damage_photos/1`."""
    attachment_id: uuid.UUID
    field: FieldDefinition


def attachment_references(
    definition: ProcedureDefinition, answers: Mapping[str, Any]
) -> list[AttachmentReference]:
    """Every well-formed attachment id in canonical answers, in document order (ids in
    group items included)."""
    references: list[AttachmentReference] = []
    for slot in answer_slots(definition, answers, lambda field: field.references_attachments):
        for index, attachment_id in slot.field.attachment_ids(slot.value):
            references.append(
                AttachmentReference(pointer(slot.pointer, index), attachment_id, slot.field)
            )
    return references


async def check_attachments(
    definition: ProcedureDefinition, answers: Mapping[str, Any], resolver: AttachmentResolver
) -> list[FieldError]:
    """The problems of the attachment ids in validated answers: not an attachment of
    this submission, or not of a kind and size its field allows. One resolver call."""
    references = attachment_references(definition, answers)
    if not references:
        return []
    known = await resolver.facts({reference.attachment_id for reference in references})
    problems: list[FieldError] = []
    for reference in references:
        facts = known.get(reference.attachment_id)
        if facts is None:
            problems.append(
                FieldError(
                    reference.pointer,
                    "attachment_not_found",
                    "添付ファイルが見つかりません。ファイルを添付し直してください",
                    "The attached file was not found; please attach it again",
                )
            )
            continue
        problem = reference.field.attachment_problem(facts)
        if problem is not None:
            problems.append(FieldError(reference.pointer, *problem))
    return problems
