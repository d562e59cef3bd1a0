"""TLS on the gateway's listening port: the server context and its reload on SIGHUP.

Legacy clients have ``https://api.twilio.com`` compiled in; answering them unchanged means
answering TLS for that name with a certificate they trust (``sms-gateway make-certs``,
docs/deployment.md). Certificates rotate without a restart: on SIGHUP the files are read again
and new handshakes use the new pair, while connections already open keep theirs.

This module knows files and contexts only (no settings), so configuration validation can use
it to report a bad pair at start.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl
from pathlib import Path
from typing import NoReturn

log = logging.getLogger("gateway.tls")


class TlsError(ValueError):
    """The certificate or key cannot be used; the message says why, naming files, never
    their contents."""


def _refuse_passphrase() -> NoReturn:
    # Without a password callback OpenSSL would prompt on the terminal and block start-up.
    raise TlsError("the private key is encrypted; give an unencrypted key (owner-only file)")


def _describe(exc: ssl.SSLError) -> str:
    reason = f"{exc.reason or ''} {exc}".upper()
    if "KEY_VALUES_MISMATCH" in reason:
        return "the private key does not belong to the certificate"
    if "PEM" in reason or "NO_START_LINE" in reason or "ASN1" in reason:
        return "not a PEM certificate and private key pair"
    return str(exc.reason or exc)


def _load_pair(context: ssl.SSLContext, cert: str, key: str) -> None:
    for name, path in (("certificate", cert), ("private key", key)):
        if not Path(path).is_file():
            raise TlsError(f"{name} file {path!r} does not exist (or is not a file)")
        try:
            with open(path, "rb"):
                pass
        except OSError as exc:
            raise TlsError(f"cannot read {name} file {path!r}: {exc.strerror}") from None
    try:
        context.load_cert_chain(cert, key, password=_refuse_passphrase)
    except ssl.SSLError as exc:
        raise TlsError(f"{cert!r} and {key!r}: {_describe(exc)}") from None
    except OSError as exc:  # the files went away or changed permissions meanwhile
        raise TlsError(f"{cert!r} and {key!r}: {exc.strerror}") from None


def new_server_context(cert: str, key: str) -> ssl.SSLContext:
    """A server context with ``cert`` and ``key`` loaded: TLS 1.2 or newer with Python's
    default (secure) cipher choice. Raises :class:`TlsError` on a missing, unreadable,
    malformed, encrypted or mismatched pair."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    _load_pair(context, cert, key)
    return context


def check_pair(cert: str, key: str) -> None:
    """Raise :class:`TlsError` unless ``cert`` and ``key`` make a usable pair."""
    new_server_context(cert, key)


class ReloadableContext:
    """The listening socket's SSL context, re-read from its files on :meth:`reload`.

    Loading into the live context is what makes new handshakes use the new pair (each
    connection takes the context's certificate when it starts). The pair is first loaded into
    a scratch context: a bad pair then leaves the live one as it was, because OpenSSL would
    drop the old key as soon as a certificate it does not match is installed.
    """

    def __init__(self, cert: str, key: str) -> None:
        self.cert = cert
        self.key = key
        self.context = new_server_context(cert, key)
        self.reloads = 0

    def reload(self) -> bool:
        """Read the files again; True if the new pair is in use, False (logged) if it was
        refused and the previous one stays."""
        try:
            check_pair(self.cert, self.key)
            _load_pair(self.context, self.cert, self.key)
        except TlsError as exc:
            log.error("TLS reload refused, still serving the previous certificate: %s", exc)
            return False
        self.reloads += 1
        log.info("TLS certificate reloaded from %s", self.cert)
        return True

    def reload_on_sighup(self, loop: asyncio.AbstractEventLoop) -> None:
        """Reload on every SIGHUP (whose default action would end the process)."""
        loop.add_signal_handler(signal.SIGHUP, self.reload)
