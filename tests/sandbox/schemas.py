"""JSON Schema validators for sandbox answers, from the vendored Twilio OpenAPI extract."""

from __future__ import annotations

import json
from email.utils import parsedate_to_datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import phonenumbers
from jsonschema import Draft202012Validator, FormatChecker

VENDORED = Path(__file__).resolve().parent.parent / "vendor" / "twilio_oai_messages.schema.json"

# Twilio's OpenAPI has no error schema; this is the documented error shape.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["code", "message", "more_info", "status"],
    "additionalProperties": False,
    "properties": {
        "code": {"type": "integer"},
        "message": {"type": "string", "minLength": 1},
        "more_info": {"type": "string", "pattern": r"^https://www\.twilio\.com/docs/errors/\d+$"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
    },
}

_checker = FormatChecker()


@_checker.checks("date-time-rfc-2822", raises=(TypeError, ValueError))
def _rfc2822(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parsed = parsedate_to_datetime(value)
    return parsed.utcoffset() is not None and value.endswith("+0000")


@_checker.checks("phone-number", raises=(phonenumbers.NumberParseException,))
def _phone(value: object) -> bool:
    # The OpenAPI description allows short codes and alphanumeric sender IDs here too.
    if not isinstance(value, str) or value.isdigit() or not value.startswith("+"):
        return True
    return phonenumbers.is_possible_number(phonenumbers.parse(value, None))


@cache
def _document() -> dict[str, Any]:
    return json.loads(VENDORED.read_text(encoding="utf-8"))


@cache
def validator(name: str) -> Draft202012Validator:
    doc = _document()
    if name == "error":
        schema: dict[str, Any] = ERROR_SCHEMA
    else:
        schema = {"$defs": doc["$defs"], "$ref": f"#/$defs/{name}"}
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=_checker)


def validate(name: str, instance: Any) -> None:
    """Raise jsonschema.ValidationError unless ``instance`` matches the named schema."""
    validator(name).validate(instance)


def properties(name: str) -> list[str]:
    """The schema's property names, in the OpenAPI document's order."""
    return list(_document()["$defs"][name]["properties"])


__all__ = ["ERROR_SCHEMA", "jsonschema", "properties", "validate", "validator"]
