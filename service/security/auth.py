"""JWT authentication of CDS clients (CDS Hooks 2.0 §Trusting CDS Clients). STUB: to be completed (issue 7)."""

from __future__ import annotations

from service.config import Settings
from service.errors import Unauthorized


class Authenticator:
    """Verifies ``Authorization: Bearer <JWT>`` for every request when authentication is on."""

    def __init__(self, settings: Settings):
        self.settings = settings

    def verify(self, authorization: str | None, audience: str) -> None:
        """Raise ``Unauthorized(reason)`` unless the header carries a valid JWT for ``audience``."""
        if not self.settings.auth:
            return
        raise Unauthorized("JWT verification not implemented yet")
