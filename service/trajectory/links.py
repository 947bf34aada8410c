"""The trajectory app's public URLs for the current settings: the launch URL every card links to and
the redirect URI an EHR registers (both derive from the service's public base, ``cds_hooks.urls``)."""

from __future__ import annotations

from service.cds_hooks import urls
from service.cds_hooks.urls import CALLBACK_PATH, LAUNCH_PATH, PAGE_PATH, public_base
from service.config import Settings

__all__ = ["CALLBACK_PATH", "LAUNCH_PATH", "PAGE_PATH", "launch_url", "public_base", "redirect_uri"]


def launch_url(settings: Settings) -> str:
    """Absolute launch URL of the app; the EHR appends ``launch`` and ``iss`` when the user clicks."""
    return urls.launch_url(settings, public_base(settings))


def redirect_uri(settings: Settings) -> str:
    """The OAuth redirect URI the EHR registers for the app (``<public base>/app/callback``)."""
    return urls.redirect_uri(settings, public_base(settings))
