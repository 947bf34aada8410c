"""The FHIR fallback must not be an open proxy: which fhirServer URLs the service may call. STUB (issue 7)."""

from __future__ import annotations

from urllib.parse import urlsplit

from service.config import Settings


class FhirServerRefused(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def check_fhir_server(url: str, settings: Settings) -> None:
    """Raise FhirServerRefused unless the service may send requests (and a token) to ``url``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FhirServerRefused("fhirServer must be an http(s) URL")
    if settings.fhir_allowed_servers and not any(url.rstrip("/").startswith(a.rstrip("/")) for a in settings.fhir_allowed_servers):
        raise FhirServerRefused("fhirServer is not on the allowlist")
