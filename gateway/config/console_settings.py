"""The migration console's settings (issue 19), a section of
:class:`gateway.config.settings.Settings` declared apart so that no module passes 400 lines."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.config.option import opt as _opt


@dataclass(frozen=True)
class ConsoleSettings:
    # --- migration console (issue 19) ---
    console_token: str = _opt(
        "",
        "GATEWAY_CONSOLE_TOKEN",
        "Password (16+ characters) of the migration console at /console/ (HTTP Basic, any user "
        "name); empty turns the console off (it answers 404).",
        secret=True,
        cli=False,
    )
    console_on_ops_port: bool = _opt(
        False,
        "GATEWAY_CONSOLE_ON_OPS_PORT",
        "Serve the console on --metrics-port (the operations port) instead of the main port.",
    )
    ledger: bool = _opt(
        True,
        "GATEWAY_LEDGER",
        "Keep the ledger of legacy clients (accounts, clients, dialects, legacy features used) "
        "that the console and the legacy-feature metrics show.",
    )
    ledger_flush_interval: float = _opt(
        5.0,
        "GATEWAY_LEDGER_FLUSH_INTERVAL",
        "Seconds between two flushes of this process's ledger counts to the state store.",
        low=0.05,  # below it, a flush would be a store round trip per burst of requests
    )
    ledger_retention_days: int = _opt(
        8,
        "GATEWAY_LEDGER_RETENTION_DAYS",
        "Days the ledger keeps its daily counts and first/last-seen times (1..400).",
        low=1, high=400,
    )
    ledger_max_accounts: int = _opt(
        1000,
        "GATEWAY_LEDGER_MAX_ACCOUNTS",
        "Most accounts the ledger tracks; further accounts count as 'other'.",
        low=1,
    )
    ledger_max_clients: int = _opt(
        20,
        "GATEWAY_LEDGER_MAX_CLIENTS",
        "Most clients (normalised User-Agents) the ledger tracks per account; further ones "
        "count as 'other'.",
        low=1,
    )
    ledger_client_address: bool = _opt(
        False,
        "GATEWAY_LEDGER_CLIENT_ADDRESS",
        "Tell clients apart by source address too (User-Agent @ address).",
    )
    sunset: str = _opt(
        "",
        "GATEWAY_SUNSET",
        "Date (YYYY-MM-DD, UTC) the legacy endpoints go away: legacy answers then carry Sunset "
        "(RFC 8594), Deprecation (RFC 9745) and a Link to --sunset-link; empty adds none.",
    )
    sunset_link: str = _opt(
        "https://www.twilio.com/docs/messaging/api/message-resource",
        "GATEWAY_SUNSET_LINK",
        "Migration guide linked from legacy answers when --sunset is set.",
    )
    deprecation_date: str = _opt(
        "",
        "GATEWAY_DEPRECATION_DATE",
        "Date (YYYY-MM-DD) the Deprecation header names; empty: the day the process started.",
    )
