"""Auth tokens of the accounts whose callbacks the gateway checks and re-signs.

They come from a TOML or JSON file mapping AccountSid to AuthToken and/or from the
``GATEWAY_ACCOUNTS`` setting, never from requests: the gateway sees tokens in the Basic auth of
legacy sends, but keeping those would make a log or memory dump a credential store.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path

from gateway.config.settings import ConfigError
from gateway.model import ACCOUNT_SID


class AccountTokens:
    """AccountSid -> AuthToken, read-only. Its repr never shows a token."""

    def __init__(self, tokens: Mapping[str, str]) -> None:
        self._tokens = dict(tokens)

    def get(self, account_sid: str) -> str | None:
        return self._tokens.get(account_sid)

    def __len__(self) -> int:
        return len(self._tokens)

    def __repr__(self) -> str:
        return f"AccountTokens({len(self._tokens)} accounts)"


def _check(source: str, sid: object, token: object) -> tuple[str, str]:
    if not isinstance(sid, str) or not ACCOUNT_SID.fullmatch(sid):
        raise ConfigError(f"{source}: {sid!r} is not an AccountSid (AC + 32 hex digits)")
    if not isinstance(token, str) or not token:
        raise ConfigError(f"{source}: the auth token of {sid} must be a non-empty string")
    return sid, token


def parse_accounts_file(path: str) -> dict[str, str]:
    """Read ``{AccountSid: AuthToken}`` from a .json file, else TOML (a top-level table, or an
    ``[accounts]`` table)."""
    source = f"setting 'accounts_file' (GATEWAY_ACCOUNTS_FILE) {path!r}"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror}") from None
    try:
        data = json.loads(text) if path.endswith(".json") else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError):
        kind = "JSON" if path.endswith(".json") else "TOML"
        # The parser's message may quote a token; name the file only.
        raise ConfigError(f"{source}: not valid {kind}") from None
    if isinstance(data, dict) and isinstance(data.get("accounts"), dict):
        data = data["accounts"]
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a table of AccountSid = AuthToken")
    return dict(_check(source, sid, token) for sid, token in data.items())


def parse_accounts_setting(text: str) -> dict[str, str]:
    source = "setting 'accounts' (GATEWAY_ACCOUNTS)"
    out: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        sid, sep, token = item.partition("=")
        if not sep:
            raise ConfigError(f"{source}: expected AccountSid=AuthToken pairs")
        out.update([_check(source, sid.strip(), token.strip())])
    return out


def load_accounts(accounts_file: str, accounts: str) -> AccountTokens:
    tokens: dict[str, str] = {}
    if accounts_file:
        tokens.update(parse_accounts_file(accounts_file))
    tokens.update(parse_accounts_setting(accounts))
    return AccountTokens(tokens)
