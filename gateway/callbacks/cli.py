"""``sms-gateway inbound-url``: print the SMS URL to configure on a Twilio number."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from gateway.callbacks.translate import DIALECTS
from gateway.callbacks.wrap import inbound_webhook_url
from gateway.config import Settings

SETTINGS_USED = (
    "public_url", "callback_signing_key", "callback_allowed_hosts", "config_file",
    "callback_allow_private_networks",
)


def add_parser(
    sub: argparse._SubParsersAction,  # type: ignore[type-arg]
    add_setting_options: Callable[[argparse.ArgumentParser, Sequence[str] | None], None],
) -> None:
    parser = sub.add_parser(
        "inbound-url",
        help="print the SMS URL to set on a Twilio number for a legacy app",
        description="Print the gateway URL to configure as a Twilio phone number's SMS URL "
        "(method POST) so that its inbound messages reach --sms-url with the parameters of "
        "--dialect, a valid X-Twilio-Signature and their <Sms> replies translated. The URL "
        "carries a token signed with GATEWAY_CALLBACK_SIGNING_KEY; needs GATEWAY_PUBLIC_URL.",
    )
    parser.add_argument("--account-sid", required=True, help="the number's AccountSid")
    parser.add_argument("--sms-url", required=True, help="the legacy app's SMS URL")
    parser.add_argument(
        "--sms-method", default="POST", choices=("GET", "POST"),
        help="the HTTP method the legacy app expects (default POST)",
    )
    parser.add_argument(
        "--dialect", default="v2008", choices=DIALECTS,
        help="v2008 renders numbers as --number-format says; sms2010 keeps E.164",
    )
    add_setting_options(parser, SETTINGS_USED)


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        url = inbound_webhook_url(
            settings, args.account_sid, args.sms_url, args.sms_method, args.dialect
        )
    except ValueError as exc:
        print(f"sms-gateway inbound-url: {exc}", file=sys.stderr)
        return 2
    print(url)
    return 0
