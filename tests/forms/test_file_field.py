"""The `file` field type: answers are lists of attachment ids; the form engine checks
their shape, and asks the attachment store (through `check_attachments`) whether each
id is an attachment of the submission, of a kind and size the field allows."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from typing import Any

import jsonschema
import pytest

from app.forms.attachments import AttachmentFacts, attachment_references, check_attachments
from app.forms.compiler import DefinitionInvalid, check_definition, compile_definition
from app.forms.service import read_catalog_directory

PHOTO_1 = "8f14e45f-ceea-467f-a0c4-1a2b3c4d5e6f"
PHOTO_2 = "c9f0f895-fb98-4b91-9f2a-0e1d2c3b4a59"
LETTER = "45c48cce-2e2d-4fbd-8f6a-7b8c9d0e1f2a"


def label(ja: str) -> dict[str, str]:
    return {"ja": ja, "en": ja}


def definition(**photo: Any) -> dict[str, Any]:
    return {
        "code": "with-files",
        "title": label("添付のある手続"),
        "department": label("危機管理課"),
        "steps": [
            {
                "key": "files",
                "title": label("添付"),
                "fields": [
                    {
                        "key": "photos",
                        "type": "file",
                        "label": label("写真"),
                        "kinds": ["image"],
                        "max_size_mb": 5,
                        "max_count": 2,
                        **photo,
                    },
                    {
                        "key": "by_agent",
                        "type": "checkbox",
                        "label": label("代理人による申請"),
                    },
                    {
                        "key": "power_of_attorney",
                        "type": "file",
                        "label": label("委任状"),
                        "kinds": ["pdf"],
                        "required": True,
                        "when": {"field": "by_agent", "equals": True},
                    },
                    {
                        "key": "rooms",
                        "type": "group",
                        "label": label("部屋"),
                        "fields": [
                            {"key": "room", "type": "text", "label": label("部屋")},
                            {"key": "room_photo", "type": "file", "label": label("写真")},
                        ],
                    },
                ],
            }
        ],
    }


FORM = compile_definition(check_definition(definition()))


def errors(answers: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e.path, e.code) for e in FORM.validate(answers).errors]


def test_an_answer_is_a_list_of_attachment_ids() -> None:
    result = FORM.validate({"photos": [PHOTO_1.upper(), f" {PHOTO_2} ", PHOTO_1]})
    assert result.ok
    assert result.answers == {"photos": [PHOTO_1, PHOTO_2]}  # canonical, repeats removed
    assert FORM.validate({"photos": []}).answers == {}  # an empty list is unanswered


def test_the_shape_of_the_ids_and_their_count_are_checked() -> None:
    assert errors({"photos": PHOTO_1}) == [("/photos", "type")]
    assert errors({"photos": [PHOTO_1, "photo.jpg"]}) == [("/photos/1", "attachment_id")]
    assert errors({"photos": [PHOTO_1, 7]}) == [("/photos/1", "attachment_id")]
    # A repeated id is one file; a repeated wrong value is reported where each one stands.
    assert errors({"photos": [7, 7]}) == [
        ("/photos/0", "attachment_id"),
        ("/photos/1", "attachment_id"),
    ]
    assert errors({"photos": [PHOTO_1, PHOTO_2, LETTER]}) == [("/photos", "max_items")]
    assert errors({"rooms": [{"room_photo": ["x"]}]}) == [
        ("/rooms/0/room_photo/0", "attachment_id")
    ]


def test_a_file_can_be_required_when_shown() -> None:
    assert errors({"by_agent": True}) == [("/power_of_attorney", "required")]
    assert errors({"by_agent": True, "power_of_attorney": [LETTER]}) == []
    # Hidden: not required, and an answer sent anyway is dropped.
    result = FORM.validate({"by_agent": False, "power_of_attorney": [LETTER]})
    assert result.ok and "power_of_attorney" not in result.answers
    assert FORM.validate({"by_agent": True}, partial=True).ok  # a draft may wait


def test_the_schema_describes_the_attachments() -> None:
    schema = FORM.json_schema
    jsonschema.Draft202012Validator.check_schema(schema)
    photos = schema["properties"]["photos"]
    assert photos["type"] == "array"
    assert photos["items"]["format"] == "uuid"
    assert (photos["minItems"], photos["maxItems"], photos["uniqueItems"]) == (1, 2, True)
    assert photos["x-attachment-kinds"] == ["image"]
    assert photos["x-attachment-max-size"] == 5 * 1024 * 1024
    assert photos["x-madoguchi"] | {"kinds": ["image"], "max_count": 2} == photos["x-madoguchi"]
    generic = jsonschema.Draft202012Validator(schema)
    for answers in (
        {"photos": [PHOTO_1, PHOTO_2]},
        {"by_agent": True, "power_of_attorney": [LETTER]},
        {"rooms": [{"room_photo": [PHOTO_1]}]},
    ):
        assert FORM.validate(answers).ok and generic.is_valid(answers), answers
    for answers in (
        {"photos": ["photo.jpg"]},
        {"photos": [PHOTO_1, PHOTO_2, LETTER]},
        {"by_agent": True},
    ):
        assert not FORM.validate(answers).ok and not generic.is_valid(answers), answers


def test_definition_rules_for_file_fields() -> None:
    data = definition(kinds=["video"], max_size_mb=0)
    data["steps"][0]["fields"][1]["when"] = {"field": "photos", "equals": PHOTO_1}
    with pytest.raises(DefinitionInvalid) as raised:
        check_definition(data)
    assert [(e.path, e.code) for e in raised.value.errors] == [
        ("/steps/0/fields/0/kinds/0", "literal_error"),
        ("/steps/0/fields/0/max_size_mb", "greater_than_equal"),
    ]
    data = definition()
    data["steps"][0]["fields"][1]["when"] = {"field": "photos", "equals": PHOTO_1}
    with pytest.raises(DefinitionInvalid) as raised:
        check_definition(data)
    assert [(e.path, e.code) for e in raised.value.errors] == [
        ("/steps/0/fields/1/when/equals", "operator_mismatch")
    ]


# --- the hook the attachment store answers -----------------------------------------------


class Store:
    """An attachment store of one submission, as app/attachments answers the hook."""

    def __init__(self, attachments: dict[str, AttachmentFacts]) -> None:
        self.attachments = {uuid.UUID(key): facts for key, facts in attachments.items()}
        self.calls: list[set[uuid.UUID]] = []

    async def facts(self, ids: Collection[uuid.UUID]) -> Mapping[uuid.UUID, AttachmentFacts]:
        self.calls.append(set(ids))
        return {key: self.attachments[key] for key in ids if key in self.attachments}


async def test_ids_are_checked_against_the_submissions_attachments_in_one_call() -> None:
    store = Store(
        {
            PHOTO_1: AttachmentFacts("image", 4 * 1024 * 1024),
            LETTER: AttachmentFacts("pdf", 200_000),
        }
    )
    answers = FORM.validate(
        {
            "photos": [PHOTO_1],
            "by_agent": True,
            "power_of_attorney": [LETTER],
            "rooms": [{"room": "台所"}, {"room_photo": [PHOTO_1]}],
        }
    ).answers
    assert [r.pointer for r in attachment_references(FORM.definition, answers)] == [
        "/photos/0",
        "/power_of_attorney/0",
        "/rooms/1/room_photo/0",
    ]
    assert await check_attachments(FORM.definition, answers, store) == []
    assert store.calls == [{uuid.UUID(PHOTO_1), uuid.UUID(LETTER)}]


async def test_unknown_ids_and_files_the_field_does_not_allow_are_refused() -> None:
    store = Store(
        {
            PHOTO_1: AttachmentFacts("pdf", 1000),
            PHOTO_2: AttachmentFacts("image", 5 * 1024 * 1024 + 1),
        }
    )
    answers = FORM.validate({"photos": [PHOTO_1, PHOTO_2], "rooms": [{"room_photo": [LETTER]}]})
    problems = await check_attachments(FORM.definition, answers.answers, store)
    assert [(p.path, p.code) for p in problems] == [
        ("/photos/0", "attachment_kind"),
        ("/photos/1", "attachment_too_large"),
        ("/rooms/0/room_photo/0", "attachment_not_found"),
    ]
    assert problems[0].message_ja == "この項目に添付できるのは画像だけです"
    assert problems[1].message_en == "Each file may be at most 5 MB"
    assert await check_attachments(FORM.definition, {}, store) == []
    assert len(store.calls) == 1  # no answers naming files, no call


def test_the_catalog_uses_files_for_photos_and_letters_of_attorney() -> None:
    catalog = {
        data["code"]: compile_definition(check_definition(data))
        for data in read_catalog_directory()
    }
    street_light = catalog["street-light-request"].json_schema["properties"]["light_photos"]
    assert street_light["x-attachment-kinds"] == ["image"]
    assert "light_photos" not in catalog["street-light-request"].json_schema.get("required", [])
    disaster = catalog["disaster-damage-certificate"]
    assert disaster.json_schema["properties"]["power_of_attorney"]["x-attachment-kinds"] == ["pdf"]
    needs_letter = [
        block["then"]["required"]
        for block in disaster.json_schema["allOf"]
        if block["then"].get("required") == ["power_of_attorney"]
    ]
    assert needs_letter == [["power_of_attorney"]]
