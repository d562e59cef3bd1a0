"""``sms-gateway make-certs``: a private certificate authority and a server certificate for the
names legacy clients call (``api.twilio.com``), so that the gateway can answer them over TLS
without any change to the clients: only the CA is added to what they trust.

Files written to ``--out``:

- ``ca.pem``: the CA certificate, the one file applications are told to trust;
- ``ca-key.pem``: its private key, owner-only (0600), kept beside it to issue later server
  certificates (``--reuse-ca``) so rotating the server certificate needs no new trust;
- ``server.pem``: the server certificate (and the CA after it: the chain the gateway sends);
- ``server-key.pem``: its private key, owner-only (0600).

RSA 2048 and SHA-256 throughout: what every TLS stack of the legacy clients' era still
verifies (old Java, PHP's curl, .NET Framework), while nothing current refuses it.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
SERVER_CERT = "server.pem"
SERVER_KEY = "server-key.pem"

CA_DAYS = 3650
# The longest a certificate from a user-added root may live on Apple platforms; others allow
# more. Rotate earlier with --reuse-ca and SIGHUP (docs/deployment.md).
SERVER_DAYS = 825
_KEY_BITS = 2048
_PUBLIC, _PRIVATE = 0o644, 0o600


class CertError(Exception):
    """make-certs cannot do what was asked; the message says why."""


@dataclass(frozen=True, slots=True)
class Issued:
    out: Path
    hosts: tuple[str, ...]
    reused_ca: bool


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS)


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sms-gateway local CA"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _now() -> datetime.datetime:
    # A little in the past: a client whose clock is slightly behind still accepts it.
    return datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)


def make_ca(common_name: str = "sms-gateway private CA") -> tuple[x509.Certificate,
                                                                     rsa.RSAPrivateKey]:
    key = _new_key()
    start = _now()
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _san(hosts: tuple[str, ...]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def make_server(
    hosts: tuple[str, ...], ca_cert: x509.Certificate, ca_key: rsa.RSAPrivateKey
) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """A server certificate for ``hosts`` (DNS names or IP addresses) signed by the CA."""
    key = _new_key()
    start = _now()
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=SERVER_DAYS))
        .add_extension(_san(hosts), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=True,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write ``path`` whole or not at all (a gateway reloading on SIGHUP never reads half a
    file), with ``mode`` from the start (a key is never readable by others, even briefly)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load_ca(out: Path) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    try:
        cert = x509.load_pem_x509_certificate((out / CA_CERT).read_bytes())
        key = serialization.load_pem_private_key((out / CA_KEY).read_bytes(), password=None)
    except OSError as exc:
        raise CertError(f"--reuse-ca: cannot read the CA in {out}: {exc.strerror}") from None
    except (ValueError, TypeError) as exc:
        raise CertError(f"--reuse-ca: {out / CA_CERT} or {out / CA_KEY}: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.public_key() != cert.public_key():
        raise CertError(f"--reuse-ca: {out / CA_KEY} is not the key of {out / CA_CERT}")
    return cert, key


def issue(out: Path, hosts: tuple[str, ...], *, force: bool = False,
          reuse_ca: bool = False) -> Issued:
    """Write the CA (or reuse the one in ``out``) and a server certificate for ``hosts``."""
    if not hosts:
        raise CertError("give at least one --host")
    for host in hosts:
        if not host or any(c.isspace() for c in host) or "/" in host:
            raise CertError(f"--host {host!r} is not a host name or IP address")
    written = (SERVER_CERT, SERVER_KEY) if reuse_ca else (CA_CERT, CA_KEY, SERVER_CERT, SERVER_KEY)
    existing = [name for name in written if (out / name).exists()]
    if existing and not force:
        raise CertError(
            f"{', '.join(str(out / n) for n in existing)} already exist(s); refusing to "
            "overwrite without --force"
        )
    out.mkdir(parents=True, exist_ok=True)
    if reuse_ca:
        ca_cert, ca_key = _load_ca(out)
    else:
        ca_cert, ca_key = make_ca()
        _write(out / CA_KEY, _key_pem(ca_key), _PRIVATE)
        _write(out / CA_CERT, _cert_pem(ca_cert), _PUBLIC)
    cert, key = make_server(hosts, ca_cert, ca_key)
    # The key first: a reload between the two writes then fails the pair check and keeps the
    # old pair rather than serving a certificate without its key.
    _write(out / SERVER_KEY, _key_pem(key), _PRIVATE)
    _write(out / SERVER_CERT, _cert_pem(cert) + _cert_pem(ca_cert), _PUBLIC)
    return Issued(out=out, hosts=hosts, reused_ca=reuse_ca)


def trust_instructions(out: Path) -> str:
    """How to make each ecosystem trust ``ca.pem`` (printed after the files are written)."""
    ca = (out / CA_CERT).resolve()
    return f"""\
Trust {ca} (and only that file; ca-key.pem stays with whoever issues certificates):

  Debian/Ubuntu images:   cp {ca} \\
                          /usr/local/share/ca-certificates/sms-gateway.crt && update-ca-certificates
  Alpine images:          apk add ca-certificates && cp {ca} \\
                          /usr/local/share/ca-certificates/sms-gateway.crt && update-ca-certificates
  RHEL/Fedora images:     cp {ca} /etc/pki/ca-trust/source/anchors/ && update-ca-trust
  Python (ssl, urllib):   SSL_CERT_FILE=<system bundle + ca.pem>  (a file holding both)
  Python requests:        REQUESTS_CA_BUNDLE=<system bundle + ca.pem>
  httplib2 (twilio-python 3.x-5.x ships its own bundle, twilio/conf/cacert.pem, and trusts
                          only it): append ca.pem to that file in the image
  Node.js:                NODE_EXTRA_CA_CERTS={ca}
  PHP (curl):             php.ini  curl.cainfo=<system bundle + ca.pem>
                          (twilio-php 3.x-4.x passes its own Services/cacert.pem: append
                          ca.pem to it)
  Java:                   keytool -importcert -noprompt -alias sms-gateway -file {ca} \\
                          -keystore "$JAVA_HOME/lib/security/cacerts" -storepass changeit
                          (JDK 8: $JAVA_HOME/jre/lib/security/cacerts)
  .NET on Linux:          the Debian/Alpine steps above (.NET reads the system store)
  .NET on Windows:        Import-Certificate -FilePath ca.pem \\
                          -CertStoreLocation Cert:\\LocalMachine\\Root

Then run the gateway with: sms-gateway serve --tls-cert {(out / SERVER_CERT).resolve()} \\
    --tls-key {(out / SERVER_KEY).resolve()} --port 443
and resolve api.twilio.com to it (a hosts entry; hostAliases in Kubernetes). See
docs/deployment.md.
"""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "make-certs",
        help="make a private CA and a server certificate for api.twilio.com",
        description="Write a private CA (ca.pem; its key ca-key.pem, owner-only) and a server "
        "certificate and key (server.pem, server-key.pem) for the given names, for serve "
        "--tls-cert/--tls-key, then print how to make applications trust ca.pem. Existing "
        "files are kept unless --force is given.",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="directory to write to")
    parser.add_argument(
        "--host", action="append", required=True, metavar="NAME",
        help="a DNS name or IP address the certificate is for (repeatable), e.g. "
        "--host api.twilio.com",
    )
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    parser.add_argument(
        "--reuse-ca", action="store_true",
        help="sign a new server certificate with the CA already in --out (rotation: "
        "applications keep trusting the same ca.pem)",
    )


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    try:
        issue(out, tuple(args.host), force=args.force, reuse_ca=args.reuse_ca)
    except CertError as exc:
        print(f"sms-gateway make-certs: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"sms-gateway make-certs: cannot write to {out}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"wrote {out / CA_CERT}, {out / CA_KEY}, {out / SERVER_CERT}, {out / SERVER_KEY}"
          if not args.reuse_ca else f"wrote {out / SERVER_CERT}, {out / SERVER_KEY}")
    print(trust_instructions(out))
    return 0
