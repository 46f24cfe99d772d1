"""``client.csr``: certificate signing requests generated or read by the server."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .._protocol import converter as _converter
from .._protocol import validation as check
from .._protocol.messages import build_request
from ..errors import ValidationError
from ..models import CreateCsrRequest, CreatedCsr, DecodedCsr, SignatureHashAlgorithm
from .caller import Caller
from .orders import SIGNATURE_HASH_ALGORITHMS

#: RSA key sizes: CAs refuse fewer than 2048 bits and the API supports up to 4096.
KEY_SIZES = (2048, 3072, 4096)


def _bits(value: object) -> int:
    bits = check.int_range("bits", value, KEY_SIZES[0], KEY_SIZES[-1])
    if bits not in KEY_SIZES:
        raise ValidationError("bits", f"must be one of {', '.join(map(str, KEY_SIZES))}")
    return bits


# Subject lengths are RFC 5280's upper bounds, so the CA does not refuse what we send.
_CHECKS: dict[str, Callable[[Any], Any]] = {
    "bits": _bits,
    "country": lambda v: check.country("country", v),
    "email": lambda v: check.email("email", v),
    "locality": lambda v: check.text("locality", v, max_length=128),
    "organization": lambda v: check.text("organization", v, max_length=64),
    "signature_hash_algorithm": lambda v: check.choice(
        "signature_hash_algorithm", v, SIGNATURE_HASH_ALGORITHMS
    ),
    "state": lambda v: check.text("state", v, max_length=128),
    "subject_alternative_name": lambda v: tuple(check.hostnames("subject_alternative_name", v)),
    "unit": lambda v: check.text("unit", v, max_length=64),
    "with_config": lambda v: check.boolean("with_config", v),
}


class Csr:
    """Certificate signing requests. Reached as ``client.csr``."""

    def __init__(self, client: Caller) -> None:
        self._client = client

    async def create(
        self,
        common_name: str,
        *,
        bits: int | None = None,
        country: str | None = None,
        email: str | None = None,
        locality: str | None = None,
        organization: str | None = None,
        signature_hash_algorithm: SignatureHashAlgorithm | None = None,
        state: str | None = None,
        subject_alternative_name: Iterable[str] | None = None,
        unit: str | None = None,
        with_config: bool | None = None,
    ) -> CreatedCsr:
        """Have the server generate a key pair and a CSR for ``common_name``.

        ``CreatedCsr.key`` is the private key: keep it secret (it stays out of repr, logs
        and error messages). ``subject_alternative_name`` adds host names for multi-domain
        certificates; ``with_config=True`` also returns the OpenSSL config and command.
        """
        optional = {
            "bits": bits,
            "country": country,
            "email": email,
            "locality": locality,
            "organization": organization,
            "signature_hash_algorithm": signature_hash_algorithm,
            "state": state,
            "subject_alternative_name": subject_alternative_name,
            "unit": unit,
            "with_config": with_config,
        }
        fields = CreateCsrRequest(
            common_name=check.hostname("common_name", common_name),
            **{k: None if v is None else _CHECKS[k](v) for k, v in optional.items()},
        )
        request = build_request(
            "CreateCsr",
            "POST",
            "/ssl/csr",
            body=_converter.unstructure_request(fields),
            # Generating a CSR changes nothing on the server: a retry just makes another key.
            idempotent=True,
            sensitive=True,
        )
        return await self._client._execute(request, CreatedCsr)

    async def decode(self, pem: str) -> DecodedCsr:
        """What the server reads from a PEM CSR: subject, names, key size, hash algorithm."""
        body = {"csr": check.csr(pem, "pem")}
        request = build_request("DecodeCsr", "POST", "/ssl/csr/decode", body=body, idempotent=True)
        return await self._client._execute(request, DecodedCsr)
