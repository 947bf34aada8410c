"""The FHIR fallback must not be an open proxy (SSRF): which ``fhirServer`` URLs the service may call.

Policy (docs/security.md):
- only ``http``/``https``; no user-info (``user@host`` confuses parsers), no query or fragment,
  no ``.``/``..`` path segments;
- link-local and metadata addresses (169.254.0.0/16, fe80::/10, also written as a decimal/hex IPv4 or as an
  IPv4-mapped IPv6 address) and unspecified/multicast addresses are refused always;
- outside dev mode: ``https`` only and the URL must match ``fhir_allowed_servers`` — an empty allowlist
  refuses every fhirServer;
- in dev mode: ``http`` is allowed; an empty allowlist allows any other host.
Matching compares scheme, host and port exactly and the path by whole segments, so an allowed
``https://ehr.example.org/fhir`` does not admit ``https://ehr.example.org.evil.com`` or ``…/fhir-admin``.
Host names are not resolved here: outside dev mode the allowlist is the control.
The allowlist is parsed once: ``validate_allowlist`` runs in ``create_app`` and a malformed entry stops
start-up with a ``ConfigError`` naming it (rather than refusing every fhirServer with a misleading reason).
The access token goes only to this server: the FHIR client refuses redirects and off-origin next links.
"""

from __future__ import annotations

import ipaddress
import socket
from functools import lru_cache
from urllib.parse import SplitResult, unquote, urlsplit

from service.config import PREFIX, ConfigError, Settings

_DEFAULT_PORTS = {"http": 80, "https": 443}
_ALWAYS_REFUSED = (
    ipaddress.ip_network("169.254.0.0/16"),  # link-local, cloud metadata (169.254.169.254)
    ipaddress.ip_network("fe80::/10"),
    ipaddress.ip_network("0.0.0.0/8"),
    ipaddress.ip_network("::/128"),
    ipaddress.ip_network("224.0.0.0/4"),
    ipaddress.ip_network("ff00::/8"),
    ipaddress.ip_network("fd00:ec2::254/128"),  # AWS metadata over IPv6
)
_METADATA_NAMES = {"metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"}


class FhirServerRefused(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def check_fhir_server(url: str, settings: Settings) -> None:
    """Raise FhirServerRefused unless the service may send requests (and a token) to ``url``."""
    parts = _parse(url)
    host = (parts.hostname or "").rstrip(".")
    address = _as_ip(host)
    if address is not None and any(
        address in net for net in _ALWAYS_REFUSED if net.version == address.version
    ):
        raise FhirServerRefused("fhirServer is a link-local, metadata or unspecified address")
    if host in _METADATA_NAMES:
        raise FhirServerRefused("fhirServer is a cloud metadata host")
    if not settings.dev_mode and parts.scheme != "https":
        raise FhirServerRefused("fhirServer must use https")
    if settings.fhir_allowed_servers:
        try:
            allowlist = parsed_allowlist(settings.fhir_allowed_servers)
        except ConfigError as exc:  # only when create_app's start-up check was bypassed
            raise FhirServerRefused(f"the FHIR server allowlist is invalid: {exc}") from exc
        if not any(_matches(parts, allowed) for allowed in allowlist):
            raise FhirServerRefused("fhirServer is not on the allowlist")
    elif not settings.dev_mode:
        raise FhirServerRefused("no FHIR server is allowed (set NMD_CDS_FHIR_ALLOWED_SERVERS)")


def validate_allowlist(settings: Settings) -> None:
    """Start-up check: raise ``ConfigError`` naming the first unusable ``fhir_allowed_servers`` entry."""
    parsed_allowlist(settings.fhir_allowed_servers)


@lru_cache(maxsize=8)
def parsed_allowlist(servers: tuple[str, ...]) -> tuple[SplitResult, ...]:
    """The allowlist entries parsed (cached: settings are immutable, so once per process in practice)."""
    parsed = []
    for entry in servers:
        try:
            parsed.append(_parse(entry))
        except FhirServerRefused as exc:
            reason = exc.reason.removeprefix("fhirServer ")
            raise ConfigError(
                f"{PREFIX}FHIR_ALLOWED_SERVERS: entry {entry!r} is not a usable FHIR base URL ({reason}); "
                "expected e.g. https://ehr.example.org/fhir"
            ) from exc
    return tuple(parsed)


def _parse(url: str) -> SplitResult:
    if not isinstance(url, str) or any(c.isspace() or ord(c) < 32 for c in url):
        raise FhirServerRefused("fhirServer must be an http(s) URL")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise FhirServerRefused("fhirServer is not a valid URL") from exc
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        raise FhirServerRefused("fhirServer must be an http(s) URL")
    if "@" in parts.netloc:
        raise FhirServerRefused("fhirServer must not contain user information")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise FhirServerRefused("fhirServer must not have a query or fragment")
    if any(seg in (".", "..") for seg in unquote(parts.path).split("/")) or "\\" in url:
        raise FhirServerRefused("fhirServer path must not contain '.' or '..' segments")
    return parts


def _as_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        try:
            # What getaddrinfo would accept as IPv4: "2852039166", "0xa9fea9fe", "169.254.43518".
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except (OSError, ValueError):
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _port(parts: SplitResult) -> int:
    return parts.port or _DEFAULT_PORTS[parts.scheme.lower()]


def _matches(url: SplitResult, allowed: SplitResult) -> bool:
    if url.scheme.lower() != allowed.scheme.lower() or _port(url) != _port(allowed):
        return False
    if (url.hostname or "").rstrip(".").lower() != (allowed.hostname or "").rstrip(".").lower():
        return False
    base = allowed.path.rstrip("/")
    path = url.path.rstrip("/")
    return path == base or path.startswith(base + "/")
