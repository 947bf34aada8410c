"""The service's public URLs, in one place: the base URL (the JWT audience and every absolute link
derive from it), a rule's catalogue page, and the trajectory app's launch and redirect URLs."""

from __future__ import annotations

from flask import has_request_context, request

from service.config import Settings

LAUNCH_PATH = "/app/launch"
CALLBACK_PATH = "/app/callback"
PAGE_PATH = "/app/"


def public_base(settings: Settings) -> str:
    """The public base URL without a trailing slash: ``base_url`` when set; behind a proxy the forwarded
    scheme, host and prefix; else the request's own root URL (or host:port outside a request)."""
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


def rule_page(base: str, rule_id: str) -> str:
    return f"{base.rstrip('/')}/knowledge/rules/{rule_id}"


def launch_url(settings: Settings, base: str) -> str:
    """Absolute launch URL of the trajectory app; the EHR appends ``launch`` and ``iss`` on a click."""
    return settings.app_launch_url or base.rstrip("/") + LAUNCH_PATH


def redirect_uri(settings: Settings, base: str) -> str:
    """The OAuth redirect URI the EHR registers for the app (``<public base>/app/callback``)."""
    launch = settings.app_launch_url
    if launch and launch.endswith(LAUNCH_PATH):
        return launch[: -len(LAUNCH_PATH)] + CALLBACK_PATH
    return base.rstrip("/") + CALLBACK_PATH
