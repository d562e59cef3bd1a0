"""Regenerate twilio_oai_messages.schema.json from Twilio's OpenAPI description.

Usage: python tests/vendor/extract_twilio_oai.py path/to/twilio_api_v2010.json

Takes only what the sandbox tests validate against (the message, incoming phone number and
their list responses), resolves the $refs, and turns OpenAPI 3.0 ``nullable: true`` into JSON
Schema type unions so that a plain JSON Schema (2020-12) validator applies. Not run by tests.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("twilio_oai_messages.schema.json")
MESSAGES = "/2010-04-01/Accounts/{AccountSid}/Messages.json"
NUMBERS = "/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json"
DROP = {"description", "x-twilio", "examples", "example", "x-class-extra-annotation",
        "x-field-extra-annotation", "x-getter-extra-annotation", "title"}


def convert(node: Any, schemas: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [convert(n, schemas) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return convert(copy.deepcopy(schemas[name]), schemas)
    out = {k: convert(v, schemas) for k, v in node.items() if k not in DROP}
    if out.pop("nullable", False):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


def main(path: str) -> None:
    spec = json.loads(Path(path).read_text(encoding="utf-8"))
    schemas = spec["components"]["schemas"]

    def list_schema(p: str) -> Any:
        return spec["paths"][p]["get"]["responses"]["200"]["content"]["application/json"][
            "schema"
        ]

    doc = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$comment": "Extracted from twilio/twilio-oai spec/json/twilio_api_v2010.json (MIT, "
        "see LICENSE) by extract_twilio_oai.py; nullable converted to type unions.",
        "$defs": {
            "message": convert(schemas["api.v2010.account.message"], schemas),
            "message_list": convert(list_schema(MESSAGES), schemas),
            "message_enum_status": convert(schemas["message_enum_status"], schemas),
            "message_enum_direction": convert(schemas["message_enum_direction"], schemas),
            "incoming_phone_number": convert(
                schemas["api.v2010.account.incoming_phone_number"], schemas
            ),
            "incoming_phone_number_list": convert(list_schema(NUMBERS), schemas),
        },
    }
    OUT.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
