"""``sms-gateway``: the command line. Options are generated from :class:`gateway.config.Settings`
so that every flag has an environment variable and the same help text everywhere."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from gateway import __version__, certs
from gateway.callbacks import cli as callbacks_cli
from gateway.config import (
    ConfigError,
    Settings,
    load_settings,
    setting_fields,
    unknown_env_names,
)
from gateway.observability.logs import configure_logging
from gateway.tls import TlsError

DESCRIPTION = """\
A version-translating gateway for legacy Twilio SMS clients: it accepts the 2008-08-01 and
2010-04-01 /SMS/Messages APIs and forwards to the current Messages API, answering in the legacy
shape. Every option can also be set by the environment variable shown in its help, or in a TOML
file named by --config-file; flags win over the environment, the environment over the file.
"""

# The name only, never the value: a mistyped variable may well hold a token.
_UNKNOWN_ENV = "environment variable %s names no setting and is ignored (a typo?)"

# Which settings each subcommand shows; 'serve' and 'check-config' take them all.
SANDBOX_SETTINGS = (
    "host", "port", "sandbox_max_messages", "sandbox_tick", "sandbox_latency", "sandbox_seed",
    "log_level", "config_file", "log_format", "log_mask_numbers",
)


def _add_setting_options(parser: argparse.ArgumentParser, only: Sequence[str] | None) -> None:
    defaults = Settings()
    for f in setting_fields():
        if only is not None and f.name not in only:
            continue
        if not f.metadata.get("cli", True):
            continue  # secrets: a flag would show them in `ps` and shell history
        flag = "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        help_text = f"{f.metadata['help']} [env {f.metadata['env']}; default {default!r}]"
        if isinstance(default, bool):
            parser.add_argument(
                flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None,
                help=help_text,
            )
        else:
            parser.add_argument(
                flag, dest=f.name, type=type(default), default=None,
                choices=f.metadata.get("choices"), help=help_text,
                metavar=f.name.upper() if not f.metadata.get("choices") else None,
            )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sms-gateway", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = sub.add_parser(
        "serve",
        help="run the gateway",
        description="Run the gateway in front of the current Twilio API (--upstream-url), or "
        "in front of the embedded sandbox (--sandbox) when you have no Twilio account.",
    )
    _add_setting_options(serve, None)

    sandbox = sub.add_parser(
        "sandbox",
        help="run the embedded Twilio-compatible sandbox alone",
        description="Run a local, in-memory emulation of Twilio's current Messages API "
        "(/2010-04-01/Accounts/{AccountSid}/Messages.json), the deprecated /SMS/Messages "
        "resource and IncomingPhoneNumbers (see docs/sandbox.md). Any AccountSid (AC + 32 hex) "
        "with any non-empty token is accepted; nothing is ever sent to a phone.",
    )
    _add_setting_options(sandbox, SANDBOX_SETTINGS)

    check = sub.add_parser(
        "check-config",
        help="validate the configuration and print it with secrets masked",
        description="Load the configuration exactly as 'serve' would, validate it, and print "
        "the effective settings as JSON with secrets masked. Exits 2 on an invalid setting.",
    )
    _add_setting_options(check, None)
    callbacks_cli.add_parser(sub, _add_setting_options)
    certs.add_parser(sub)
    return parser


def _setup_logging(settings: Settings) -> None:
    configure_logging(settings.log_level, settings.log_format, settings.log_mask_numbers)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "make-certs":  # takes no settings
        return certs.run(args)
    cli_values: dict[str, Any] = {
        f.name: getattr(args, f.name) for f in setting_fields() if hasattr(args, f.name)
    }
    try:
        settings = load_settings(cli_values)
    except ConfigError as exc:
        print(f"sms-gateway: configuration error: {exc}", file=sys.stderr)
        return 2

    if args.command == "check-config":
        for name in unknown_env_names():
            print(f"sms-gateway: warning: {_UNKNOWN_ENV % name}", file=sys.stderr)
        print(json.dumps(settings.masked(), indent=2, sort_keys=True))
        return 0
    if args.command == "inbound-url":
        return callbacks_cli.run(args, settings)

    _setup_logging(settings)
    for name in unknown_env_names():
        logging.getLogger("gateway.config").warning(_UNKNOWN_ENV, name)
    # Imported here: check-config and inbound-url must not load the server side (aiohttp's
    # web application, the dialects, lxml, the sandbox) only to print and exit.
    from gateway import server, supervisor

    try:
        if args.command == "sandbox":
            server.run(server.serve_sandbox, settings)
        elif settings.workers > 1:
            return supervisor.serve_workers(settings)
        else:
            server.run(server.serve_gateway, settings)
    except (OSError, TlsError) as exc:  # TlsError: the pair changed after it was checked
        print(f"sms-gateway: cannot start: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0
