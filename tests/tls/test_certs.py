"""``sms-gateway make-certs``: what it writes, that the chain verifies for the names asked for,
that it never overwrites by accident, and that --reuse-ca rotates the server certificate
under the same CA; and the TLS module's refusal of unusable pairs."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from gateway.tls import ReloadableContext, TlsError, check_pair, new_server_context
from tests.tls.conftest import API_HOST, Certs, make_certs


def _load_chain(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def _verify(certs: Certs, name: str) -> None:
    ca = x509.load_pem_x509_certificate(certs.ca.read_bytes())
    leaf, *rest = _load_chain(certs.cert)
    verifier = PolicyBuilder().store(Store([ca])).build_server_verifier(x509.DNSName(name))
    verifier.verify(leaf, rest)


def test_the_chain_verifies_for_the_names_asked_for(certs: Certs) -> None:
    _verify(certs, API_HOST)
    with pytest.raises(VerificationError):
        _verify(certs, "api.example.com")
    leaf = _load_chain(certs.cert)[0]
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [API_HOST]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    lifetime = leaf.not_valid_after_utc - leaf.not_valid_before_utc
    assert lifetime <= datetime.timedelta(days=826)  # what Apple platforms accept
    # The gateway's own loader takes the pair as written.
    check_pair(str(certs.cert), str(certs.key))


def test_refuses_to_overwrite_without_force(certs: Certs) -> None:
    before = {p.name: p.read_bytes() for p in certs.out.iterdir()}
    proc = make_certs(certs.out, "--host", API_HOST)
    assert proc.returncode == 2
    assert "--force" in proc.stderr and "Traceback" not in proc.stderr
    assert {p.name: p.read_bytes() for p in certs.out.iterdir()} == before

    proc = make_certs(certs.out, "--host", API_HOST, "--force")
    assert proc.returncode == 0, proc.stderr
    assert certs.ca.read_bytes() != before["ca.pem"]  # a new CA: apps must trust it again
    _verify(certs, API_HOST)


def test_reuse_ca_rotates_the_server_certificate_under_the_same_ca(certs: Certs) -> None:
    ca_before = certs.ca.read_bytes()
    leaf_before = _load_chain(certs.cert)[0]
    proc = make_certs(certs.out, "--host", API_HOST, "--reuse-ca")
    assert proc.returncode == 2  # server.pem exists: still no silent overwrite
    proc = make_certs(certs.out, "--host", API_HOST, "--reuse-ca", "--force")
    assert proc.returncode == 0, proc.stderr
    assert certs.ca.read_bytes() == ca_before
    assert _load_chain(certs.cert)[0].serial_number != leaf_before.serial_number
    _verify(certs, API_HOST)
    assert (certs.key.stat().st_mode & 0o777) == 0o600


def test_reuse_ca_without_a_ca_is_a_clear_error(tmp_path: Path) -> None:
    proc = make_certs(tmp_path / "empty", "--host", API_HOST, "--reuse-ca")
    assert proc.returncode == 2
    assert "cannot read the CA" in proc.stderr and "Traceback" not in proc.stderr


def test_server_context_is_tls_12_or_newer(certs: Certs) -> None:
    context = new_server_context(str(certs.cert), str(certs.key))
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


def test_unusable_pairs_are_refused_with_a_reason(certs: Certs, tmp_path: Path) -> None:
    other = tmp_path / "other"
    assert make_certs(other, "--host", API_HOST).returncode == 0
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n")
    cases = {
        "does not exist": (certs.cert, tmp_path / "missing.pem"),
        "does not belong to the certificate": (certs.cert, other / "server-key.pem"),
        "not a PEM": (certs.cert, garbage),
    }
    for reason, (cert, key) in cases.items():
        with pytest.raises(TlsError, match=reason):
            check_pair(str(cert), str(key))


def _handshake_serial(server: ssl.SSLContext, ca: Path) -> int:
    """A TLS handshake in memory against ``server``; the serial of the certificate it sent."""
    client_ctx = ssl.create_default_context(cafile=str(ca))
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=API_HOST)
    srv = server.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        for side in (client, srv):
            try:
                side.do_handshake()
            except ssl.SSLWantReadError:
                pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
    der = client.getpeercert(binary_form=True)
    assert der is not None, "no handshake"
    return x509.load_der_x509_certificate(der).serial_number


def test_reload_serves_the_new_pair_and_a_refused_one_keeps_the_live_pair(
    certs: Certs, tmp_path: Path
) -> None:
    live = ReloadableContext(str(certs.cert), str(certs.key))
    first = _load_chain(certs.cert)[0].serial_number
    assert _handshake_serial(live.context, certs.ca) == first

    assert make_certs(certs.out, "--host", API_HOST, "--reuse-ca", "--force").returncode == 0
    second = _load_chain(certs.cert)[0].serial_number
    assert live.reload() is True
    assert _handshake_serial(live.context, certs.ca) == second

    other = tmp_path / "other"
    assert make_certs(other, "--host", API_HOST).returncode == 0
    # A certificate whose key is not beside it yet (a rotation caught half-way).
    certs.cert.write_bytes((other / "server.pem").read_bytes())
    assert live.reload() is False
    assert live.reloads == 1
    assert _handshake_serial(live.context, certs.ca) == second
