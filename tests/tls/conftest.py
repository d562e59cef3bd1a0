"""Fixtures for the TLS tests: certificates minted by the real ``sms-gateway make-certs`` and a
resolver override that sends legacy clients' ``api.twilio.com`` to a local gateway."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ops.conftest import ROOT, start_gateway  # noqa: F401 -- the fixture, shared

API_HOST = "api.twilio.com"

# Installed as sitecustomize in a client's subprocess: api.twilio.com (on any port; the clients
# have port 443 compiled in) resolves to, and connects to, the test gateway's address and port;
# every other name as usual. The machine's /etc/hosts is not touched, nor is any client code.
RESOLVER = '''
import os, socket
_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect
_host, _port = os.environ["TEST_RESOLVE_API_TWILIO_COM"].rsplit(":", 1)

def getaddrinfo(host, port, *args, **kwargs):
    if host == "api.twilio.com":
        return _real_getaddrinfo(_host, int(_port), *args, **kwargs)
    return _real_getaddrinfo(host, port, *args, **kwargs)

def connect(self, address):
    # httplib2 connects to (host name, port) itself, leaving the lookup to the C library.
    if isinstance(address, tuple) and address[0] == "api.twilio.com":
        address = (_host, int(_port))
    return _real_connect(self, address)

socket.getaddrinfo = getaddrinfo
socket.socket.connect = connect
'''


# The same for Node.js, loaded with --require: its https agent hands tls.connect the host and
# port; api.twilio.com goes to the test gateway, still named api.twilio.com for SNI and the
# certificate check.
NODE_RESOLVER = """
const tls = require('tls');
const [host, port] = process.env.TEST_RESOLVE_API_TWILIO_COM.split(':');
const realConnect = tls.connect;
tls.connect = function (...args) {
  const options = args.find((a) => a && typeof a === 'object');
  if (options && options.host === 'api.twilio.com') {
    options.servername = options.servername || 'api.twilio.com';
    options.host = host;
    options.port = Number(port);
  }
  return realConnect.apply(this, args);
};
"""


@dataclass(frozen=True)
class Certs:
    out: Path
    stdout: str

    @property
    def ca(self) -> Path:
        return self.out / "ca.pem"

    @property
    def cert(self) -> Path:
        return self.out / "server.pem"

    @property
    def key(self) -> Path:
        return self.out / "server-key.pem"


def make_certs(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "make-certs", "--out", str(out), *args],
        capture_output=True, text=True, timeout=60, cwd=str(ROOT), check=False,
    )


@pytest.fixture
def certs(tmp_path: Path) -> Certs:
    out = tmp_path / "certs"
    proc = make_certs(out, "--host", API_HOST, "--host", "127.0.0.1")
    assert proc.returncode == 0, proc.stderr
    return Certs(out, proc.stdout)


@pytest.fixture
def resolver_dir(tmp_path: Path) -> Path:
    """A folder holding the resolver override: sitecustomize.py (for PYTHONPATH) and resolve.js
    (for node --require)."""
    folder = tmp_path / "resolver"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(RESOLVER)
    (folder / "resolve.js").write_text(NODE_RESOLVER)
    return folder
