"""The gateway as a real subprocess (``sms-gateway serve --sandbox``) for the adversarial pass,
raw-socket HTTP to it, and a tiny legacy app on a thread.

Blocking sockets on purpose: malformed HTTP must reach the gateway byte for byte, and a plain
socket is the one client that normalises nothing."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from lxml import etree

from tests.support.rawhttp import split_answer

ACCOUNT = "AC" + "5" * 32
AUTH_TOKEN = "adv-auth-token-9f8e7d6c5b4a3f2e"
KEY = "adversarial-signing-key-0123456789"
BODY_MARK = "zqxj-secret-body-mark"  # in every message body the pass sends
SENDER = "+15005550006"  # the sandbox's always-valid sender
RECIPIENT = "+14155550199"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Gateway:
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str]

    @property
    def public_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> str:
        """SIGTERM, wait for the drain, and return everything the process logged."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def start_gateway(log_path: Path, **env: str) -> Gateway:
    port = free_port()
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "SANDBOX_"))},
        "GATEWAY_LOG_FORMAT": "json",
        "GATEWAY_LOG_LEVEL": "DEBUG",  # everything a library might say
        "GATEWAY_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "GATEWAY_CALLBACK_SIGNING_KEY": KEY,
        "GATEWAY_ACCOUNTS": f"{ACCOUNT}={AUTH_TOKEN}",
        "GATEWAY_CLIENT_TIMEOUT": "1.5",
        "GATEWAY_MAX_REQUEST_BODY": "8192",
        "GATEWAY_MAX_HEADER_SIZE": "2048",
        "GATEWAY_DRAIN_TIMEOUT": "3",
        "GATEWAY_CALLBACK_TIMEOUT": "2",
        "SANDBOX_TICK": "0.05",
        **env,
    }
    exe = Path(sys.executable).parent / "sms-gateway"
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "gateway.cli"]
    out = log_path.open("wb")
    proc = subprocess.Popen(
        [*command, "serve", "--sandbox", "--host", "127.0.0.1", "--port", str(port)],
        stdout=out, stderr=subprocess.STDOUT, env=full_env,
    )
    out.close()
    gateway = Gateway(port, proc, log_path, full_env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gateway exited: {gateway.log()[-2000:]}")
        with contextlib.suppress(OSError):
            resp = exchange(port, request("GET", "/healthz"), timeout=1.0)
            if resp is not None and resp.status == 200:
                return gateway
        time.sleep(0.05)
    gateway.stop()
    raise RuntimeError("gateway did not become healthy")


# --- raw HTTP ------------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


def request(method: str, target: str, *headers: str, body: bytes = b"",
            length: bool = True) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: api.twilio.com", *headers]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    lines += ["Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1") + body


def exchange(port: int, data: bytes, timeout: float = 5.0) -> Response | None:
    """Send ``data`` as it is; the answer read until the server closes, or None when it closed
    (or reset) without one."""
    chunks: list[bytes] = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except (ConnectionResetError, BrokenPipeError):
            pass
    raw = b"".join(chunks)
    if not raw:
        return None
    status, headers, body = split_answer(raw)
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    return Response(status, headers, body)


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2:]
    return out


def check_shape(resp: Response) -> None:
    """No 500 ever; an error the gateway rendered is in a legacy error shape. Errors of
    aiohttp's HTTP parser (the request never became a request) are plain text."""
    assert resp.status < 500 or resp.status in (502, 503, 504), resp
    if resp.status < 400 or not resp.body:
        return
    kind = resp.headers.get("content-type", "")
    if kind.startswith("application/json"):
        data = json.loads(resp.body)
        if "TwilioResponse" in data:  # the 2008 dialect's JSON
            assert data["TwilioResponse"]["RestException"]["Status"] == str(resp.status), resp
        else:
            assert data["status"] == resp.status, resp
    elif "xml" in kind:
        root = etree.fromstring(resp.body)
        status = root.findtext("RestException/Status") or root.findtext("Status")
        assert status == str(resp.status), resp
    elif kind.startswith("text/plain"):
        assert resp.status in (400, 413, 431), resp  # the HTTP parser's own refusal
    elif kind.startswith(("text/csv", "text/html")):
        assert str(resp.status).encode() in resp.body, resp
    else:
        raise AssertionError(f"unexpected error content type: {resp}")


# --- a legacy app ----------------------------------------------------------------------------


@dataclass
class LegacyApp:
    """Records what reaches it; answers with ``reply`` (a function of the path)."""

    port: int = 0
    seen: list[tuple[str, str, bytes]] = field(default_factory=list)
    reply: Callable[[str], bytes] = lambda path: b""

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@contextlib.contextmanager
def legacy_app() -> Iterator[LegacyApp]:
    app = LegacyApp()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            app.seen.append((self.command, self.path, body))
            data = app.reply(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    app.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app
    finally:
        server.shutdown()
        server.server_close()
