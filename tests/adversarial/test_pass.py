"""The adversarial pass of issue 15 as a permanent suite, against the gateway run as a real
process (``sms-gateway serve --sandbox``) over raw sockets: malformed encodings, NUL and control
bytes, oversized lines, headers and bodies, duplicate and conflicting parameters, path tricks,
every HTTP method, chunked and conflicting framing, slow clients, forged, tampered, expired and
future tokens, SSRF targets, TwiML attacks; then a scan of everything both processes logged
(at DEBUG, libraries included) for credentials, tokens, bodies and unmasked numbers.

Two gateways: ``strict`` with the default SSRF policy, ``lenient`` with
GATEWAY_CALLBACK_ALLOW_PRIVATE_NETWORKS=1 so that it can reach the legacy app this test runs on
127.0.0.1 (for the TwiML attacks). Properties everywhere: never a 500, errors in the legacy
shape (or the HTTP parser's plain 400/413/431, or the connection closed), nothing reaches a
place it should not. The tests run in file order; the last one stops both gateways and scans.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import socket
import time
from collections.abc import Iterator
from urllib.parse import quote, urlencode, urlsplit

import pytest
from lxml import etree

from gateway.callbacks.tokens import ACTION, INBOUND, STATUS, CallbackTarget, sign_token
from gateway.callbacks.urls import INBOUND_PATH, STATUS_PATH
from gateway.callbacks.wrap import inbound_webhook_url
from gateway.config import Settings
from gateway.signing import compute_signature
from tests.adversarial.proc import (
    ACCOUNT,
    AUTH_TOKEN,
    BODY_MARK,
    KEY,
    RECIPIENT,
    SENDER,
    Gateway,
    LegacyApp,
    Response,
    check_shape,
    exchange,
    legacy_app,
    request,
    start_gateway,
)

CREDENTIALS = base64.b64encode(f"{ACCOUNT}:{AUTH_TOKEN}".encode()).decode()
AUTH = f"Authorization: Basic {CREDENTIALS}"
FORM = "Content-Type: application/x-www-form-urlencoded"
V2008 = f"/2008-08-01/Accounts/{ACCOUNT}/SMS/Messages"
V2010 = f"/2010-04-01/Accounts/{ACCOUNT}/SMS/Messages"
SID = "SM" + "d" * 32
GOOD_FORM = f"From={quote(SENDER)}&To={quote(RECIPIENT)}&Body={BODY_MARK}+hello".encode()
LOGS: dict[str, str] = {}


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gateway = start_gateway(tmp_path_factory.mktemp("strict") / "gateway.log")
    yield gateway
    LOGS["strict"] = gateway.stop()


@pytest.fixture(scope="module")
def lenient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gateway = start_gateway(
        tmp_path_factory.mktemp("lenient") / "gateway.log",
        GATEWAY_CALLBACK_ALLOW_PRIVATE_NETWORKS="1",
    )
    yield gateway
    LOGS["lenient"] = gateway.stop()


@pytest.fixture(scope="module")
def legacy() -> Iterator[LegacyApp]:
    with legacy_app() as app:
        yield app


def send(gw: Gateway, data: bytes) -> Response | None:
    resp = exchange(gw.port, data)
    if resp is not None:
        check_shape(resp)
    return resp


def post(gw: Gateway, path: str, body: bytes, *headers: str) -> Response | None:
    return send(gw, request("POST", path, AUTH, FORM, *headers, body=body))


# --- the requests ----------------------------------------------------------------------------


def test_a_real_send_and_list(strict: Gateway) -> None:
    resp = post(strict, V2008, GOOD_FORM)
    assert resp is not None and resp.status == 201, resp
    resp = send(strict, request("GET", f"{V2008}?To={quote(RECIPIENT)}", AUTH))
    assert resp is not None and resp.status == 200 and BODY_MARK.encode() in resp.body


@pytest.mark.parametrize("path", [V2008, V2010 + ".json"])
@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded; charset=undefined", GOOD_FORM),
        ("application/x-www-form-urlencoded; charset=idna", GOOD_FORM + b"&x=xn--a"),
        ("application/x-www-form-urlencoded; charset=utf-16", GOOD_FORM + b"\xff"),
        ("application/x-www-form-urlencoded; charset=utf-8", GOOD_FORM + b"%ff%fe%c3%28"),
        ("application/x-www-form-urlencoded; charset=rot13", GOOD_FORM),
        ("application/x-www-form-urlencoded; charset=\"", GOOD_FORM),
        ("multipart/form-data", GOOD_FORM),
        ("multipart/form-data; boundary=zz", b"--zz\r\nContent-Disposition: form-data\r\n\r\n"),
        ("multipart/form-data; boundary=zz; charset=undefined",
         b"--zz\r\nContent-Disposition: form-data; name=\"To\"\r\n\r\n1\r\n--zz--\r\n"),
        ("application/json", b'{"To": "' + RECIPIENT.encode() + b'"}'),
        ("text/plain", b"\xc3\x28%%%=&&=="),
        ("application/x-www-form-urlencoded", b"%" * 100 + b"=" + b"%zz" * 50),
    ],
)
def test_malformed_encodings(strict: Gateway, path: str, content_type: str, body: bytes) -> None:
    resp = send(strict, request("POST", path, AUTH, f"Content-Type: {content_type}", body=body))
    assert resp is not None


@pytest.mark.parametrize(
    "data",
    [
        request("GET", V2008 + "\x00", AUTH),
        request("GET", V2008 + "?To=%00&Body=" + BODY_MARK, AUTH),
        request("GET", V2008 + "?To=\x01", AUTH),
        request("GET", V2008, AUTH, "X-Evil: a\x00b"),
        request("GET", V2008, AUTH, "X-Evil: a\x7fb"),
        request("GET", V2008, AUTH, "X-Evil: a\rb"),
        request("GET", V2008, AUTH + "\x01"),
        request("GET", V2008, "X-\x01Name: 1", AUTH),
        request("POST", V2008, AUTH, FORM, body=GOOD_FORM + b"&Body=\x00\x01\x02"),
        request("POST", V2008, AUTH, FORM, body=b"To=%00&From=%00&Body=%00" + BODY_MARK.encode()),
        b"\x00\x01\x02\x03 / HTTP/1.1\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,  # a TLS hello
        b"GET /healthz HTTP/1.1\nHost: x\n\n",  # bare LF line ends
    ],
)
def test_nul_and_control_bytes(strict: Gateway, data: bytes) -> None:
    send(strict, data)


@pytest.mark.parametrize(
    "data",
    [
        request("GET", V2008 + "?To=" + "1" * 10000, AUTH),
        request("GET", V2008, AUTH, "X-Big: " + "a" * 5000),
        request("GET", V2008, AUTH + "A" * 5000),
        request("GET", V2008, AUTH, *(f"X-H{i}: {i}" for i in range(300))),
        request("POST", V2008, AUTH, FORM, body=GOOD_FORM + b"&x=" + b"y" * 20000),
        request("POST", V2008, AUTH, FORM, "Transfer-Encoding: chunked", length=False,
                body=(b"1000\r\n" + b"z" * 4096 + b"\r\n") * 5 + b"0\r\n\r\n"),
        request("POST", V2008, AUTH, FORM, body=b"Body=" + b"x" * 8000),
    ],
)
def test_oversized_lines_headers_and_bodies(strict: Gateway, data: bytes) -> None:
    resp = send(strict, data)
    assert resp is None or resp.status in (400, 404, 413, 431), resp


@pytest.mark.parametrize(
    ("method", "target", "body"),
    [
        ("POST", V2008, GOOD_FORM + b"&To=not-a-number&To=&Body=second"),
        ("POST", V2008, b"To=&To=" + quote(RECIPIENT).encode() + b"&From=" + quote(SENDER).encode()
         + b"&Body=" + BODY_MARK.encode()),
        ("POST", V2008 + "?To=4155550123", GOOD_FORM),
        ("POST", V2010 + ".json", GOOD_FORM + b"&StatusCallback=x&StatusCallback=http://[::1]/"),
        ("GET", V2008 + "?Page=1&Page=-1&PageSize=0&PageSize=99999&num=abc", b""),
        ("GET", V2008 + "?DateSent>=2010-01-01&DateSent>=bogus&DateSent<=2009-01-01", b""),
        ("GET", V2010 + ".json?Page=999999999999999999999&PageSize=-5", b""),
        ("GET", V2008 + "?=&&=&To", b""),
    ],
)
def test_duplicate_and_conflicting_parameters(
    strict: Gateway, method: str, target: str, body: bytes
) -> None:
    resp = send(strict, request(method, target, AUTH, FORM, body=body))
    assert resp is not None


@pytest.mark.parametrize(
    "path",
    [
        V2008 + "/../../../../etc/passwd", V2008 + "/%2e%2e/%2e%2e/", V2008 + "/..%2f..%2f",
        V2008 + "//" + SID, V2008 + "/" + SID + "%00.json", V2008 + "/" + SID + ".exe",
        "/2008-08-01/Accounts/" + ACCOUNT.lower() + "/SMS/Messages",
        "/2008-08-01/Accounts/AC" + "5" * 31 + "/SMS/Messages",
        "/2008-08-01/Accounts/../Accounts/" + ACCOUNT + "/SMS/Messages",
        "/2010-04-01/Accounts/" + ACCOUNT + "/Messages/../SMS/Messages.json",
        "/2010-04-01/Accounts/" + ACCOUNT + "/Calls.json", "/%2F%2Fevil.example/",
        "/callbacks/status/../inbound/x", "/callbacks/inbound/" + "A" * 1500,
        "/" + "a/" * 400, "/2008-08-01/Accounts/%41C" + "5" * 32 + "/SMS/Messages",
        "*", "http://169.254.169.254/latest/meta-data/", "/metrics/../healthz",
    ],
)
def test_path_tricks(strict: Gateway, path: str) -> None:
    resp = send(strict, request("GET", path, AUTH))
    assert resp is None or resp.status != 500


@pytest.mark.parametrize(
    "method",
    ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT", "PROPFIND",
     "MKCOL", "FOO", "get", "G\x00T"],
)
def test_every_http_method(strict: Gateway, method: str) -> None:
    for path in (V2008, V2008 + "/" + SID, V2010 + ".json", f"{V2010}/{SID}.json",
                 f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json", "/healthz", "/readyz",
                 STATUS_PATH + "v1.x.y", INBOUND_PATH + "v1.x.y", "/"):
        body = GOOD_FORM if method in ("POST", "PUT", "PATCH") else b""
        resp = send(strict, request(method, path, AUTH, FORM, body=body))
        if resp is not None and resp.status == 405:
            assert "allow" in resp.headers, (method, path)


def _raw(gw: Gateway, data: bytes, timeout: float = 5.0) -> bytes:
    chunks = []
    with socket.create_connection(("127.0.0.1", gw.port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (ConnectionResetError, BrokenPipeError):
            pass
    return b"".join(chunks)


SMUGGLED = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (("Content-Length: 4", "Transfer-Encoding: chunked"), b"0\r\n\r\n" + SMUGGLED),
        (("Transfer-Encoding: chunked", "Content-Length: 40"), b"0\r\n\r\n" + SMUGGLED),
        (("Content-Length: 5", "Content-Length: 40"), b"To=11" + SMUGGLED),
        (("Content-Length: 5, 40",), b"To=11" + SMUGGLED),
        (("Content-Length: +5",), b"To=11" + SMUGGLED),
        (("Content-Length: -1",), SMUGGLED),
        (("Transfer-Encoding: chunked, identity",), b"0\r\n\r\n" + SMUGGLED),
        (("Transfer-Encoding: gzip, chunked",), b"0\r\n\r\n"),
        (("Transfer-Encoding: xchunked",), b"0\r\n\r\n"),
        (("Transfer-Encoding:  chunked",), b"zz\r\nabc\r\n0\r\n\r\n"),
        (("Transfer-Encoding: chunked",), b"ffffffffffffffffffff\r\nabc\r\n0\r\n\r\n"),
        (("Transfer-Encoding: chunked",), b"3;ext=\"\x00\"\r\nTo=\r\n0\r\n\r\n"),
        (("Transfer-Encoding: chunked",), b"3\r\nTo=\n0\r\n\r\n"),
    ],
)
def test_chunked_and_conflicting_framing(
    strict: Gateway, headers: tuple[str, ...], body: bytes
) -> None:
    head = "\r\n".join([f"POST {V2008} HTTP/1.1", "Host: x", AUTH, FORM, *headers, "", ""])
    raw = _raw(strict, head.encode() + body)
    answers = re.findall(rb"HTTP/1\.1 (\d{3})", raw)
    # one answer at most: a second would be a request smuggled inside the first one's body
    assert len(answers) <= 1, raw[:500]
    assert not answers or answers[0] != b"500"


def test_a_well_formed_chunked_send_works(strict: Gateway) -> None:
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(GOOD_FORM), GOOD_FORM)
    resp = send(strict, request("POST", V2008, AUTH, FORM, "Transfer-Encoding: chunked",
                                body=body, length=False))
    assert resp is not None and resp.status == 201, resp


@pytest.mark.parametrize(
    "opening",
    [
        b"",  # connects and says nothing
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n",  # an unfinished head, then silence
        request("POST", V2008, AUTH, FORM)[:-2].replace(b"Content-Length: 0", b"")
        + b"Content-Length: 100\r\n\r\nTo=1",  # a body that never completes
    ],
)
def test_slow_clients_are_cut_off(strict: Gateway, opening: bytes) -> None:
    """GATEWAY_CLIENT_TIMEOUT is 1.5 s here; the connection is closed well within 6 s even
    while the client trickles a byte now and then."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", strict.port), timeout=6) as sock:
        sock.sendall(opening)
        closed = False
        while time.monotonic() - started < 6:
            try:
                sock.sendall(b"X" if opening and b"\r\n\r\n" not in opening else b"")
                sock.settimeout(0.3)
                if sock.recv(65536) == b"":
                    closed = True
                    break
            except TimeoutError:
                continue
            except (ConnectionResetError, BrokenPipeError):
                closed = True
                break
    assert closed, "a slow client kept its connection"


# --- tokens ----------------------------------------------------------------------------------


def _token(kind: str = STATUS, key: str = KEY, issued: float | None = None,
           url: str = "https://legacy.example.invalid/cb") -> str:
    at = int(time.time() if issued is None else issued)
    return sign_token(key, CallbackTarget(kind, url, ACCOUNT, "v2008", "POST", at))


def _twilio_post(gw: Gateway, path: str, params: list[tuple[str, str]],
                 auth_token: str = AUTH_TOKEN) -> Response | None:
    url = gw.public_url + path
    signature = compute_signature(auth_token, url, params)
    return send(gw, request("POST", path, FORM, f"X-Twilio-Signature: {signature}",
                            body=urlencode(params).encode()))


def _status_params(account: str = ACCOUNT) -> list[tuple[str, str]]:
    return [("MessageSid", SID), ("MessageStatus", "delivered"), ("AccountSid", account),
            ("From", SENDER), ("To", RECIPIENT), ("Body", BODY_MARK)]


def _tampered(token: str) -> str:
    version, payload, mac = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["u"] = "http://169.254.169.254/latest/meta-data/"
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{version}.{forged}.{mac}"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (STATUS_PATH + _token(key="another-key-0123456789abcdef"), 404),  # forged
        (STATUS_PATH + _tampered(_token()), 404),
        (STATUS_PATH + _token(issued=time.time() - 30 * 86400), 404),  # expired
        (STATUS_PATH + _token(issued=time.time() + 86400), 404),  # from the future
        (STATUS_PATH + _token(kind=INBOUND), 404),  # minted for another endpoint
        ("/callbacks/action/" + _token(kind=STATUS), 404),
        (INBOUND_PATH + _token(kind=ACTION), 404),
        (STATUS_PATH + "v1..", 404), (STATUS_PATH + "v1.%00.x", 404),
        (STATUS_PATH + "v2." + _token().split(".", 1)[1], 404),
        (STATUS_PATH + _token() + "x", 404),
    ],
)
def test_forged_tampered_expired_and_future_tokens(strict: Gateway, path: str,
                                                   status: int) -> None:
    resp = _twilio_post(strict, path, _status_params())
    assert resp is not None and resp.status == status, resp


def test_a_valid_token_with_a_bad_signature_or_account_is_refused(strict: Gateway) -> None:
    path = STATUS_PATH + _token()
    resp = _twilio_post(strict, path, _status_params(), auth_token="not-the-auth-token")
    assert resp is not None and resp.status == 403
    resp = _twilio_post(strict, path, _status_params(account="AC" + "6" * 32))
    assert resp is not None and resp.status == 403


# --- SSRF --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["http://127.0.0.1:{port}/cb", "http://localhost/cb", "http://0x7f.1/cb", "http://127.1/cb",
     "http://2130706433/cb", "http://[::1]/cb", "http://[::ffff:127.0.0.1]/cb",
     "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/cb", "http://192.168.0.1/",
     "http://[fd00::1]/", "http://224.0.0.1/", "http://0.0.0.0:{port}/"],
)
@pytest.mark.parametrize("path", [V2008, V2010 + ".json"])
def test_ssrf_targets_by_literal_are_refused(strict: Gateway, target: str, path: str) -> None:
    url = target.format(port=strict.port)
    resp = post(strict, path, GOOD_FORM + b"&StatusCallback=" + quote(url, safe="").encode())
    assert resp is not None and resp.status == 400, resp
    assert b"21609" in resp.body


def _name_resolving_internally() -> str:
    """A real name (not 'localhost') that resolves to an internal address here: this host's
    own name, as /etc/hosts gives it in containers and on most machines."""
    name = socket.gethostname()
    try:
        infos = socket.getaddrinfo(name, 80, proto=socket.IPPROTO_TCP)
    except OSError:
        pytest.skip(f"{name!r} does not resolve")
    if any(ipaddress.ip_address(i[4][0].split("%")[0]).is_global for i in infos):
        pytest.skip(f"{name!r} resolves to a public address")
    return name


def test_ssrf_by_a_name_resolving_to_loopback_is_refused_at_call_time(
    strict: Gateway, legacy: LegacyApp
) -> None:
    name = _name_resolving_internally()
    callback = f"http://{name}:{legacy.port}/status"
    before = strict.log().count("must not point at internal addresses")
    resp = post(strict, V2008, GOOD_FORM + b"&StatusCallback=" + quote(callback).encode())
    assert resp is not None and resp.status == 201, resp  # a name: checked when it is called
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if strict.log().count("must not point at internal addresses") > before:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the sandbox's status callback never reached the relay")
    assert not [s for s in legacy.seen if s[1] == "/status"]


# --- TwiML attacks -------------------------------------------------------------------------------

TWIML_ATTACKS = {
    "xxe": b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b"<Response><Sms>&x;</Sms></Response>",
    "laughs": b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
              + b"".join(b'<!ENTITY b%d "%s">' % (i, (b"&b%d;" % (i - 1) if i else b"&a;") * 10)
                         for i in range(8))
              + b"]><Response><Sms>&b7;</Sms></Response>",
    "redirect-metadata": b"<Response><Redirect>http://169.254.169.254/latest/meta-data/"
                         b"</Redirect></Response>",
    "redirect-zero": b"<Response><Sms>x</Sms><Redirect method='GET'>http://0.0.0.0/</Redirect>"
                     b"</Response>",
    "action-metadata": b"<Response><Sms action='http://169.254.169.254/a' "
                       b"statusCallback='http://[fd00:ec2::254]/s'>x</Sms></Response>",
    "message-metadata": b"<Response><Message action='http://169.254.169.254/m'>y</Message>"
                        b"</Response>",
    "nested": b"<Response><Message><Redirect>http://169.254.169.254/n</Redirect></Message>"
              b"</Response>",
    "pi-and-comment": b"<?xml-stylesheet href='http://169.254.169.254/x'?><Response>"
                      b"<!-- http://169.254.169.254/c --><Sms>ok</Sms></Response>",
    "not-xml": b"<Response><Sms>unclosed",
    "wrong-root": b"<html><Redirect>http://169.254.169.254/</Redirect></html>",
    "huge": b"<Response>" + b"<Sms>x</Sms>" * 8000 + b"</Response>",
}


@pytest.mark.parametrize("attack", list(TWIML_ATTACKS))
def test_twiml_attacks(lenient: Gateway, legacy: LegacyApp, attack: str) -> None:
    legacy.reply = lambda path: TWIML_ATTACKS[attack]
    settings = Settings(public_url=lenient.public_url, callback_signing_key=KEY,
                        callback_allow_private_networks=True)
    url = inbound_webhook_url(settings, ACCOUNT, legacy.url(f"/sms/{attack}"))
    params = [("MessageSid", SID), ("AccountSid", ACCOUNT), ("From", RECIPIENT),
              ("To", SENDER), ("Body", f"{BODY_MARK} {attack}")]
    resp = _twilio_post(lenient, urlsplit(url).path, params)
    assert resp is not None and resp.status == 200, resp
    assert any(p == f"/sms/{attack}" for _, p, _ in legacy.seen)
    root = etree.fromstring(resp.body)
    assert root.tag == "Response"
    text = resp.body.decode("utf-8", "replace")
    assert "169.254.169.254" not in text and "fd00:ec2" not in text and "0.0.0.0" not in text
    assert "root:" not in text and "aaaaaaaaaa" not in text and len(resp.body) < 200_000


def test_a_get_webhook_with_a_body_in_its_query(lenient: Gateway, legacy: LegacyApp) -> None:
    legacy.reply = lambda path: b"<Response/>"
    settings = Settings(public_url=lenient.public_url, callback_signing_key=KEY,
                        callback_allow_private_networks=True)
    url = inbound_webhook_url(settings, ACCOUNT, legacy.url("/sms-get"), "GET")
    params = [("MessageSid", SID), ("AccountSid", ACCOUNT), ("From", RECIPIENT),
              ("To", SENDER), ("Body", BODY_MARK + " via GET")]
    full = url + "?" + urlencode(params)
    signature = compute_signature(AUTH_TOKEN, full)
    split = urlsplit(full)
    resp = send(lenient, request("GET", f"{split.path}?{split.query}",
                                 f"X-Twilio-Signature: {signature}"))
    assert resp is not None and resp.status == 200, resp
    assert any(p.startswith("/sms-get") for _, p, _ in legacy.seen)


# --- the log scan ------------------------------------------------------------------------------

_TOKEN = re.compile(r"v1\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
# A run of 7+ digits not inside a word (sids, request ids) nor already masked (***).
_UNMASKED_NUMBER = re.compile(r"(?<![\w*.:-])\+?\d{7,15}(?![\w*])")


def test_zz_the_logs_hold_no_credentials_tokens_bodies_or_numbers(
    strict: Gateway, lenient: Gateway
) -> None:
    logs = {"strict": strict.stop(), "lenient": lenient.stop()}
    for name, text in logs.items():
        lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        assert len(lines) > 20, f"{name}: the pass left almost no log ({len(lines)} lines)"
        assert len(lines) == len(text.splitlines()), f"{name}: a line that is not JSON"
        if name == "strict":  # the libraries' loggers were captured, through the filter
            assert any(line["msg"].startswith("rejected a malformed request") for line in lines)
        for forbidden in (AUTH_TOKEN, CREDENTIALS, KEY, BODY_MARK, "ModuleNotFoundError"):
            assert forbidden not in text, f"{name}: {forbidden!r} is in the log"
        assert not _TOKEN.search(text), f"{name}: a callback token: {_TOKEN.search(text)}"
        for line in lines:
            flat = json.dumps(line)
            found = _UNMASKED_NUMBER.findall(
                " ".join(str(v) for k, v in line.items() if k not in ("pid", "ts"))
            )
            assert not found, f"{name}: unmasked number(s) {found} in {flat[:300]}"
            assert not (line["level"] == "error" and line["logger"].startswith("aiohttp")), flat
