"""The public URLs of the service and of the trajectory app: the launch URL every card links to, the
redirect URI an EHR registers, and the base URL both derive from.
"""

from __future__ import annotations

from functools import cache

from flask import current_app, has_app_context, has_request_context, request

from service.config import Settings

LAUNCH_PATH = "/app/launch"
CALLBACK_PATH = "/app/callback"
PAGE_PATH = "/app/"


def public_base(settings: Settings) -> str:
    """The service's public base URL without a trailing slash: ``base_url`` when set; behind a proxy
    the forwarded scheme, host and prefix; else the request's own root URL (or host:port outside one)."""
    if settings.base_url:
        return settings.base_url.rstrip("/")
    if not has_request_context():
        return f"http://{settings.host}:{settings.port}"
    if settings.behind_proxy:
        proto = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip()
        host = request.headers.get("X-Forwarded-Host", request.host).split(",")[0].strip()
        prefix = request.headers.get("X-Forwarded-Prefix", "").rstrip("/")
        return f"{proto}://{host}{prefix}"
    return request.root_url.rstrip("/")


@cache
def _settings_outside_app() -> Settings:
    return Settings.from_env()


def current_settings() -> Settings:
    if has_app_context() and "nmd_cds_settings" in current_app.extensions:
        return current_app.extensions["nmd_cds_settings"]
    return _settings_outside_app()  # the evaluate CLI and the in-process benchmark


def launch_url(settings: Settings | None = None) -> str:
    """Absolute launch URL of the app; the EHR appends ``launch`` and ``iss`` when the user clicks."""
    settings = settings or current_settings()
    return settings.app_launch_url or public_base(settings) + LAUNCH_PATH


def redirect_uri(settings: Settings) -> str:
    """The OAuth redirect URI the EHR registers for the app (``<public base>/app/callback``)."""
    launch = settings.app_launch_url
    if launch and launch.endswith(LAUNCH_PATH):
        return launch[: -len(LAUNCH_PATH)] + CALLBACK_PATH
    return public_base(settings) + CALLBACK_PATH
