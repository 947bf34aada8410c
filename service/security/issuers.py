"""Trusted JWT issuers (CDS clients): where their keys are, which ``jku`` URLs may be followed, which tenants.

Read once at start-up from ``NMD_CDS_TRUSTED_ISSUERS_FILE`` (format in docs/security.md). The CDS Hooks
Sandbox is added only with ``trust_sandbox`` *and* ``dev_mode``: its private key is published, so anybody
can sign as the Sandbox. ``trust_sandbox`` without ``dev_mode`` refuses to start (ConfigError).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from service.config import ConfigError, Settings

SANDBOX_ISSUER = "https://sandbox.cds-hooks.org"
SANDBOX_JKU = "https://sandbox.cds-hooks.org/.well-known/jwks.json"
# A copy of the Sandbox's public key set ships in the package: the service must not fetch it at run time.
SANDBOX_JWKS_FILE = str(resources.files("service.security") / "sandbox-jwks.json")

_KNOWN_FIELDS = {"jwks_file", "jwks_url", "jku_allowlist", "tenants"}


@dataclass(frozen=True)
class TrustedIssuer:
    iss: str
    jwks_file: str | None = None
    jwks_url: str | None = None
    jku_allowlist: tuple[str, ...] = ()
    tenants: tuple[str, ...] = ()  # empty: any tenant (or none)

    def configured_source(self) -> tuple[str, str] | None:
        """The out-of-band key set: ("file", path) or ("url", url)."""
        if self.jwks_file:
            return ("file", self.jwks_file)
        if self.jwks_url:
            return ("url", self.jwks_url)
        return None


def load_trusted_issuers(settings: Settings) -> dict[str, TrustedIssuer]:
    """Every trusted issuer by exact ``iss``; raises ConfigError for an unusable configuration."""
    issuers: dict[str, TrustedIssuer] = {}
    if settings.trusted_issuers_file:
        issuers.update(_from_file(Path(settings.trusted_issuers_file), settings))
    if settings.trust_sandbox:
        if not settings.dev_mode:
            raise ConfigError(
                "NMD_CDS_TRUST_SANDBOX=on requires NMD_CDS_DEV_MODE=on: the Sandbox's private key is public, "
                "so trusting it in production would let anyone call the service"
            )
        issuers.setdefault(
            SANDBOX_ISSUER,
            TrustedIssuer(SANDBOX_ISSUER, jwks_file=SANDBOX_JWKS_FILE, jku_allowlist=(SANDBOX_JKU,)),
        )
    return issuers


def _from_file(path: Path, settings: Settings) -> dict[str, TrustedIssuer]:
    where = f"NMD_CDS_TRUSTED_ISSUERS_FILE={path}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{where}: cannot read JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("issuers"), dict):
        raise ConfigError(f'{where}: expected {{"issuers": {{"<iss>": {{...}}}}}}')
    out: dict[str, TrustedIssuer] = {}
    for iss, raw in data["issuers"].items():
        out[iss] = _issuer(iss, raw, path.parent, settings, where)
    return out


def _issuer(iss: str, raw: Any, base: Path, settings: Settings, where: str) -> TrustedIssuer:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: issuer {iss!r} must be an object")
    unknown = set(raw) - _KNOWN_FIELDS
    if unknown:
        raise ConfigError(f"{where}: issuer {iss!r} has unknown field(s) {sorted(unknown)}")
    jwks_file = raw.get("jwks_file")
    if jwks_file is not None:
        jwks_file = str((base / jwks_file) if not Path(jwks_file).is_absolute() else Path(jwks_file))
        if not Path(jwks_file).is_file():
            raise ConfigError(f"{where}: issuer {iss!r}: jwks_file {jwks_file} does not exist")
    jwks_url = raw.get("jwks_url")
    jku = _strings(raw.get("jku_allowlist", []), f"{where}: issuer {iss!r}: jku_allowlist")
    tenants = _strings(raw.get("tenants", []), f"{where}: issuer {iss!r}: tenants")
    for url in [u for u in [jwks_url, *jku] if u]:
        if not isinstance(url, str) or not (
            url.startswith("https://") or settings.dev_mode and url.startswith("http://")
        ):
            raise ConfigError(
                f"{where}: issuer {iss!r}: key set URL {url!r} must be https (http only in dev mode)"
            )
    if not (jwks_file or jwks_url or jku):
        raise ConfigError(f"{where}: issuer {iss!r} needs jwks_file, jwks_url or jku_allowlist")
    return TrustedIssuer(iss, jwks_file, jwks_url, jku, tenants)


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{what} must be a list of strings")
    return tuple(value)
