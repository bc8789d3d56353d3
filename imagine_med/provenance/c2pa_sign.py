"""Optional C2PA manifests (the `c2pa` extra: `pip install imagine-med[c2pa]`).

Why optional: c2pa-python is a 16 MB wheel that pulls `cryptography`, `requests` and friends
(~74 MB installed), and a C2PA manifest carries a random instance id and an ECDSA signature, so
signed files are no longer byte-identical for the same prompt and seed. The keyed invisible mark
and the PNG/XMP metadata are always there; C2PA is added on request (`generate --c2pa`, or
`sign_case_dir` from a bot).

Fully offline: the signing certificate comes from a local CA created on first use under
`<data_dir>/c2pa/` (private keys written 0600), no timestamp authority, and the reader is
told not to fetch remote manifests or OCSP. Readers outside this installation will report the
signature as valid but the credential as untrusted, which is the honest answer for a local key.
"""

from __future__ import annotations

import datetime
import io
import json
import os
from pathlib import Path
from typing import Any

from imagine_med import __version__
from imagine_med.provenance.metadata import IPTC_DST, NOTICE, digital_source_type

OFFLINE = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}


class C2paUnavailable(RuntimeError):
    """The extra is not installed; `message` says how to get it."""

    def __init__(self) -> None:
        self.message = "C2PA signing needs the optional extra: pip install 'imagine-med[c2pa]'"
        super().__init__(self.message)


def available() -> bool:
    try:
        import c2pa  # noqa: F401
    except ImportError:
        return False
    return True


def _import() -> Any:
    try:
        import c2pa
    except ImportError as exc:
        raise C2paUnavailable() from exc
    return c2pa


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def local_credentials(folder: Path) -> tuple[bytes, bytes, bytes]:
    """(certificate chain PEM, private key PEM, CA certificate PEM), created on first use:
    an EC P-256 CA and an end-entity signing certificate (C2PA rejects self-signed leaves)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder.mkdir(parents=True, exist_ok=True)
    chain_p, key_p, ca_p = folder / "chain.pem", folder / "signer.key", folder / "ca.pem"
    if chain_p.exists() and key_p.exists() and ca_p.exists():
        return chain_p.read_bytes(), key_p.read_bytes(), ca_p.read_bytes()

    def name(cn: str) -> x509.Name:
        return x509.Name([
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "imagine-med (local, synthetic images)"),
        ])

    def usage(**on: bool) -> x509.KeyUsage:
        flags = dict.fromkeys(
            ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only"),
            False,
        )
        return x509.KeyUsage(**{**flags, **on})

    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    end = start + datetime.timedelta(days=3650)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder().subject_name(name("imagine-med local CA"))
        .issuer_name(name("imagine-med local CA")).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage(key_cert_sign=True, crl_sign=True, digital_signature=True), True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder().subject_name(name("imagine-med signer"))
        .issuer_name(ca.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_pem = ca.public_bytes(pem)
    chain = leaf.public_bytes(pem) + ca_pem
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_private(key_p, key_pem)
    chain_p.write_bytes(chain)
    ca_p.write_bytes(ca_pem)
    return chain, key_pem, ca_pem


def manifest(title: str, engine: str, fields: dict[str, str]) -> dict[str, Any]:
    return {
        "claim_generator_info": [{"name": "imagine-med", "version": __version__}],
        "title": title,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {"actions": [{
                    "action": "c2pa.created",
                    "digitalSourceType": IPTC_DST + digital_source_type(engine),
                    "softwareAgent": {"name": "imagine-med", "version": __version__},
                    "description": NOTICE,
                }]},
            },
            {"label": "org.imagine-med.provenance", "data": fields},
        ],
    }


def sign_png(path: Path, engine: str, fields: dict[str, str], cred_dir: Path) -> None:
    """Embed a signed C2PA manifest into the PNG at `path` (rewritten in place)."""
    c2pa = _import()
    chain, key, _ = local_credentials(cred_dir)
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, key, None))
    ctx = c2pa.Context(settings=c2pa.Settings.from_dict(OFFLINE))
    builder = c2pa.Builder(json.dumps(manifest(path.name, engine, fields)), ctx)
    src = io.BytesIO(path.read_bytes())
    dst = io.BytesIO()
    builder.sign(signer, "image/png", src, dst)
    path.write_bytes(dst.getvalue())


def read_manifest(data: bytes, mime: str, ca_pem: bytes | None = None) -> dict[str, Any] | None:
    """The active manifest and validation state of a file, or None when it has no manifest.
    Offline; `ca_pem` (our local CA) makes our own signatures read as trusted."""
    c2pa = _import()
    settings: dict[str, Any] = dict(OFFLINE)
    if ca_pem:
        settings["trust"] = {"trust_anchors": ca_pem.decode()}
    try:
        ctx = c2pa.Context(settings=c2pa.Settings.from_dict(settings))
        reader = c2pa.Reader(mime, io.BytesIO(data), None, ctx)
    except c2pa.C2paError:
        return None
    doc = json.loads(reader.json())
    active = doc.get("manifests", {}).get(doc.get("active_manifest", ""), {})
    return {
        "state": doc.get("validation_state"),
        "status": [s.get("code") for s in doc.get("validation_status", []) or []],
        "assertions": {a["label"]: a.get("data") for a in active.get("assertions", [])},
    }


def sign_case_dir(out_dir: Path | str, engine: str, cred_dir: Path) -> list[Path]:
    """Sign every stamped PNG of a case folder (variants and grid), keeping their metadata."""
    from PIL import Image

    from imagine_med.provenance.metadata import read_png_fields

    signed = []
    for p in sorted(Path(out_dir).glob("*.png")):
        if p.name.endswith(".labels.png"):
            continue
        with Image.open(p) as im:
            fields = read_png_fields(im.info)
        sign_png(p, engine, fields, cred_dir)
        signed.append(p)
    return signed
