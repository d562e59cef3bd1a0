"""One configuration model for the gateway and the sandbox.

Every setting is declared once, as a field of :class:`Settings`, with its environment variable,
its command-line flag and its help text in the field's metadata. The CLI, the environment
loader and ``check-config`` are all generated from that one declaration, so a setting cannot be
documented in one place and missing from another.

Precedence: command-line flag > environment variable > config file (TOML) > default.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from gateway.state.url import mask_url


class ConfigError(ValueError):
    """A setting has a value the gateway cannot run with; the message names the setting."""


def _opt(
    default: Any,
    env: str,
    help: str,
    *,
    choices: tuple[str, ...] | None = None,
    secret: bool = False,
    cli: bool = True,
    mask: Any = None,
) -> Any:
    # ``mask``: for a value that may carry a secret inside it (a URL with a password), the
    # function that hides that part for check-config and logs.
    return field(
        default=default,
        metadata={
            "env": env, "help": help, "choices": choices, "secret": secret, "cli": cli,
            "mask": mask,
        },
    )


@dataclass(frozen=True, slots=True)
class Settings:
    # --- listening -------------------------------------------------------------------------
    host: str = _opt("127.0.0.1", "GATEWAY_HOST", "Address to listen on.")
    port: int = _opt(8080, "GATEWAY_PORT", "TCP port to listen on.")

    # --- upstream --------------------------------------------------------------------------
    upstream_url: str = _opt(
        "https://api.twilio.com",
        "GATEWAY_UPSTREAM_URL",
        "Base URL of the current Twilio API (scheme://host[:port], no path).",
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
        5.0, "GATEWAY_UPSTREAM_CONNECT_TIMEOUT", "Seconds to wait for an upstream connection."
    )
    upstream_timeout: float = _opt(
        30.0,
        "GATEWAY_UPSTREAM_TIMEOUT",
        "Total seconds all the upstream work of one legacy request may take (every upstream "
        "call of a list, retries and waits included) before the client gets a 504.",
    )
    upstream_max_connections: int = _opt(
        100, "GATEWAY_UPSTREAM_MAX_CONNECTIONS",
        "Most upstream connections open at once, per pool: the legacy dialects' pool and the "
        "current-API passthrough's each; a call waits for a free one within its budget.",
    )
    upstream_read_timeout: float = _opt(
        10.0,
        "GATEWAY_UPSTREAM_READ_TIMEOUT",
        "Seconds upstream may stay silent while the gateway waits for (more of) its answer; 0 "
        "leaves only --upstream-timeout.",
    )
    upstream_retries: int = _opt(
        2,
        "GATEWAY_UPSTREAM_RETRIES",
        "Most extra attempts per upstream request, all within --upstream-timeout. Sends are "
        "retried only when upstream provably did not process them (see docs/reliability.md).",
    )
    upstream_backoff_base: float = _opt(
        0.1,
        "GATEWAY_UPSTREAM_BACKOFF_BASE",
        "Seconds of the first retry backoff step; each further step doubles (with jitter).",
    )
    upstream_backoff_max: float = _opt(
        2.0, "GATEWAY_UPSTREAM_BACKOFF_MAX", "Longest retry backoff step, in seconds."
    )
    upstream_retry_after_max: float = _opt(
        5.0,
        "GATEWAY_UPSTREAM_RETRY_AFTER_MAX",
        "Longest upstream Retry-After (on 429/503) the gateway waits out before retrying; a "
        "longer one is passed to the client at once.",
    )
    upstream_max_response_bytes: int = _opt(
        16 * 1024 * 1024,
        "GATEWAY_UPSTREAM_MAX_RESPONSE_BYTES",
        "Largest upstream answer in bytes (after decompression); a larger one is a 502.",
    )

    # --- client limits ---------------------------------------------------------------------
    max_request_body: int = _opt(
        65536,
        "GATEWAY_MAX_REQUEST_BODY",
        "Largest request body in bytes a client may send; larger gets 413 in the legacy shape.",
    )
    max_header_size: int = _opt(
        8190,
        "GATEWAY_MAX_HEADER_SIZE",
        "Longest request line and longest single header, in bytes; longer gets 431/400.",
    )
    client_timeout: float = _opt(
        15.0,
        "GATEWAY_CLIENT_TIMEOUT",
        "Seconds a client may take to send a complete request (slow-client protection); the "
        "connection is closed after it.",
    )
    max_client_connections: int = _opt(
        1000,
        "GATEWAY_MAX_CLIENT_CONNECTIONS",
        "Most client connections open at once; further ones are closed at once.",
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

    # --- paging ----------------------------------------------------------------------------
    total_mode: str = _opt(
        "exact",
        "GATEWAY_TOTAL_MODE",
        "How list totals are computed over the cursor-only current API: 'exact' (walk the whole "
        "filtered list at the maximum page size, cached briefly), 'bounded' (walk at most "
        "--total-bound messages) or 'off' (no total walk).",
        choices=("exact", "bounded", "off"),
    )
    total_bound: int = _opt(
        10000,
        "GATEWAY_TOTAL_BOUND",
        "With --total-mode bounded: the most messages counted per list.",
    )
    total_ttl: float = _opt(
        21600.0,
        "GATEWAY_TOTAL_TTL",
        "Seconds an exact list count is trusted before a background recount re-verifies it "
        "(catches deletions inside the list); new messages are counted as they arrive.",
    )
    cursor_cache_size: int = _opt(
        10000,
        "GATEWAY_CURSOR_CACHE_SIZE",
        "Most entries of the process-local paging index (the memory:// store and the fallback "
        "when the shared state store fails), all accounts together.",
    )
    cursor_ttl: float = _opt(
        86400.0,
        "GATEWAY_CURSOR_TTL",
        "Seconds a list's paging index (count, checkpoints) is kept in the state store after "
        "its last change.",
    )
    upstream_page_size: int = _opt(
        1000,
        "GATEWAY_UPSTREAM_PAGE_SIZE",
        "PageSize the gateway asks upstream for when serving a legacy list page (1..1000); "
        "legacy pages are sliced out of these upstream pages. 0 asks upstream for the legacy "
        "page size itself (no slicing). See docs/paging.md.",
    )

    # --- paging at scale (issue 18) ---
    paging_wait: float = _opt(
        5.0,
        "GATEWAY_PAGING_WAIT",
        "Seconds a legacy list request waits for a running background count (or for the count "
        "to reach a deep page) before answering with a provisional total; always within "
        "--upstream-timeout. See docs/paging.md.",
    )
    paging_max_requests: int = _opt(
        20,
        "GATEWAY_PAGING_MAX_REQUESTS",
        "Most upstream list reads one legacy list request may make (background counts not "
        "included).",
    )
    paging_account_rps: int = _opt(
        100,
        "GATEWAY_PAGING_ACCOUNT_RPS",
        "Most upstream list reads per account per second, pages and background counts "
        "together, shared by all replicas through the state store.",
    )
    paging_count_concurrency: int = _opt(
        2,
        "GATEWAY_PAGING_COUNT_CONCURRENCY",
        "Most background list counts one process runs at a time per account.",
    )
    paging_bound_as_total: bool = _opt(
        False,
        "GATEWAY_PAGING_BOUND_AS_TOTAL",
        "With --total-mode bounded: report the messages counted up to the bound as the total "
        "(the behaviour before issue 18) instead of a provisional total that errs high.",
    )
    sandbox_latency: float = _opt(
        0.0,
        "SANDBOX_LATENCY",
        "Sandbox: seconds added to every API request before it is answered (to reproduce the "
        "real API's round trip locally).",
    )
    sandbox_seed: str = _opt(
        "",
        "SANDBOX_SEED",
        "Sandbox: accounts to fill with messages at start, 'AccountSid:count' pairs, "
        "comma-separated (bulk seeding for paging experiments).",
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
    )
    callback_max_body: int = _opt(
        65536,
        "GATEWAY_CALLBACK_MAX_BODY",
        "Largest body in bytes accepted from Twilio on a callback endpoint and read from a "
        "legacy app's answer.",
    )
    callback_dedup_size: int = _opt(
        100000,
        "GATEWAY_CALLBACK_DEDUP_SIZE",
        "Most messages remembered as already reported to their legacy StatusCallback.",
    )
    callback_dedup_ttl: float = _opt(
        86400.0,
        "GATEWAY_CALLBACK_DEDUP_TTL",
        "Seconds a message stays remembered as reported (later events are then suppressed).",
    )
    callback_token_max_age: float = _opt(
        604800.0,
        "GATEWAY_CALLBACK_TOKEN_MAX_AGE",
        "Seconds a status-callback token stays valid after the send; 0 = forever. Inbound "
        "webhook tokens never expire.",
    )

    # --- shared state (issue 17) ------------------------------------------------------------
    state_url: str = _opt(
        "memory://",
        "GATEWAY_STATE_URL",
        "Where state shared by the gateway's processes and replicas lives (which messages were "
        "reported to their legacy StatusCallback): 'memory://' (this process only; right for "
        "one replica with one worker), or Redis/Valkey as redis://[:password@]host:port/db, "
        "rediss://... (TLS) or unix:///path/to/socket?db=0. See docs/deployment.md.",
        mask=mask_url,
    )
    state_key_prefix: str = _opt(
        "sms-gateway:",
        "GATEWAY_STATE_KEY_PREFIX",
        "Prefix of every key the gateway writes in the state store (several gateways, or other "
        "users, can share one Redis database).",
    )
    state_timeout: float = _opt(
        0.5,
        "GATEWAY_STATE_TIMEOUT",
        "Seconds one state store call (connecting included) may take before the store counts "
        "as unavailable for that call.",
    )
    callback_store_down: str = _opt(
        "retry-later",
        "GATEWAY_CALLBACK_STORE_DOWN",
        "What the status-callback relay does while the state store is unavailable: "
        "'retry-later' answers Twilio 503 so the event comes again later (no duplicate; the "
        "safe default), 'relay' calls the legacy app anyway, remembering the message in this "
        "process only (a duplicate is possible if another replica gets another event of it).",
        choices=("retry-later", "relay"),
    )

    # --- sandbox ---------------------------------------------------------------------------
    sandbox_max_messages: int = _opt(
        100000,
        "SANDBOX_MAX_MESSAGES",
        "Sandbox: most messages kept per account; the oldest are evicted first.",
    )
    sandbox_tick: float = _opt(
        1.0,
        "SANDBOX_TICK",
        "Sandbox: seconds between status steps (queued -> sending -> sent -> delivered); 0 "
        "makes a message reach its final status at once.",
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
    )
    workers: int = _opt(
        1,
        "GATEWAY_WORKERS",
        "Worker processes sharing the port (SO_REUSEPORT); more than 1 runs a supervisor that "
        "also hosts the sandbox and aggregates metrics across workers.",
    )
    upstream_max_concurrency: int = _opt(
        100,
        "GATEWAY_UPSTREAM_MAX_CONCURRENCY",
        "Most upstream requests in flight per process; more wait (up to --upstream-timeout, "
        "then 503 with code 20503).",
    )
    drain_timeout: float = _opt(
        20.0,
        "GATEWAY_DRAIN_TIMEOUT",
        "Seconds from SIGTERM to exit: readiness fails at once, in-flight requests get the rest "
        "of this time to finish. Keep it below the pod's terminationGracePeriodSeconds.",
    )
    drain_delay: float = _opt(
        0.0,
        "GATEWAY_DRAIN_DELAY",
        "Seconds (within --drain-timeout) the gateway keeps accepting requests after SIGTERM, "
        "reporting not-ready, so that load balancers stop routing to it first (a built-in "
        "pre-stop delay; 5 suits Kubernetes).",
    )
    readiness_cache: float = _opt(
        2.0,
        "GATEWAY_READINESS_CACHE",
        "Seconds /readyz reuses its last upstream reachability check (a TCP connect).",
    )
    config_file: str = _opt(
        "",
        "GATEWAY_CONFIG_FILE",
        "Optional TOML file with settings (keys are the field names, e.g. body_limit = 1600).",
    )

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
    return fields(Settings)


def _coerce(name: str, raw: Any, target: Any) -> Any:
    kind = type(target)
    try:
        if kind is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(raw)
        if kind is int:
            if isinstance(raw, bool):
                raise ValueError(raw)
            return int(raw)
        if kind is float:
            if isinstance(raw, bool):
                raise ValueError(raw)
            value = float(raw)
            # nan passes every range check below (all comparisons are false); inf means nothing
            # here either (0 is how a setting says "no limit")
            if not math.isfinite(value):
                raise ValueError(raw)
            return value
        return str(raw)
    except (TypeError, ValueError):
        raise ConfigError(
            f"setting {name!r}: {raw!r} is not a valid {kind.__name__}"
        ) from None


# Ranges of the settings whose users would otherwise fail only when the server is built (a
# traceback instead of exit 2) or quietly misread them (aiohttp reads a pool limit of 0 as
# "unlimited"): inclusive bounds, None for no upper bound.
_RANGES: dict[str, tuple[float, float | None]] = {
    "upstream_max_connections": (1, None),
    "upstream_page_size": (0, 1000),
    "total_bound": (1, None),
    "total_ttl": (0, None),
    "cursor_cache_size": (1, None),
    "cursor_ttl": (0, None),
    "paging_wait": (0, None),
    "paging_max_requests": (3, None),
    "paging_account_rps": (1, None),
    "paging_count_concurrency": (1, None),
    "sandbox_latency": (0, 60),
    "sandbox_max_messages": (1, None),
}


# One SANDBOX_SEED entry: an AccountSid and a message count.
_SEED_PAIR = re.compile(r"AC[0-9a-fA-F]{32}:[0-9]{1,8}")


def _check_ranges(s: Settings) -> None:
    env = {f.name: f.metadata["env"] for f in fields(s)}
    for name, (low, high) in _RANGES.items():
        value = getattr(s, name)
        if value < low or (high is not None and value > high):
            bound = f"within {low}..{high}" if high is not None else f"at least {low}"
            raise ConfigError(f"setting {name!r} ({env[name]}): {value} is not {bound}")


def _validate(s: Settings) -> None:
    for f in fields(s):
        choices = f.metadata.get("choices")
        if choices and getattr(s, f.name) not in choices:
            raise ConfigError(
                f"setting {f.name!r} ({f.metadata['env']}): {getattr(s, f.name)!r} is not one "
                f"of {', '.join(choices)}"
            )
    if not 0 <= s.port <= 65535:
        raise ConfigError(f"setting 'port' (GATEWAY_PORT): {s.port} is not a TCP port")
    if not 1 <= s.body_limit <= 1600:
        raise ConfigError(
            f"setting 'body_limit' (GATEWAY_BODY_LIMIT): {s.body_limit} is not within 1..1600"
        )
    if not s.upstream_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"setting 'upstream_url' (GATEWAY_UPSTREAM_URL): {s.upstream_url!r} must start with "
            "http:// or https://"
        )
    if s.upstream_timeout <= 0 or s.upstream_connect_timeout <= 0:
        raise ConfigError("settings 'upstream_timeout' and 'upstream_connect_timeout' must be > 0")
    if s.sandbox_tick < 0:
        raise ConfigError(f"setting 'sandbox_tick' (SANDBOX_TICK): {s.sandbox_tick} is negative")
    for part in filter(None, (p.strip() for p in s.sandbox_seed.split(","))):
        if not _SEED_PAIR.fullmatch(part):
            raise ConfigError(
                f"setting 'sandbox_seed' (SANDBOX_SEED): {part[:40]!r} is not AccountSid:count"
            )
    _check_ranges(s)
    from gateway.limits import validate_limit_settings

    validate_limit_settings(s)
    if s.legacy_timezone:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(s.legacy_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"setting 'legacy_timezone' (GATEWAY_LEGACY_TIMEZONE): unknown time zone "
                f"{s.legacy_timezone!r}"
            ) from None
    import phonenumbers

    if s.default_region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(
            f"setting 'default_region' (GATEWAY_DEFAULT_REGION): {s.default_region!r} is not a "
            "region phonenumbers knows"
        )
    from gateway.callbacks.settings import validate_callback_settings

    validate_callback_settings(s)
    from gateway.observability.settings import validate_operations_settings

    validate_operations_settings(s)
    from gateway.state.settings import validate_state_settings

    validate_state_settings(s)


def load_settings(
    cli: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Build validated settings from CLI values (None = not given), the environment and the
    optional TOML file named by either of them."""
    cli = {k: v for k, v in (cli or {}).items() if v is not None}
    env = os.environ if env is None else env
    defaults = Settings()
    values: dict[str, Any] = {}

    config_file = cli.get("config_file") or env.get("GATEWAY_CONFIG_FILE") or ""
    if config_file:
        try:
            data = tomllib.loads(Path(config_file).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"setting 'config_file': cannot read {config_file!r}: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"setting 'config_file': {config_file!r} is not TOML: {exc}") from None
        known = {f.name for f in fields(Settings)}
        for key, raw in data.items():
            name = key.replace("-", "_")
            if name not in known:
                raise ConfigError(f"config file {config_file!r}: unknown setting {key!r}")
            values[name] = _coerce(name, raw, getattr(defaults, name))

    for f in fields(Settings):
        env_name = f.metadata["env"]
        if env_name in env:
            values[f.name] = _coerce(env_name, env[env_name], getattr(defaults, f.name))
        if f.name in cli:
            values[f.name] = _coerce("--" + f.name.replace("_", "-"), cli[f.name], getattr(defaults, f.name))

    if "default_region" in values:
        values["default_region"] = str(values["default_region"]).upper()
    settings = dataclasses.replace(defaults, **values)
    _validate(settings)
    return settings
