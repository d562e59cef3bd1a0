"""The pure parts: tokens, status decisions, parameter sets, TwiML rewrite, URLs, accounts,
settings validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from gateway.callbacks.accounts import load_accounts
from gateway.callbacks.tokens import (
    ACTION,
    INBOUND,
    STATUS,
    CallbackTarget,
    TokenError,
    sign_token,
    verify_token,
)
from gateway.callbacks.translate import (
    decided_status,
    legacy_inbound_params,
    legacy_status_params,
)
from gateway.callbacks.twiml import EMPTY_RESPONSE, TwimlError, rewrite_reply
from gateway.callbacks.urls import UrlRefused, check_legacy_url, host_allowed
from gateway.callbacks.wrap import inbound_webhook_url
from gateway.config import ConfigError, load_settings
from tests.callbacks.conftest import ACCOUNT, KEY, TOKEN, gateway_settings

TARGET = CallbackTarget(STATUS, "https://legacy.example/cb?x=1", ACCOUNT, "v2008", "POST", 100)


def test_token_round_trip_and_is_url_safe() -> None:
    token = sign_token(KEY, TARGET)
    assert set(token) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
    assert verify_token([KEY], token, STATUS) == TARGET


def test_token_key_rotation_and_kind() -> None:
    token = sign_token("old-key-0123456789", TARGET)
    assert verify_token([KEY, "old-key-0123456789"], token, STATUS) == TARGET
    with pytest.raises(TokenError):
        verify_token([KEY], token, STATUS)
    with pytest.raises(TokenError):
        verify_token([KEY, "old-key-0123456789"], token, INBOUND)


def test_token_expiry() -> None:
    token = sign_token(KEY, TARGET)
    assert verify_token([KEY], token, STATUS, now=150, max_age=100)
    with pytest.raises(TokenError, match="expired"):
        verify_token([KEY], token, STATUS, now=201, max_age=100)


@settings(max_examples=60, deadline=None)
@given(position=st.integers(min_value=0), char=st.sampled_from("AQgw-_.x0"))
def test_any_changed_character_invalidates_the_token(position: int, char: str) -> None:
    token = sign_token(KEY, TARGET)
    i = position % len(token)
    if token[i] == char:
        return
    tampered = token[:i] + char + token[i + 1:]
    try:
        target = verify_token([KEY], tampered, STATUS)
    except TokenError:
        return
    # base64 padding bits can change without changing the decoded bytes: still the same target
    assert target == TARGET


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("accepted", None), ("scheduled", None), ("queued", None), ("sending", None),
        ("sent", "sent"), ("delivered", "sent"), ("read", "sent"),
        ("partially_delivered", "sent"), ("failed", "failed"), ("undelivered", "failed"),
        ("canceled", "failed"), ("", None),
    ],
)
def test_status_decisions(status: str, expected: str | None) -> None:
    assert decided_status(STATUS, status) == expected


def test_action_callback_statuses() -> None:
    assert decided_status(ACTION, "sent") == "sending"
    assert decided_status(ACTION, "queued") == "sending"
    assert decided_status(ACTION, "failed") == "invalid"
    params = {"MessageSid": "SM1", "AccountSid": ACCOUNT}
    assert legacy_status_params(ACTION, "v2008", params, "sending") == [
        ("SmsSid", "SM1"), ("SmsStatus", "sending"), ("AccountSid", ACCOUNT),
    ]


def test_inbound_parameters_drop_current_only_fields() -> None:
    current = {
        "ToCountry": "US", "ToState": "", "SmsMessageSid": "SM9", "NumMedia": "0",
        "ToCity": "", "FromZip": "94107", "SmsSid": "SM9", "FromState": "CA",
        "SmsStatus": "received", "FromCity": "SAN FRANCISCO", "Body": "yo",
        "FromCountry": "US", "To": "+14155550100", "ToZip": "", "NumSegments": "1",
        "MessageSid": "SM9", "AccountSid": ACCOUNT, "From": "+442079460958",
        "ApiVersion": "2010-04-01", "MessagingServiceSid": "MG1",
    }
    from gateway.mapping.numbers import render_2008

    assert legacy_inbound_params(current, render_2008) == [
        ("SmsSid", "SM9"), ("AccountSid", ACCOUNT), ("From", "+442079460958"),
        ("To", "4155550100"), ("Body", "yo"), ("FromCity", "SAN FRANCISCO"),
        ("FromState", "CA"), ("FromZip", "94107"), ("FromCountry", "US"), ("ToCountry", "US"),
    ]


def _wrap(kind: str, url: str, method: str) -> str:
    return f"https://gw.example/{kind}/{method}/{url}"


def test_sms_becomes_message_with_attributes_carried_and_urls_wrapped() -> None:
    legacy = (
        b'<?xml version="1.0"?><Response>'
        b'<Sms to="+14155551212" from="+14155550100" action="/act" method="GET" '
        b'statusCallback="https://legacy.example/st" bogus="1">Hi &amp; bye</Sms>'
        b'<Redirect method="GET">next</Redirect></Response>'
    )
    root = etree.fromstring(rewrite_reply(legacy, "https://legacy.example/app/sms", _wrap))
    message, redirect = list(root)
    assert message.tag == "Message" and message.text == "Hi & bye"
    assert dict(message.attrib) == {
        "to": "+14155551212",
        "from": "+14155550100",
        "action": "https://gw.example/action/GET/https://legacy.example/act",
        "method": "POST",
        "statusCallback": "https://gw.example/status/POST/https://legacy.example/st",
    }
    assert redirect.text == "https://gw.example/inbound/GET/https://legacy.example/app/next"
    assert redirect.get("method") == "POST"


def test_other_verbs_and_empty_replies_pass() -> None:
    assert rewrite_reply(b"", "https://l/", _wrap) == EMPTY_RESPONSE
    assert rewrite_reply(b"  \n", "https://l/", _wrap) == EMPTY_RESPONSE
    out = rewrite_reply(b"<Response/>", "https://l/", _wrap)
    assert etree.fromstring(out).tag == "Response" and len(etree.fromstring(out)) == 0
    out = rewrite_reply(b"<Response><Message>hi</Message></Response>", "https://l/", _wrap)
    assert b"<Message>hi</Message>" in out


def test_dropped_url_keeps_the_message() -> None:
    out = rewrite_reply(
        b'<Response><Sms statusCallback="http://evil/">x</Sms></Response>', "https://l/",
        lambda kind, url, method: None,
    )
    assert etree.fromstring(out)[0].attrib == {}


@pytest.mark.parametrize(
    "body",
    [
        b"<Response><Sms>unclosed</Response>",
        b"not xml at all",
        b"<html><body>Error</body></html>",
        (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        b"<Response><Sms>&b;</Sms></Response>"),
        b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><Response>&x;</Response>',
    ],
)
def test_malformed_or_hostile_twiml_is_refused(body: bytes) -> None:
    with pytest.raises(TwimlError):
        rewrite_reply(body, "https://l/", _wrap)


def test_url_checks() -> None:
    assert host_allowed("a.corp.example", ["*.corp.example"])
    assert not host_allowed("corp.example", ["*.corp.example"])
    assert not host_allowed("evilcorp.example", ["*.corp.example"])
    assert host_allowed("anything", [])
    for bad in ("ftp://x/", "/relative", "http://user:pw@host/", "http://host:99999/", ""):
        with pytest.raises(UrlRefused):
            check_legacy_url(bad, [])
    # refusal messages are logged: a malformed URL's credentials must not reach them
    with pytest.raises(UrlRefused) as refused:
        check_legacy_url("http://app:s3cret-pw@[bad/cb", [])
    assert "s3cret-pw" not in str(refused.value)


def test_accounts_from_files_and_env(tmp_path: Path) -> None:
    other = "AC" + "3" * 32
    toml = tmp_path / "accounts.toml"
    toml.write_text(f'[accounts]\n{ACCOUNT} = "{TOKEN}"\n')
    js = tmp_path / "accounts.json"
    js.write_text(json.dumps({other: "t3"}))
    assert load_accounts(str(toml), f"{other}=t3").get(ACCOUNT) == TOKEN
    accounts = load_accounts(str(js), "")
    assert accounts.get(other) == "t3" and "t3" not in repr(accounts)
    bad = tmp_path / "bad.toml"
    bad.write_text(f'{ACCOUNT} = "secret-token-value"\nnot valid toml = = \n')
    with pytest.raises(ConfigError) as err:
        load_accounts(str(bad), "")
    assert "secret-token-value" not in str(err.value)
    with pytest.raises(ConfigError, match="AccountSid"):
        load_accounts("", "nope=token")


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"GATEWAY_PUBLIC_URL": "https://gw.example"}, "callback_signing_key"),
        ({"GATEWAY_PUBLIC_URL": "gw.example", "GATEWAY_CALLBACK_SIGNING_KEY": KEY}, "public_url"),
        ({"GATEWAY_PUBLIC_URL": "https://[gw", "GATEWAY_CALLBACK_SIGNING_KEY": KEY}, "public_url"),
        ({"GATEWAY_PUBLIC_URL": "https://gw:99999", "GATEWAY_CALLBACK_SIGNING_KEY": KEY}, "public_url"),
        ({"GATEWAY_CALLBACK_SIGNING_KEY": "short"}, "16"),
        ({"GATEWAY_ACCOUNTS_FILE": "/nonexistent/accounts.toml"}, "accounts_file"),
        ({"GATEWAY_CALLBACK_TIMEOUT": "0"}, "callback_timeout"),
    ],
)
def test_invalid_callback_settings(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        load_settings({}, env=env)


def test_valid_callback_settings_are_masked() -> None:
    s = load_settings(
        {}, env={"GATEWAY_PUBLIC_URL": "https://gw.example", "GATEWAY_CALLBACK_SIGNING_KEY": KEY,
                 "GATEWAY_ACCOUNTS": f"{ACCOUNT}={TOKEN}"},
    )
    masked = s.masked()
    assert masked["callback_signing_key"] == "****" and masked["accounts"] == "****"


def test_cli_prints_inbound_url(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.cli import main

    monkeypatch.setenv("GATEWAY_CALLBACK_SIGNING_KEY", KEY)
    argv = ["inbound-url", "--account-sid", ACCOUNT, "--sms-url", "https://legacy.example/sms",
            "--sms-method", "GET", "--public-url", "https://gw.example"]
    assert main(argv) == 0
    url = capsys.readouterr().out.strip()
    assert url.startswith("https://gw.example/callbacks/inbound/v1.")
    target = verify_token([KEY], url.rsplit("/", 1)[1], INBOUND)
    assert (target.url, target.method, target.account_sid) == (
        "https://legacy.example/sms", "GET", ACCOUNT,
    )
    monkeypatch.delenv("GATEWAY_CALLBACK_SIGNING_KEY")
    assert main(["inbound-url", "--account-sid", ACCOUNT, "--sms-url", "https://l/"]) == 2


@pytest.mark.parametrize("sid", [ACCOUNT + "\n", ACCOUNT + "0", "x", ACCOUNT[:-1]])
def test_inbound_url_needs_a_whole_account_sid(sid: str) -> None:
    # a trailing newline used to pass the ^...$ pattern and end up signed into the token
    with pytest.raises(ValueError, match="AccountSid"):
        inbound_webhook_url(gateway_settings(), sid, "https://legacy.example/sms")

