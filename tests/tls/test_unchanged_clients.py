"""Legacy clients with no change at all: certificates from the real ``make-certs``, the real
gateway process serving TLS with them (``serve --sandbox --tls-cert --tls-key``), and real
legacy clients calling ``https://api.twilio.com`` as compiled in.

How api.twilio.com reaches the gateway: each client runs in its own subprocess with a
``sitecustomize`` that makes ``socket.getaddrinfo`` answer ``api.twilio.com`` (on any port, so
the compiled-in 443 too) with the test gateway's 127.0.0.1 and free port. The machine's
/etc/hosts and the clients' code stay as they are; no fixed port has to be free. TLS is
verified for real: the name is api.twilio.com (SNI and certificate check) and the only trust
added is ca.pem, in each client's own way (docs/deployment.md): twilio-python 5.x trusts just
the bundle it ships (twilio/conf/cacert.pem), so ca.pem is appended to that file in a copy of
the package; the urllib client uses the system default verification with SSL_CERT_FILE naming
the system bundle plus ca.pem; twilio-node 2.11.1 gets NODE_EXTRA_CA_CERTS, and its resolver
override is a ``--require``d script doing the same for Node's tls.connect.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509

from tests.ops.conftest import ROOT, GatewayProcess, StartGateway
from tests.support.legacy_clients import install, install_npm, run_script
from tests.tls.conftest import API_HOST, Certs, make_certs

ACCOUNT = "AC" + "5" * 32
TOKEN = "legacy-app-token"

TWILIO_5 = "twilio==5.7.0"
TWILIO_5_SCRIPT = r'''
import json, sys, urllib.parse
sys.modules["urlparse"] = urllib.parse  # twilio 5.x imports the Python 2 module name
from twilio.rest import TwilioRestClient

account, token = sys.argv[1:3]
client = TwilioRestClient(account, token)  # base: https://api.twilio.com, as shipped
sent = client.sms.messages.create(to="+14158675309", from_="+14158141829", body="over TLS")
got = client.sms.messages.get(sent.sid)
print(json.dumps({"sid": sent.sid, "status": sent.status, "uri": sent.uri, "got": got.body,
                  "listed": [m.body for m in client.sms.messages.list()]}))
'''

# The shape of a 2008-era client: the endpoint compiled in, the path appended after a "/" though
# it starts with one (so requests arrive as //2008-08-01/...), Basic credentials sent up front,
# and no TLS setting at all (urllib's default context: the system's trust).
URLLIB_2008_SCRIPT = r'''
import base64, json, sys, urllib.parse, urllib.request
API = "https://api.twilio.com"
account, token = sys.argv[1:3]

def request(path, params=None):
    uri = API + "/" + path
    data = urllib.parse.urlencode(params).encode() if params else None
    req = urllib.request.Request(uri, data)
    auth = base64.b64encode(("%s:%s" % (account, token)).encode()).decode()
    req.add_header("Authorization", "Basic %s" % auth)
    return urllib.request.urlopen(req, timeout=30).read().decode()

path = "/2008-08-01/Accounts/%s/SMS/Messages" % account
print(json.dumps([request(path, {"From": "4158141829", "To": "4159352345",
                                 "Body": "2008 over TLS"}),
                  request(path)]))
'''


TWILIO_NODE = "twilio@2.11.1"
# twilio-node 2.x: the host is compiled in and the URL always https:// (lib/Client.js).
TWILIO_NODE_SCRIPT = r"""
const twilio = require('twilio');
const [account, token] = process.argv.slice(1);
const client = twilio(account, token);
client.sendSms({to: '+14158675309', from: '+14158141829', body: 'node over TLS'}, (err, sent) => {
  if (err) { console.error(JSON.stringify(err)); process.exit(1); }
  client.listSms({}, (err2, list) => {
    if (err2) { console.error(JSON.stringify(err2)); process.exit(1); }
    console.log(JSON.stringify({sid: sent.sid, uri: sent.uri,
                                listed: list.smsMessages.map((m) => m.body)}));
  });
});
"""


def _system_bundle_with(ca: Path, out: Path) -> Path:
    """The system's default CA bundle with ``ca`` appended: what an image gets from
    update-ca-certificates, as one file for SSL_CERT_FILE."""
    default = ssl.get_default_verify_paths().cafile
    system = Path(default).read_bytes() if default and Path(default).is_file() else b""
    out.write_bytes(system + b"\n" + ca.read_bytes())
    return out


def _twilio_5_trusting(ca: Path, tmp: Path) -> Path:
    """A copy of the installed twilio 5.7.0 package whose shipped CA bundle also holds ``ca``
    (the one step docs/deployment.md gives for twilio-python 3.x-5.x); code untouched."""
    site = tmp / "app-site"
    shutil.copytree(install(TWILIO_5) / "twilio", site / "twilio")
    bundle = site / "twilio" / "conf" / "cacert.pem"
    bundle.write_bytes(bundle.read_bytes() + b"\n" + ca.read_bytes())
    return site


def _served_serial(port: int, ca: Path) -> int:
    """Serial number of the certificate the gateway presents for api.twilio.com now."""
    context = ssl.create_default_context(cafile=str(ca))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=API_HOST) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


def _file_serial(pem: Path) -> int:
    return x509.load_pem_x509_certificate(pem.read_bytes()).serial_number


async def _start_tls_gateway(
    start_gateway: StartGateway, certs: Certs, *args: str
) -> GatewayProcess:
    gw = await start_gateway(
        "--sandbox", "--sandbox-tick", "0", "--port", "0",
        "--tls-cert", str(certs.cert), "--tls-key", str(certs.key), *args,
    )
    assert gw.scheme == "https"
    return gw


async def test_real_legacy_clients_unchanged_over_tls(
    start_gateway: StartGateway, certs: Certs, resolver_dir: Path, tmp_path: Path
) -> None:
    # make-certs: the four files, keys owner-only, and trust steps for every ecosystem.
    for name, mode in (("ca.pem", 0o644), ("ca-key.pem", 0o600), ("server.pem", 0o644),
                       ("server-key.pem", 0o600)):
        assert (certs.out / name).stat().st_mode & 0o777 == mode, name
    for hint in ("update-ca-certificates", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS",
                 "curl.cainfo", "keytool", ".NET"):
        assert hint in certs.stdout

    gw = await _start_tls_gateway(start_gateway, certs)
    resolve = {"TEST_RESOLVE_API_TWILIO_COM": f"127.0.0.1:{gw.port}"}

    site = _twilio_5_trusting(certs.ca, tmp_path)
    try:
        out = await asyncio.to_thread(
            run_script, TWILIO_5, TWILIO_5_SCRIPT, ACCOUNT, TOKEN, timeout=120,
            path_before=[resolver_dir, site], extra_env=resolve,
        )
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"twilio 5.7.0 over TLS failed:\n{exc.stderr}")
    result = json.loads(out)
    assert result["sid"].startswith("SM") and len(result["sid"]) == 34
    # The client's own record of where it went: the compiled-in https://api.twilio.com.
    assert result["uri"] == (
        f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/SMS/Messages/{result['sid']}"
    )
    assert result["got"] == "over TLS"
    assert result["listed"] == ["over TLS"]

    bundle = _system_bundle_with(certs.ca, tmp_path / "bundle.pem")
    out = await asyncio.to_thread(
        run_script, TWILIO_5, URLLIB_2008_SCRIPT, ACCOUNT, TOKEN,
        path_before=[resolver_dir], extra_env={**resolve, "SSL_CERT_FILE": str(bundle)},
    )
    created, listed = json.loads(out)
    assert "<TwilioResponse><SMSMessage><Sid>SM" in created
    assert "<Body>2008 over TLS</Body>" in created
    assert "<To>4159352345</To>" in created
    assert listed.count("<SMSMessage>") == 2 and "<Body>over TLS</Body>" in listed

    # The trust is real: the same client without ca.pem refuses the gateway's certificate.
    with pytest.raises(subprocess.CalledProcessError) as refused:
        await asyncio.to_thread(
            run_script, TWILIO_5, URLLIB_2008_SCRIPT, ACCOUNT, TOKEN,
            path_before=[resolver_dir], extra_env=resolve,
        )
    assert "CERTIFICATE_VERIFY_FAILED" in refused.value.stderr

    # The client sent //2008-08-01/...; routing, logs and metrics saw the canonical path.
    paths = [r["path"] for r in gw.log_records() if r.get("logger") == "gateway.access"]
    assert f"/2008-08-01/Accounts/{ACCOUNT}/SMS/Messages" in paths
    assert not any("//" in str(p) for p in paths)


async def test_sighup_rotates_the_certificate_without_a_restart(
    start_gateway: StartGateway, certs: Certs
) -> None:
    gw = await _start_tls_gateway(start_gateway, certs)
    first = _file_serial(certs.cert)
    assert _served_serial(gw.port, certs.ca) == first

    proc = make_certs(certs.out, "--host", API_HOST, "--reuse-ca", "--force")
    assert proc.returncode == 0, proc.stderr
    second = _file_serial(certs.cert)
    assert second != first
    # Not before the signal: the files are read at start and on SIGHUP only.
    assert _served_serial(gw.port, certs.ca) == first

    gw.signal(signal.SIGHUP)
    await gw.wait_log("TLS certificate reloaded")
    assert _served_serial(gw.port, certs.ca) == second
    assert gw.proc.returncode is None  # the same process: no restart

    # A broken pair on the next rotation is refused and the current one kept.
    key = certs.key.read_bytes()
    certs.key.write_text("not a key\n")
    gw.signal(signal.SIGHUP)
    await gw.wait_log("TLS reload refused")
    assert _served_serial(gw.port, certs.ca) == second
    certs.key.write_bytes(key)
    assert gw.proc.returncode is None


async def test_workers_serve_tls_and_rotate_together(
    start_gateway: StartGateway, certs: Certs
) -> None:
    gw = await _start_tls_gateway(start_gateway, certs, "--workers", "2")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while sum("gateway listening on https" in line for line in gw.lines) < 2:
        assert loop.time() < deadline, "\n".join(gw.lines)
        await asyncio.sleep(0.05)
    assert _served_serial(gw.port, certs.ca) == _file_serial(certs.cert)

    proc = make_certs(certs.out, "--host", API_HOST, "--reuse-ca", "--force")
    assert proc.returncode == 0, proc.stderr
    gw.signal(signal.SIGHUP)  # to the supervisor, which passes it to each worker
    while sum("TLS certificate reloaded" in line for line in gw.lines) < 2:
        assert loop.time() < deadline, "\n".join(gw.lines)
        await asyncio.sleep(0.05)
    new = _file_serial(certs.cert)
    # Whichever worker the kernel hands each connection to, it presents the new certificate.
    assert {_served_serial(gw.port, certs.ca) for _ in range(6)} == {new}
    assert gw.proc.returncode is None


@pytest.mark.parametrize("case", ["missing", "mismatched", "only-cert"])
def test_a_bad_pair_fails_at_start(certs: Certs, tmp_path: Path, case: str) -> None:
    other = tmp_path / "other"
    assert make_certs(other, "--host", API_HOST).returncode == 0
    args = {
        "missing": ["--tls-cert", str(certs.cert), "--tls-key", str(tmp_path / "nope.pem")],
        "mismatched": ["--tls-cert", str(certs.cert), "--tls-key", str(other / "server-key.pem")],
        "only-cert": ["--tls-cert", str(certs.cert)],
    }[case]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    proc = subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--port", "0", *args],
        capture_output=True, text=True, timeout=60, env=env, cwd=str(ROOT), check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    expected = {
        "missing": "does not exist",
        "mismatched": "does not belong to the certificate",
        "only-cert": "give both or neither",
    }[case]
    assert "GATEWAY_TLS_KEY" in proc.stderr and expected in proc.stderr


def _run_node(
    node_modules: Path, resolver_dir: Path, port: int, ca: Path | None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODE_")}
    env.update({
        "NODE_PATH": str(node_modules),
        "NODE_OPTIONS": f"--require {resolver_dir / 'resolve.js'}",
        "TEST_RESOLVE_API_TWILIO_COM": f"127.0.0.1:{port}",
    })
    if ca is not None:
        env["NODE_EXTRA_CA_CERTS"] = str(ca)  # the one trust step docs/deployment.md gives
    return subprocess.run(
        ["node", "-e", TWILIO_NODE_SCRIPT, ACCOUNT, TOKEN],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )


async def test_twilio_node_2_unchanged_over_tls(
    start_gateway: StartGateway, certs: Certs, resolver_dir: Path
) -> None:
    if not (shutil.which("node") and shutil.which("npm")):
        if os.environ.get("CI"):
            pytest.fail("node and npm are needed for the twilio-node compatibility test")
        pytest.skip("node and npm are not installed")
    node_modules = await asyncio.to_thread(install_npm, TWILIO_NODE)
    gw = await _start_tls_gateway(start_gateway, certs)

    proc = await asyncio.to_thread(_run_node, node_modules, resolver_dir, gw.port, certs.ca)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["uri"] == f"/2010-04-01/Accounts/{ACCOUNT}/SMS/Messages/{result['sid']}.json"
    assert result["listed"] == ["node over TLS"]

    proc = await asyncio.to_thread(_run_node, node_modules, resolver_dir, gw.port, None)
    assert proc.returncode == 1 and "SELF_SIGNED_CERT_IN_CHAIN" in proc.stderr
