"""The errors a caller can cause, and how each becomes an HTTP response with a JSON body.

Every 4xx body says what to fix: ``{"error": <short code>, "message": <sentence>, "details": [...]}``.
412 (data unobtainable) answers with a FHIR OperationOutcome, as CDS Hooks 2.0 / 3.0 suggest.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error with an HTTP status and a message the caller can act on."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: list[str] | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []
        if status is not None:
            self.status = status

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body

    def headers(self) -> dict[str, str]:
        """Extra response headers this error requires."""
        return {}


class BadRequest(ApiError):
    status = 400
    code = "invalid_request"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_media_type"


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"


class Unauthorized(ApiError):
    """401 without details (CDS Hooks best practice); the reason is logged, never returned."""

    status = 401
    code = "unauthorized"

    def __init__(self, reason: str):
        super().__init__("authentication required")
        self.reason = reason
        # for the log: the audience expected, and the issuer, audience, kid and alg the token claimed
        self.context: dict[str, Any] = {}

    def body(self) -> dict[str, Any]:
        return {"error": self.code}

    def headers(self) -> dict[str, str]:
        # RFC 6750 section 3, RFC 9110 section 11.6.1: a 401 names the scheme; no error detail, like the body.
        return {"WWW-Authenticate": "Bearer"}


class Unavailable(ApiError):
    """503: a store (or key set) the request needs is down. ``Retry-After`` says when to try again."""

    status = 503
    code = "unavailable"
    retry_after_s = 5  # a locked or restarting database is usually back by then

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class RequestTimeout(ApiError):
    status = 408
    code = "request_timeout"


class DataUnavailable(ApiError):
    """412 Precondition Failed: required FHIR data could not be obtained."""

    status = 412
    code = "precondition_failed"

    def body(self) -> dict[str, Any]:
        return operation_outcome("error", "not-found", self.message, self.details)


def operation_outcome(
    severity: str, code: str, text: str, details: list[str] | None = None
) -> dict[str, Any]:
    issues = [{"severity": severity, "code": code, "diagnostics": text}]
    issues += [{"severity": severity, "code": code, "diagnostics": d} for d in details or []]
    return {"resourceType": "OperationOutcome", "issue": issues}
