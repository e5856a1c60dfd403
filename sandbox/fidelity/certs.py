"""The sandbox CA: certificates for the AWS endpoints, the caches and "the internet".

On AWS a function's TLS connections (to dynamodb.us-east-1.amazonaws.com, to an
ElastiCache endpoint with in-transit encryption, to any HTTPS site) are verified against
the public CAs its runtime trusts: Lambda's runtimes ship Amazon's root CAs in their
trust store (Node's bundled roots, the OS bundle for Python; "Lambda runtimes", AWS Lambda
Developer Guide), and ElastiCache's in-transit encryption uses certificates issued by
Amazon's CA for the endpoint names ("ElastiCache in-transit encryption (TLS)",
ElastiCache User Guide). The sandbox plays both: a CA made once per server start, whose
leaf certificates carry the very hostnames the clients ask for, and a trust environment
(`trust_env()`) that the invoke module puts in every container, as Lambda's runtime
trusts Amazon's CA. Nothing here is trusted outside the sandbox's own processes.

State lives in `CCT_SANDBOX_STATE_DIR` (a fresh temporary directory by default):
ca.pem, ca.key, bundle.pem (certifi's bundle + the CA) and one cert/key pair per leaf.
Keys are ECDSA P-256: generating one takes about a millisecond, and every TLS client the
functions use (Node, Python's ssl, redis-server's OpenSSL) accepts them.
"""

from __future__ import annotations

import atexit
import datetime
import hashlib
import ipaddress
import os
import shutil
import tempfile
import threading
from typing import Any

_lock = threading.RLock()
_state: dict[str, Any] = {}
_leaves: dict[tuple[str, ...], tuple[str, str]] = {}


def patch() -> None:
    """Make the CA at server start (install() calls patch once)."""
    _ensure_ca()


def state_dir() -> str:
    with _lock:
        if "dir" not in _state:
            wanted = os.environ.get("CCT_SANDBOX_STATE_DIR")
            if wanted:
                os.makedirs(wanted, exist_ok=True)
                _state["dir"] = wanted
            else:
                _state["dir"] = tempfile.mkdtemp(prefix="cct-sandbox-")
                atexit.register(shutil.rmtree, _state["dir"], True)
        return _state["dir"]


def _write(path: str, data: bytes, private: bool = False) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _ensure_ca() -> dict[str, Any]:
    if "ca_cert" in _state:
        return _state
    directory = state_dir()
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    with _lock:
        if "ca_cert" in _state:
            return _state
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cct sandbox"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"cct sandbox CA {os.getpid()}"),
        ])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                              key_encipherment=False, data_encipherment=False, key_agreement=False,
                              encipher_only=False, decipher_only=False),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        ca_pem = cert.public_bytes(serialization.Encoding.PEM)
        _write(os.path.join(directory, "ca.pem"), ca_pem)
        _write(os.path.join(directory, "ca.key"), key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()), private=True)
        try:
            import certifi

            with open(certifi.where(), "rb") as f:
                public = f.read()
        except (ImportError, OSError):
            public = b""
        _write(os.path.join(directory, "bundle.pem"), public.rstrip(b"\n") + b"\n" + ca_pem)
        _state.update(ca_cert=cert, ca_key=key, ca_pem=ca_pem)
    return _state


def ca_path() -> str:
    _ensure_ca()
    return os.path.join(state_dir(), "ca.pem")


def bundle_path() -> str:
    _ensure_ca()
    return os.path.join(state_dir(), "bundle.pem")


def ca_pem() -> bytes:
    return _ensure_ca()["ca_pem"]


def trust_env() -> dict[str, str]:
    """What a container needs to trust the sandbox CA as Lambda's runtimes trust Amazon's:
    Node adds NODE_EXTRA_CA_CERTS to its bundled roots; Python's ssl (and so urllib,
    requests via certifi's override) reads SSL_CERT_FILE; botocore reads AWS_CA_BUNDLE."""
    return {"NODE_EXTRA_CA_CERTS": ca_path(), "SSL_CERT_FILE": bundle_path(), "AWS_CA_BUNDLE": bundle_path()}


def leaf(hostnames: list[str] | tuple[str, ...]) -> tuple[str, str]:
    """(certfile, keyfile) of a server certificate for `hostnames` (DNS names or IPs),
    issued by the sandbox CA; made once per set of names, then reused."""
    names = tuple(sorted({h.lower().rstrip(".") for h in hostnames if h}))
    if not names:
        raise ValueError("leaf() needs at least one hostname")
    cached = _leaves.get(names)
    if cached:
        return cached
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca = _ensure_ca()
    with _lock:
        cached = _leaves.get(names)
        if cached:
            return cached
        key = ec.generate_private_key(ec.SECP256R1())
        sans: list[x509.GeneralName] = []
        for n in names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(n)))
            except ValueError:
                sans.append(x509.DNSName(n))
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0][:64])]))
            .issuer_name(ca["ca_cert"].subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca["ca_key"].public_key()),
                           critical=False)
            .sign(ca["ca_key"], hashes.SHA256())
        )
        digest = hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]
        certfile = os.path.join(state_dir(), f"leaf-{digest}.pem")
        keyfile = os.path.join(state_dir(), f"leaf-{digest}.key")
        _write(certfile, cert.public_bytes(serialization.Encoding.PEM))
        _write(keyfile, key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption()), private=True)
        _leaves[names] = (certfile, keyfile)
        return certfile, keyfile


def route(environ: dict[str, Any], start_response: Any) -> list[bytes] | None:
    """GET /cct-fidelity/ca: the CA certificate (PEM), for tests and tools that talk TLS
    to the sandbox's endpoints from outside a function."""
    if environ.get("PATH_INFO") != "/cct-fidelity/ca":
        return None
    data = ca_pem()
    start_response("200 OK", [("Content-Type", "application/x-pem-file"), ("Content-Length", str(len(data)))])
    return [data]
