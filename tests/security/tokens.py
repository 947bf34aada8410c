"""Test keys (EC P-256/P-384, RSA), their JWK Sets, issuer files and tokens signed with PyJWT."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

DATA = Path(__file__).resolve().parents[1] / "data" / "cds-hooks-spec"  # the spec's JWT example
ISS = "https://ehr.example.org"
AUD = "https://cds.example.org/cds-services/nmd-bone-health"


@dataclass(frozen=True)
class Key:
    alg: str
    kid: str
    private: Any

    def jwk(self) -> dict[str, Any]:
        algo = jwt.get_algorithm_by_name(self.alg)
        jwk = json.loads(algo.to_jwk(self.private.public_key()))
        jwk.update(kid=self.kid, use="sig", alg=self.alg)
        return jwk


@cache
def key(alg: str, kid: str | None = None) -> Key:
    if alg == "ES256":
        private: Any = ec.generate_private_key(ec.SECP256R1())
    elif alg == "ES384":
        private = ec.generate_private_key(ec.SECP384R1())
    else:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return Key(alg, kid or f"kid-{alg.lower()}", private)


def jwks(*keys: Key) -> dict[str, Any]:
    return {"keys": [k.jwk() for k in keys]}


def write_jwks(path: Path, *keys: Key) -> Path:
    path.write_text(json.dumps(jwks(*keys)))
    return path


def write_issuers(path: Path, issuers: dict[str, dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"issuers": issuers}))
    return path


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {"iss": ISS, "aud": AUD, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def token(k: Key, header: dict[str, Any] | None = None, **claim_changes: Any) -> str:
    headers = {"kid": k.kid, "typ": "JWT"}
    headers.update(header or {})
    headers = {h: v for h, v in headers.items() if v is not None}
    return jwt.encode(claims(**claim_changes), k.private, algorithm=k.alg, headers=headers)


def bearer(tok: str) -> str:
    return f"Bearer {tok}"
