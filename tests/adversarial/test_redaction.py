"""The redaction rules applied to every log record (gateway/observability/redaction.py)."""

from __future__ import annotations

from gateway.observability.redaction import redact_text
from tests.adversarial.test_logs import BODY, CREDS, SECRET


def test_redact_text_removes_credentials_tokens_and_bodies() -> None:
    text = (
        f"b'Authorization: Basic {CREDS}' AC{'1' * 32}:{SECRET} Bearer {SECRET} "
        f"/callbacks/status/v1.eyJhIjoiQUMxMTEx.abcdefghijklmnop?Body={BODY}&AuthToken={SECRET}"
    )
    clean = redact_text(text)
    assert SECRET not in clean and CREDS not in clean and BODY not in clean
    assert "eyJhIjoiQUMxMTEx" not in clean
    assert f"AC{'1' * 32}" in clean  # an account sid is no secret
