"""Throwaway TLS certificates for a fake Last9: self-signed, and a CA itself, so the same file
is the server's chain and the bundle the action trusts (``REQUESTS_CA_BUNDLE``)."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path


def make_tls_files(folder: Path, *addresses: str) -> tuple[Path, Path]:
    """A certificate for ``addresses`` (IPs or host names): ``(cert.pem, key.pem)``."""
    from cryptography import x509  # noqa: PLC0415  (a dev dependency, only TLS tests need it)
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, addresses[0])])
    alternatives: list[x509.GeneralName] = []
    for address in addresses:
        try:
            alternatives.append(x509.IPAddress(ipaddress.ip_address(address)))
        except ValueError:
            alternatives.append(x509.DNSName(address))
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    usage = x509.KeyUsage(
        digital_signature=True,
        key_cert_sign=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "fake-last9-ca.pem", folder / "fake-last9-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
