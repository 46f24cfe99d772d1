"""Just enough DER to make and read certificate signing requests without a crypto library.

Generated CSRs are structurally real PKCS#10 (subject, RSA public key, SAN extension) with
deterministic, unsigned key material, so create-then-decode round-trips and a real CSR pasted
from openssl decodes to its true subject and names. Validity of signatures is not checked.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Any, Final

from ._errors import INVALID_CSR, ApiError

_PEM = re.compile(
    r"-----BEGIN (NEW )?CERTIFICATE REQUEST-----\s*([A-Za-z0-9+/=\s]+?)\s*"
    r"-----END (NEW )?CERTIFICATE REQUEST-----"
)
_SUBJECT_OIDS: Final = {
    "2.5.4.3": "common_name",
    "2.5.4.6": "country",
    "2.5.4.7": "locality",
    "2.5.4.8": "state",
    "2.5.4.10": "organization",
    "2.5.4.11": "unit",
    "1.2.840.113549.1.9.1": "email",
}
_SUBJECT_ORDER: Final = ("country", "state", "locality", "organization", "unit", "common_name")
_RSA = "1.2.840.113549.1.1.1"
_SHA256_RSA = "1.2.840.113549.1.1.11"
_SHA1_RSA = "1.2.840.113549.1.1.5"
_EXT_REQUEST = "1.2.840.113549.1.9.14"
_SAN = "2.5.29.17"


def _tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes((tag, n)) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(size))) + size + content


def _oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    out = bytearray((40 * arcs[0] + arcs[1],))
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        rest = arc >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        out.extend(reversed(chunk))
    return _tlv(0x06, bytes(out))


def _int(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _seq(*items: bytes) -> bytes:
    return _tlv(0x30, b"".join(items))


def _stream(seed: str, size: int) -> bytes:
    """Deterministic pseudo-random bytes: same input, same CSR, every run."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out.extend(hashlib.sha256(f"{seed}/{counter}".encode()).digest())
        counter += 1
    return bytes(out[:size])


def _pem(label: str, der: bytes) -> str:
    b64 = base64.b64encode(der).decode()
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----"


def build_csr(
    subject: dict[str, str], sans: list[str], bits: int = 2048, sha1: bool = False
) -> str:
    """A PEM CSR for ``subject`` (keys as in csrCsrSubject) and SAN dNSNames ``sans``."""
    seed = f"{sorted(subject.items())}{sans}{bits}"
    rdns = []
    for key in (*_SUBJECT_ORDER, "email"):
        value = subject.get(key)
        if value:
            oid = next(o for o, k in _SUBJECT_OIDS.items() if k == key)
            tag = 0x13 if key == "country" else 0x16 if key == "email" else 0x0C
            rdns.append(_tlv(0x31, _seq(_oid(oid), _tlv(tag, value.encode()))))
    modulus = int.from_bytes(b"\x80" + _stream(seed + "n", bits // 8 - 1), "big") | 1
    rsa_key = _seq(_int(modulus), _int(65537))
    spki = _seq(_seq(_oid(_RSA), b"\x05\x00"), _tlv(0x03, b"\x00" + rsa_key))
    attrs = b""
    if sans:
        names = _seq(*(_tlv(0x82, s.encode()) for s in sans))
        ext = _seq(_seq(_oid(_SAN), _tlv(0x04, names)))
        attrs = _seq(_oid(_EXT_REQUEST), _tlv(0x31, ext))
    info = _seq(_int(0), _seq(*rdns), spki, _tlv(0xA0, attrs))
    alg = _seq(_oid(_SHA1_RSA if sha1 else _SHA256_RSA), b"\x05\x00")
    signature = _tlv(0x03, b"\x00" + _stream(seed + "s", bits // 8))
    return _pem("CERTIFICATE REQUEST", _seq(info, alg, signature))


def build_key(seed: str, bits: int = 2048) -> str:
    """A plausible (not usable) private key PEM to go with a generated CSR."""
    return _pem("PRIVATE KEY", _stream(seed + "k", bits // 2 + 64))


def _read(data: bytes, pos: int = 0) -> tuple[int, bytes, int]:
    """One TLV at ``pos``: (tag, content, position after it). Raises ValueError if malformed."""
    tag = data[pos]
    n = data[pos + 1]
    pos += 2
    if n & 0x80:
        size = n & 0x7F
        if not 0 < size <= 4:
            raise ValueError("bad length")
        n = int.from_bytes(data[pos : pos + size], "big")
        pos += size
    if pos + n > len(data):
        raise ValueError("truncated")
    return tag, data[pos : pos + n], pos + n


def _children(content: bytes) -> list[tuple[int, bytes]]:
    out = []
    pos = 0
    while pos < len(content):
        tag, inner, pos = _read(content, pos)
        out.append((tag, inner))
    return out


def _oid_text(content: bytes) -> str:
    arcs = [content[0] // 40, content[0] % 40]
    value = 0
    for byte in content[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    return ".".join(map(str, arcs))


def pem_der(csr: str) -> bytes:
    """The DER inside a PEM CSR block; a 10003 ApiError if it does not look like one."""
    match = _PEM.search(csr) if isinstance(csr, str) else None
    if match is None:
        raise ApiError(INVALID_CSR, "expected a PEM 'CERTIFICATE REQUEST' block")
    body = "".join(match.group(2).split())
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ApiError(INVALID_CSR, "CSR body is not base64") from exc


def _parse(der: bytes) -> dict[str, Any]:
    _, top, _ = _read(der)
    info, alg = _children(top)[:2]
    parts = _children(info[1])
    subject: dict[str, str] = {}
    for _, rdn in _children(parts[1][1]):
        for _, atv in _children(rdn):
            (_, oid), (_, value) = _children(atv)[:2]
            key = _SUBJECT_OIDS.get(_oid_text(oid))
            if key:
                subject[key] = value.decode("utf-8", "replace")
    _, spki_alg_and_key = parts[2]
    bitstring = _children(spki_alg_and_key)[1][1]
    modulus = _children(_children(bitstring[1:])[0][1])[0][1]
    bits = int.from_bytes(modulus, "big").bit_length()
    sans: list[str] = []
    for tag, attr in parts[3:]:
        if tag != 0xA0:
            continue
        for _, item in _children(attr):
            (_, oid), (_, values) = _children(item)[:2]
            if _oid_text(oid) != _EXT_REQUEST:
                continue
            for _, exts in _children(values):
                for _, ext in _children(exts):
                    fields = _children(ext)
                    if _oid_text(fields[0][1]) == _SAN:
                        for gtag, name in _children(_children(fields[-1][1])[0][1]):
                            if gtag == 0x82:
                                sans.append(name.decode("ascii", "replace"))
    sig_oid = _oid_text(_children(alg[1])[0][1])
    return {
        "subject": subject,
        "sans": sans,
        "bits": bits,
        "sha": "sha1" if sig_oid == _SHA1_RSA else "sha2",
        "public_key": _pem("PUBLIC KEY", _tlv(0x30, spki_alg_and_key)),
    }


def decode_csr(csr: str) -> dict[str, Any]:
    """csrDecodeCsrResponseData for ``csr``: real fields when the DER parses, else plausible."""
    der = pem_der(csr)
    try:
        parsed = _parse(der)
    except (ValueError, IndexError):
        digest = hashlib.sha256(der).hexdigest()
        parsed = {
            "subject": {"common_name": f"csr-{digest[:8]}.example.com"},
            "sans": [],
            "bits": 2048,
            "sha": "sha2",
            "public_key": "",
        }
    subject = parsed["subject"]
    names = {subject.get("common_name", ""), *parsed["sans"]} - {""}
    return {
        "domain_names_count": len(names),
        "public_key": {"bits": parsed["bits"], "key": parsed["public_key"]},
        "signature_hash_algorithm": parsed["sha"],
        "subject": subject,
        "subject_alternative_name": parsed["sans"],
    }


def csr_names(csr: str) -> tuple[str, list[str]]:
    """(common name, SANs) of a CSR, for orders created or updated with it."""
    decoded = decode_csr(csr)
    return decoded["subject"].get("common_name", ""), decoded["subject_alternative_name"]
