"""Every setting of the service: its environment variable (``NMD_CDS_<NAME>``), type and default.

This is the only module that reads the environment. ``Settings.from_env()`` is called once by
``create_app``; tests build ``Settings(...)`` directly or pass overrides to ``create_app``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any

PREFIX = "NMD_CDS_"


class ConfigError(ValueError):
    """A setting has a value the service cannot use; the message names the variable."""


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected on/off, got {value!r}")


@dataclass(frozen=True)
class Settings:
    """All settings with their defaults. The docstring of each field is in ``SETTINGS_DOC``."""

    # --- HTTP service ---
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 2
    threads: int = 1
    base_url: str = ""  # public base URL; empty = derive from the request
    max_body_bytes: int = 5 * 1024 * 1024
    max_json_depth: int = 64
    max_array_length: int = 50_000
    cors_origins: tuple[str, ...] = (
        "https://sandbox.cds-hooks.org",
        "http://localhost:8080",
        "http://localhost:3000",
    )
    log_level: str = "INFO"
    # --- clinical evaluation ---
    today: date | None = None  # pin "today" for reproducible tests; None = the real date (UTC)
    site_file: str = ""  # a site's overrides: thresholds and local codes (YAML or JSON)
    include_cerebral_palsy: bool = False
    explain_endpoint: bool = False  # POST /cds-services/{id}/explain for authenticated clients
    # --- FHIR server fallback (prefetch missing) ---
    fhir_timeout_s: float = 5.0
    fhir_page_count: int = 200  # _count added to fallback searches
    fhir_max_pages: int = 50
    fhir_max_response_bytes: int = 20 * 1024 * 1024
    fhir_allowed_servers: tuple[
        str, ...
    ] = ()  # allowlist of FHIR base URLs (prefix match); empty = any (dev only)
    # --- authentication of CDS clients ---
    auth: bool = True  # NMD_CDS_AUTH=off disables JWT checks (development only)
    dev_mode: bool = False
    trusted_issuers_file: str = (
        ""  # JSON: {issuer: {"jwks_file"|"jwks_url": ..., "jku_allowlist": [...], "tenants": [...]}}
    )
    trust_sandbox: bool = False  # trust the public CDS Hooks Sandbox key set (development only)
    behind_proxy: bool = False  # honour X-Forwarded-Proto/Host when computing the JWT audience
    jwt_leeway_s: int = 30
    jwt_max_lifetime_s: int = 3600
    # --- feedback storage ---
    database_url: str = ""  # postgresql://... ; empty = SQLite at sqlite_path
    sqlite_path: str = "var/nmd-cds.sqlite3"
    patient_hash_secret: str = ""  # HMAC key for patient ids in the store; empty = random per process (dev)
    suppression_days: int = 180
    topic_suppression_days: tuple[str, ...] = ()  # "topic=days" pairs overriding suppression_days per topic
    critical_suppression_days: int = 7
    retention_days: int = 730
    # --- trajectory app (SMART on FHIR app under /app/) ---
    app_client_id: str = "nmd-cds-trajectory"
    app_client_secret: str = ""  # set for a confidential client (client_secret_basic); empty = public + PKCE
    app_launch_url: str = ""  # launch URL put in card links; empty = <public base URL>/app/launch
    app_session_ttl_s: int = 900
    app_open_servers: tuple[str, ...] = ()  # FHIR base URLs read without authorization (dev mode only)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = PREFIX + f.name.upper()
            if name not in env:
                continue
            raw = env[name]
            try:
                values[f.name] = _parse(f.type, raw)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"{name}={raw!r}: {exc}") from exc
        values.update(overrides)
        settings = cls(**values)
        try:
            settings.topic_days()
        except ValueError as exc:
            raise ConfigError(f"{PREFIX}TOPIC_SUPPRESSION_DAYS: {exc}") from exc
        return settings

    def topic_days(self) -> dict[str, int]:
        """``topic_suppression_days`` as {topic: days}; raises ValueError on a malformed pair."""
        out: dict[str, int] = {}
        for pair in self.topic_suppression_days:
            topic, sep, days = pair.partition("=")
            if not sep or not topic.strip() or not days.strip().isdigit():
                raise ValueError(f"expected topic=days pairs, got {pair!r}")
            out[topic.strip()] = int(days)
        return out

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def _parse(type_name: Any, raw: str) -> Any:
    t = str(type_name)
    if t == "bool":
        return _bool(raw)
    if t == "int":
        return int(raw)
    if t == "float":
        return float(raw)
    if t.startswith("tuple"):
        return _csv(raw)
    if t.startswith("date"):
        return date.fromisoformat(raw) if raw.strip() else None
    return raw


SETTINGS_DOC: dict[str, str] = {
    "host": "Address gunicorn binds to (the Docker image sets 0.0.0.0).",
    "workers": "Number of gunicorn worker processes.",
    "threads": "Threads per gunicorn worker (gthread); the work is CPU-bound, so more add latency.",
    "port": "TCP port of the run command (the README's run script and the Dockerfile).",
    "base_url": "Public base URL of the service, used as the JWT audience; empty: derived from the request.",
    "max_body_bytes": "Largest request body accepted; larger bodies get 413.",
    "max_json_depth": "Deepest JSON nesting accepted; deeper bodies get 400.",
    "max_array_length": "Longest JSON array accepted; longer arrays get 400.",
    "cors_origins": "Comma-separated browser origins allowed by CORS (`*` allows any).",
    "log_level": "Python logging level.",
    "today": "Pin the service's notion of today (YYYY-MM-DD) for reproducible tests; empty: the real date.",
    "site_file": "A site's overrides: thresholds and local codes, YAML or JSON, validated at start-up.",
    "include_cerebral_palsy": "Treat cerebral palsy as in scope (off by default).",
    "explain_endpoint": "Serve the explain report (why each card fired or not, dropped data, unknown codes) "
    "at POST /cds-services/{id}/explain to authenticated clients; off by default (it holds patient data).",
    "fhir_timeout_s": "Timeout in seconds of each request to the EHR's FHIR server.",
    "fhir_page_count": "`_count` used when the service searches the FHIR server itself.",
    "fhir_max_pages": "Most search pages followed per prefetch key.",
    "fhir_max_response_bytes": "Largest FHIR response body read.",
    "fhir_allowed_servers": "Comma-separated FHIR base URLs the service may call (empty: dev mode only).",
    "auth": "JWT authentication of CDS clients; `off` only for local development.",
    "dev_mode": "Development mode: allows http FHIR servers and an empty FHIR allowlist.",
    "trusted_issuers_file": "JSON file of trusted JWT issuers, JWK Sets, jku allowlists, tenants.",
    "trust_sandbox": "Trust the public CDS Hooks Sandbox key set (dev mode only: its private key is public).",
    "behind_proxy": "Honour X-Forwarded-Proto/Host when computing the URL that must equal the JWT `aud`.",
    "jwt_leeway_s": "Clock leeway in seconds for `exp`/`iat`.",
    "jwt_max_lifetime_s": "Longest JWT lifetime accepted; also how long `jti` values are remembered.",
    "database_url": "PostgreSQL URL for feedback storage; empty: SQLite.",
    "sqlite_path": "SQLite file for feedback storage when no database URL is set.",
    "patient_hash_secret": "Secret for the keyed hash of patient ids in the feedback store.",
    "suppression_days": "Days a card overridden with a reason is not shown again for the same patient.",
    "topic_suppression_days": "Per-topic suppression periods, e.g. `spine-imaging=90,nutrition-referral=30`.",
    "critical_suppression_days": "Longest silencing of a critical card after an override.",
    "retention_days": "Days after which feedback records are purged by `python -m service feedback purge`.",
    "app_client_id": "OAuth client id of the trajectory app (/app/) as the EHR's SMART server knows it.",
    "app_client_secret": "Client secret if the EHR registered the app as confidential; empty: public.",
    "app_launch_url": "Launch URL of the trajectory app in card links; empty: <public base URL>/app/launch.",
    "app_session_ttl_s": "Lifetime in seconds of an app session (never longer than its access token).",
    "app_open_servers": "Open FHIR base URLs the app reads without authorization (dev mode only).",
}
