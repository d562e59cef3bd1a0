"""The settings' declarations: one model for the gateway and the sandbox.

Every setting is declared once, as a field of :class:`Settings`, with its environment variable,
its command-line flag, its help text and its bounds in the field's metadata. The CLI, the
loader (:mod:`gateway.config.load`), the checks (:mod:`gateway.config.checks`) and the docs are
all generated from that one declaration, so a setting cannot be documented in one place and
missing from another. The sections declared in modules of their own (:mod:`.paging_settings`,
:mod:`.state_settings`, :mod:`.console_settings`) are bases of :class:`Settings`, so that no
module passes 400 lines; these and :mod:`.option` import nothing from the package but the leaf
:mod:`gateway.state.url`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any

from gateway.config.console_settings import ConsoleSettings
from gateway.config.option import ConfigError
from gateway.config.option import opt as _opt
from gateway.config.paging_settings import PagingSettings
from gateway.config.state_settings import StateSettings

__all__ = ["ConfigError", "Settings", "setting_fields"]


# The sections declared apart are bases; their fields are listed after these (setting_fields).
@dataclass(frozen=True, slots=True)
class Settings(ConsoleSettings, StateSettings, PagingSettings):
    # --- listening -------------------------------------------------------------------------
    host: str = _opt("127.0.0.1", "GATEWAY_HOST", "Address to listen on.")
    port: int = _opt(8080, "GATEWAY_PORT", "TCP port to listen on.", low=0, high=65535)

    # --- TLS (issue 16) ---------------------------------------------------------------------
    tls_cert: str = _opt(
        "",
        "GATEWAY_TLS_CERT",
        "PEM certificate (chain) to serve TLS with on --port (e.g. server.pem from "
        "'sms-gateway make-certs'); with --tls-key. Re-read on SIGHUP. Empty serves plain HTTP.",
    )
    tls_key: str = _opt(
        "", "GATEWAY_TLS_KEY", "PEM private key (unencrypted) of --tls-cert. Re-read on SIGHUP."
    )

    # --- upstream --------------------------------------------------------------------------
    upstream_url: str = _opt(
        "https://api.twilio.com",
        "GATEWAY_UPSTREAM_URL",
        "Base URL of the current Twilio API (scheme://host[:port], no path; a path is refused).",
    )
    sandbox: bool = _opt(
        False,
        "GATEWAY_SANDBOX",
        "Run the embedded Twilio-compatible sandbox in the same process and use it as upstream "
        "(overrides --upstream-url).",
    )
    upstream_api: str = _opt(
        "messages",
        "GATEWAY_UPSTREAM_API",
        "Which upstream resource legacy requests are forwarded to: the current Messages API "
        "('messages') or the deprecated 2010-04-01 /SMS/Messages resource ('sms2010').",
        choices=("messages", "sms2010"),
    )
    upstream_connect_timeout: float = _opt(
        5.0, "GATEWAY_UPSTREAM_CONNECT_TIMEOUT", "Seconds to wait for an upstream connection.",
        above=0,
    )
    upstream_timeout: float = _opt(
        30.0,
        "GATEWAY_UPSTREAM_TIMEOUT",
        "Total seconds all the upstream work of one legacy request may take (every upstream "
        "call of a list, retries and waits included) before the client gets a 504.",
        above=0,
    )
    upstream_max_connections: int = _opt(
        100, "GATEWAY_UPSTREAM_MAX_CONNECTIONS",
        "Most upstream connections open at once, per pool: the legacy dialects' pool and the "
        "current-API passthrough's each; a call waits for a free one within its budget.",
        low=1,
    )
    upstream_read_timeout: float = _opt(
        10.0,
        "GATEWAY_UPSTREAM_READ_TIMEOUT",
        "Seconds upstream may stay silent while the gateway waits for (more of) its answer; 0 "
        "leaves only --upstream-timeout.",
        low=0,
    )
    upstream_retries: int = _opt(
        2,
        "GATEWAY_UPSTREAM_RETRIES",
        "Most extra attempts per upstream request, all within --upstream-timeout. Sends are "
        "retried only when upstream provably did not process them (see docs/reliability.md).",
        low=0,
    )
    upstream_backoff_base: float = _opt(
        0.1,
        "GATEWAY_UPSTREAM_BACKOFF_BASE",
        "Seconds of the first retry backoff step; each further step doubles (with jitter).",
        low=0,
    )
    upstream_backoff_max: float = _opt(
        2.0, "GATEWAY_UPSTREAM_BACKOFF_MAX", "Longest retry backoff step, in seconds.",
        low=0,
    )
    upstream_retry_after_max: float = _opt(
        5.0,
        "GATEWAY_UPSTREAM_RETRY_AFTER_MAX",
        "Longest upstream Retry-After (on 429/503) the gateway waits out before retrying; a "
        "longer one is passed to the client at once.",
        low=0,
    )
    upstream_max_response_bytes: int = _opt(
        16 * 1024 * 1024,
        "GATEWAY_UPSTREAM_MAX_RESPONSE_BYTES",
        "Largest upstream answer in bytes (after decompression); a larger one is a 502.",
        above=0,
    )

    # --- client limits ---------------------------------------------------------------------
    max_request_body: int = _opt(
        65536,
        "GATEWAY_MAX_REQUEST_BODY",
        "Largest request body in bytes a client may send; larger gets 413 in the legacy shape.",
        above=0,
    )
    max_header_size: int = _opt(
        8190,
        "GATEWAY_MAX_HEADER_SIZE",
        "Longest request line and longest single header, in bytes; longer gets 431/400.",
        above=0,
    )
    client_timeout: float = _opt(
        15.0,
        "GATEWAY_CLIENT_TIMEOUT",
        "Seconds a client may take to send a complete request (slow-client protection); the "
        "connection is closed after it.",
        above=0,
    )
    max_client_connections: int = _opt(
        1000,
        "GATEWAY_MAX_CLIENT_CONNECTIONS",
        "Most client connections open at once; further ones are closed at once.",
        above=0,
    )

    # --- translation -----------------------------------------------------------------------
    default_region: str = _opt(
        "US",
        "GATEWAY_DEFAULT_REGION",
        "ISO 3166 region used to read phone numbers written without a country code.",
    )
    body_limit: int = _opt(
        160,
        "GATEWAY_BODY_LIMIT",
        "Longest Body a legacy send may carry (160 as the legacy APIs documented, up to 1600).",
        low=1, high=1600,
    )
    number_format: str = _opt(
        "national",
        "GATEWAY_NUMBER_FORMAT",
        "How the 2008 dialect renders phone numbers: 'national' (North American numbers as 10 "
        "digits, others E.164, as the 2008 docs show), 'e164', or 'as-sent' (the string the "
        "client sent, where the gateway saw it).",
        choices=("national", "e164", "as-sent"),
    )
    outbound_call_flags: int = _opt(
        0,
        "GATEWAY_OUTBOUND_CALL_FLAGS",
        "2008 Flags value for messages whose current direction is outbound-call (2008 had no "
        "bit for it).",
    )
    legacy_timezone: str = _opt(
        "",
        "GATEWAY_LEGACY_TIMEZONE",
        "IANA time zone to render legacy dates in (e.g. America/Los_Angeles); empty keeps the "
        "upstream's GMT (+0000).",
    )

    # --- callbacks and inbound webhooks ----------------------------------------------------
    public_url: str = _opt(
        "",
        "GATEWAY_PUBLIC_URL",
        "Base URL at which Twilio reaches this gateway (e.g. https://sms-gw.example.com), mapping "
        "to the gateway's root. Status callbacks are relayed through it and Twilio's signatures "
        "are checked against it; empty forwards legacy StatusCallback URLs unchanged.",
    )
    callback_signing_key: str = _opt(
        "",
        "GATEWAY_CALLBACK_SIGNING_KEY",
        "Key (16+ characters) that signs the callback tokens in the gateway's callback URLs; "
        "several comma-separated keys rotate: the first signs, all verify. Required with "
        "--public-url.",
        secret=True,
        cli=False,
    )
    accounts_file: str = _opt(
        "",
        "GATEWAY_ACCOUNTS_FILE",
        "TOML or JSON file mapping AccountSid to AuthToken, used to check Twilio's callback "
        "signatures and to re-sign them for legacy apps.",
    )
    accounts: str = _opt(
        "",
        "GATEWAY_ACCOUNTS",
        "AccountSid=AuthToken pairs, comma-separated, added to --accounts-file.",
        secret=True,
        cli=False,
    )
    callback_allowed_hosts: str = _opt(
        "",
        "GATEWAY_CALLBACK_ALLOWED_HOSTS",
        "Comma-separated hosts legacy callback URLs may point at ('*.example.com' matches "
        "subdomains); empty allows any host.",
    )
    callback_timeout: float = _opt(
        10.0,
        "GATEWAY_CALLBACK_TIMEOUT",
        "Seconds a legacy app may take to answer a relayed callback or webhook (Twilio itself "
        "waits 15).",
        above=0,
    )
    callback_max_body: int = _opt(
        65536,
        "GATEWAY_CALLBACK_MAX_BODY",
        "Largest body in bytes accepted from Twilio on a callback endpoint and read from a "
        "legacy app's answer.",
        low=1,
    )
    callback_dedup_size: int = _opt(
        100000,
        "GATEWAY_CALLBACK_DEDUP_SIZE",
        "Most messages remembered as already reported to their legacy StatusCallback.",
        low=1,
    )
    callback_dedup_ttl: float = _opt(
        86400.0,
        "GATEWAY_CALLBACK_DEDUP_TTL",
        "Seconds a message stays remembered as reported (later events are then suppressed).",
        above=0,
    )
    callback_token_max_age: float = _opt(
        604800.0,
        "GATEWAY_CALLBACK_TOKEN_MAX_AGE",
        "Seconds a status-callback token stays valid after the send; 0 = forever. Inbound "
        "webhook tokens never expire.",
        low=0,
    )
    callback_allow_private_networks: bool = _opt(
        False,
        "GATEWAY_CALLBACK_ALLOW_PRIVATE_NETWORKS",
        "Let legacy callback and SMS URLs reach loopback, private (RFC 1918, 100.64/10), "
        "link-local and unique-local addresses, for legacy apps on an internal network or on "
        "this host. Off by default: such URLs are refused (SSRF). Metadata, multicast and "
        "reserved addresses are refused either way (docs/reliability.md).",
    )

    # --- sandbox ---------------------------------------------------------------------------
    sandbox_max_messages: int = _opt(
        100000,
        "SANDBOX_MAX_MESSAGES",
        "Sandbox: most messages kept per account; the oldest are evicted first.",
        low=1,
    )
    sandbox_tick: float = _opt(
        1.0,
        "SANDBOX_TICK",
        "Sandbox: seconds between status steps (queued -> sending -> sent -> delivered); 0 "
        "makes a message reach its final status at once.",
        low=0,
    )

    # --- operations ------------------------------------------------------------------------
    log_level: str = _opt(
        "INFO",
        "GATEWAY_LOG_LEVEL",
        "Logging level.",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
    )
    log_format: str = _opt(
        "auto",
        "GATEWAY_LOG_FORMAT",
        "Log format: 'json' (one JSON object per line), 'text' (readable), or 'auto' (text when "
        "stderr is a terminal, JSON otherwise, e.g. in containers).",
        choices=("auto", "json", "text"),
    )
    log_mask_numbers: bool = _opt(
        True,
        "GATEWAY_LOG_MASK_NUMBERS",
        "Mask phone numbers in logs (+1415***1212).",
    )
    metrics_port: int = _opt(
        0,
        "GATEWAY_METRICS_PORT",
        "Also serve /metrics on this port (on --host); 0 serves it on the main port only.",
        low=0, high=65535,
    )
    workers: int = _opt(
        1,
        "GATEWAY_WORKERS",
        "Worker processes sharing the port (SO_REUSEPORT); more than 1 runs a supervisor that "
        "also hosts the sandbox and aggregates metrics across workers.",
        low=1, high=256,
    )
    upstream_max_concurrency: int = _opt(
        100,
        "GATEWAY_UPSTREAM_MAX_CONCURRENCY",
        "Most upstream requests in flight per process; more wait (up to --upstream-timeout, "
        "then 503 with code 20503).",
        low=1,
    )
    drain_timeout: float = _opt(
        20.0,
        "GATEWAY_DRAIN_TIMEOUT",
        "Seconds from SIGTERM to exit: readiness fails at once, in-flight requests get the rest "
        "of this time to finish. Keep it below the pod's terminationGracePeriodSeconds.",
        above=0,
    )
    drain_delay: float = _opt(
        0.0,
        "GATEWAY_DRAIN_DELAY",
        "Seconds (within --drain-timeout) the gateway keeps accepting requests after SIGTERM, "
        "reporting not-ready, so that load balancers stop routing to it first (a built-in "
        "pre-stop delay; 5 suits Kubernetes).",
        low=0,
    )
    readiness_cache: float = _opt(
        2.0,
        "GATEWAY_READINESS_CACHE",
        "Seconds /readyz reuses its last upstream reachability check (a TCP connect).",
        low=0,
    )
    config_file: str = _opt(
        "",
        "GATEWAY_CONFIG_FILE",
        "Optional TOML file with settings (keys are the field names, e.g. body_limit = 1600).",
    )

    def signing_keys(self) -> tuple[str, ...]:
        """The callback signing keys, in order: the first signs, all verify."""
        return tuple(k.strip() for k in self.callback_signing_key.split(",") if k.strip())

    def masked(self) -> dict[str, Any]:
        """The effective settings with every secret replaced by a mask, for printing."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.metadata.get("secret") and value:
                value = "****"
            elif f.metadata.get("mask") and value:
                value = f.metadata["mask"](value)
            out[f.name] = value
        return out


def setting_fields() -> tuple[dataclasses.Field[Any], ...]:
    """Every setting in the order the docs and the CLI list them: this module's sections, then
    the sections declared apart (paging, shared state, migration console)."""
    every = fields(Settings)
    own = Settings.__annotations__
    return (*(f for f in every if f.name in own), *(f for f in every if f.name not in own))
