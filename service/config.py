"""Every setting of the service: its environment variable (``NMD_CDS_<NAME>``), type, default and range.

This is the only module that reads the environment. ``Settings.from_env()`` is called once by
``create_app``; tests build ``Settings(...)`` directly or pass overrides to ``create_app``.

Configuration is strict: an unknown ``NMD_CDS_*`` name (a misspelling), a value that does not parse, a
number out of its range or a value outside its choices refuses start-up, each with one line naming the
variable (``ConfigError.lines()``). ``NMD_CDS_TEST_*`` names are the test suite's and are ignored.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PREFIX = "NMD_CDS_"
TEST_PREFIX = PREFIX + "TEST_"  # the test suite's own variables (e.g. NMD_CDS_TEST_PG_URL)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Relative paths (the default SQLite file) are resolved against the source checkout the service runs from,
# so the service and ``python -m service feedback`` open the same file wherever they are started; an
# installed package (no pyproject.toml beside it) resolves them against the working directory.
_CHECKOUT = Path(__file__).resolve().parents[1]
DATA_ROOT: Path | None = _CHECKOUT if (_CHECKOUT / "pyproject.toml").is_file() else None


class ConfigError(ValueError):
    """Settings the service cannot use; each problem is one line naming the variable."""

    def __init__(self, *problems: str):
        self.problems = [p for p in problems if p] or ["invalid configuration"]
        super().__init__("; ".join(self.problems))

    def lines(self) -> list[str]:
        """One line per problem, as printed when start-up is refused."""
        return [f"configuration error: {p}" for p in self.problems]


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
    body_read_timeout_s: float = 10.0  # whole request body must arrive within this (gunicorn worker)
    instances: int = 1  # instances (replicas) of the service sharing state; > 1 requires PostgreSQL
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
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``NMD_CDS_*`` variables; ConfigError listing every problem (one line each)."""
        env = os.environ if environ is None else environ
        known = {PREFIX + f.name.upper(): f for f in fields(cls)}
        problems: list[str] = []
        for name in sorted(n for n in env if n.startswith(PREFIX) and n not in known):
            if not name.startswith(TEST_PREFIX):
                near = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
                hint = f" (did you mean {near[0]}?)" if near else ""
                problems.append(f"{name}: unknown setting{hint}; service/config.py lists the settings")
        values: dict[str, Any] = {}
        for name, f in known.items():
            if name not in env:
                continue
            raw = env[name]
            try:
                values[f.name] = _parse(f.type, raw)
            except (TypeError, ValueError) as exc:
                problems.append(f"{name}={raw[:80]!r}: {exc}")
        values.update(overrides)
        settings = cls(**values)
        problems += settings.problems()  # ranges and choices of what did parse (defaults for the rest)
        if problems:
            raise ConfigError(*problems)
        return settings

    def check(self, serving: bool = False) -> None:
        """Raise ConfigError listing every out-of-range number, bad choice or inconsistency.

        ``serving``: also what the HTTP service needs (a fixed JWT audience in production), which the
        command-line tools do not.
        """
        problems = self.problems() + (self.serving_problems() if serving else [])
        if problems:
            raise ConfigError(*problems)

    def problems(self) -> list[str]:
        out = [
            f"{PREFIX}{name.upper()}={getattr(self, name)!r}: must be between {low:g} and {high:g}"
            for name, (low, high) in RANGES.items()
            if not low <= getattr(self, name) <= high
        ]
        if self.log_level.upper() not in LOG_LEVELS:
            out.append(f"{PREFIX}LOG_LEVEL={self.log_level!r}: must be one of {', '.join(LOG_LEVELS)}")
        if self.base_url and not _is_base_url(self.base_url):
            out.append(
                f"{PREFIX}BASE_URL={self.base_url!r}: must be an absolute http(s) URL, no query or fragment"
            )
        if self.database_url and urlsplit(self.database_url).scheme not in ("postgresql", "postgres"):
            out.append(f"{PREFIX}DATABASE_URL: must be a postgresql:// URL")
        bad_origins = [o for o in self.cors_origins if o != "*" and not _is_origin(o)]
        if bad_origins:
            out.append(
                f"{PREFIX}CORS_ORIGINS: {bad_origins[0][:80]!r} is not '*' or an origin like https://host"
            )
        try:
            self.topic_days()
        except ValueError as exc:
            out.append(f"{PREFIX}TOPIC_SUPPRESSION_DAYS: {exc}")
        if self.instances > 1 and not self.database_url:
            out.append(
                f"{PREFIX}INSTANCES={self.instances}: several instances need shared state in PostgreSQL "
                f"(set {PREFIX}DATABASE_URL); SQLite is local to one machine and one instance"
            )
        if self.instances > 1 and not self.patient_hash_secret:
            out.append(
                f"{PREFIX}INSTANCES={self.instances}: set {PREFIX}PATIENT_HASH_SECRET (the same in every "
                "instance), or suppression will not work across instances"
            )
        return out

    def serving_problems(self) -> list[str]:
        if self.auth and not self.dev_mode and not self.base_url and not self.behind_proxy:
            return [
                f"{PREFIX}BASE_URL is required with authentication on outside dev mode: the JWT audience "
                f"must not follow the client's Host header (or set {PREFIX}BEHIND_PROXY=on to trust a "
                "proxy's X-Forwarded-Host/Proto)"
            ]
        return []

    def sqlite_file(self) -> Path:
        """The absolute path of the SQLite file (``sqlite_path`` resolved as the module docstring says)."""
        path = Path(self.sqlite_path).expanduser()
        if path.is_absolute():
            return path
        return (DATA_ROOT or Path.cwd()) / path

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


# Inclusive ranges of the numeric settings (checked by ``Settings.problems``).
RANGES: dict[str, tuple[float, float]] = {
    "port": (1, 65535),
    "workers": (1, 64),
    "threads": (1, 64),
    "max_body_bytes": (1, 1 << 30),
    "max_json_depth": (1, 10_000),
    "max_array_length": (1, 100_000_000),
    "body_read_timeout_s": (0.1, 600),
    "instances": (1, 1000),
    "fhir_timeout_s": (0.1, 120),
    "fhir_page_count": (1, 1000),
    "fhir_max_pages": (1, 10_000),
    "fhir_max_response_bytes": (1, 1 << 30),
    "jwt_leeway_s": (0, 600),
    "jwt_max_lifetime_s": (1, 86_400),
    "suppression_days": (0, 36_500),
    "critical_suppression_days": (0, 36_500),
    "retention_days": (1, 36_500),
}


def _is_base_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not (parts.query or parts.fragment)


def _is_origin(origin: str) -> bool:
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and parts.path in ("", "/")


def _parse(type_name: Any, raw: str) -> Any:
    t = str(type_name)
    if t == "bool":
        return _bool(raw)
    if t == "int":
        return int(raw)
    if t == "float":
        value = float(raw)
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("must be a finite number")
        return value
    if t.startswith("tuple"):
        return _csv(raw)
    if t.startswith("date"):
        return date.fromisoformat(raw) if raw.strip() else None
    return raw


SETTINGS_DOC: dict[str, str] = {
    "host": "Address gunicorn binds to (the Docker image sets 0.0.0.0).",
    "workers": "Number of gunicorn worker processes.",
    "threads": "Unused since the gevent workers (a greenlet per connection); accepted so old settings start.",
    "port": "TCP port of the run command (the README's run script and the Dockerfile).",
    "base_url": "Public base URL of the service, used as the JWT audience; empty: derived from the request.",
    "max_body_bytes": "Largest request body accepted; larger bodies get 413.",
    "max_json_depth": "Deepest JSON nesting accepted; deeper bodies get 400.",
    "max_array_length": "Longest JSON array accepted; longer arrays get 400.",
    "cors_origins": "Comma-separated browser origins allowed by CORS (`*` allows any).",
    "log_level": "Python logging level (DEBUG, INFO, WARNING, ERROR, CRITICAL).",
    "body_read_timeout_s": "Seconds a client has to send a whole request body; slower clients get 408.",
    "instances": "Instances (replicas) of the service behind one load balancer; more than 1 requires "
    "PostgreSQL and a patient hash secret.",
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
    "sqlite_path": "SQLite file for feedback storage without a database URL (relative: to the checkout).",
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
