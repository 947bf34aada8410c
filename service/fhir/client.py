"""Reads from the EHR's FHIR server when prefetch is missing: bearer token, short timeout, paging.

Failures map to a few typed exceptions (fhirclient style) that the HTTP layer turns into 412.
The token is sent only to the server it came with and under its base path: every URL (``next`` links
included) is normalised as it will go on the wire, checked, then sent exactly as checked.
Redirects are never followed and response bodies are capped in size.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3


class FhirError(Exception):
    """The FHIR server could not give the data; ``reason`` is safe to log (no tokens, no patient data)."""

    def __init__(self, reason: str, url: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.url = url  # the URL that failed; None when no request was sent (time already spent)


class FhirAuthError(FhirError):
    pass


class FhirTimeout(FhirError):
    pass


class FhirServerError(FhirError):
    pass


class FhirBadResponse(FhirError):
    pass


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4: resolve ``.`` and ``..`` segments (never above the root)."""
    segments = path.split("/")
    out: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment in (".", ".."):
            if segment == ".." and len(out) > 1:
                out.pop()
            if last:
                out.append("")
            continue
        out.append(segment)
    return "/".join(out)


def normalise_url(url: str) -> str:
    """The URL exactly as it goes on the wire: what ``requests`` prepares (it percent-encodes, and decodes
    unreserved escapes, so ``%2e%2e`` becomes ``..``) with dot segments removed and no fragment, repeated
    until nothing changes. Encoded slashes and backslashes in the path are refused: servers differ on
    whether they separate segments, so no check could say where such a URL leads."""
    current = url
    for _ in range(4):
        try:
            prepared = requests.Request("GET", current).prepare().url or ""
        except (requests.RequestException, ValueError) as exc:
            raise FhirBadResponse(f"unusable URL ({type(exc).__name__})") from exc
        parts = urlsplit(prepared)
        if "\\" in parts.path or any(e in parts.path.lower() for e in ("%2f", "%5c")):
            raise FhirBadResponse("URL path holds an encoded slash or a backslash")
        cleaned = urlunsplit((parts.scheme, parts.netloc, _remove_dot_segments(parts.path), parts.query, ""))
        if cleaned == current:
            return cleaned
        current = cleaned
    raise FhirBadResponse("URL does not normalise")


def _within(url: str, base: str) -> bool:
    """``url`` (normalised) is on ``base``'s server and under its path: the only place the token may go."""
    u, b = urlsplit(url), urlsplit(base)
    if (u.scheme.lower(), u.netloc.lower()) != (b.scheme.lower(), b.netloc.lower()):
        return False
    root = b.path.rstrip("/")
    return u.path == root or u.path.startswith(root + "/")


class FhirClient:
    """One EHR FHIR server for the duration of one hook call."""

    def __init__(
        self,
        base_url: str,
        access_token: str | None,
        *,
        timeout_s: float,
        max_pages: int,
        max_response_bytes: int,
        session: requests.Session | None = None,
    ):
        self.base_url = normalise_url(base_url).rstrip("/")
        self._token = access_token
        self._timeout_s = timeout_s
        self._deadline = time.monotonic() + timeout_s
        self._max_pages = max_pages
        self._max_bytes = max_response_bytes
        self._session = session or requests.Session()

    def fetch(self, relative: str) -> list[dict[str, Any]]:
        """GET a read (``Patient/1``) or search (``Observation?...``); return every resource of every page."""
        body = self._get(f"{self.base_url}/{relative.lstrip('/')}")
        if body.get("resourceType") == "OperationOutcome":
            raise FhirBadResponse("FHIR server answered with an OperationOutcome")
        if body.get("resourceType") != "Bundle":
            return [body]
        return self._collect(body, pages=1)

    def complete_bundle(self, bundle: dict[str, Any]) -> list[dict[str, Any]]:
        """Resources of the pages after a prefetched first page (its ``next`` links), not the first page's."""
        return self._collect(bundle, pages=1)[len(bundle_resources(bundle)) :]

    def _collect(self, body: dict[str, Any], pages: int) -> list[dict[str, Any]]:
        resources = bundle_resources(body)
        while (next_url := next_link(body)) is not None:
            if pages >= self._max_pages:
                raise FhirBadResponse(f"more than {self._max_pages} result pages")
            body = self._get(next_url, what="next link")
            if body.get("resourceType") != "Bundle":
                raise FhirBadResponse("next page is not a Bundle")
            resources.extend(bundle_resources(body))
            pages += 1
        return resources

    def _get(self, url: str, what: str = "URL") -> dict[str, Any]:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise FhirTimeout(f"FHIR server did not answer within {self._timeout_s:g} s")
        # Normalised first, then checked, then sent exactly as checked (no later rewriting can move it).
        url = normalise_url(url)
        try:
            return self._send(url, what, remaining)
        except FhirError as exc:
            exc.url = exc.url or url  # the 412 names the URL that failed
            raise

    def _send(self, url: str, what: str, remaining: float) -> dict[str, Any]:
        if not _within(url, self.base_url):
            raise FhirBadResponse(f"{what} points to another server or outside the FHIR base URL")
        headers = {"Accept": "application/fhir+json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            prepared = self._session.prepare_request(requests.Request("GET", url, headers=headers))
            if prepared.url != url:
                raise FhirBadResponse(f"{what} would be rewritten before sending")
            env = self._session.merge_environment_settings(url, {}, None, None, None)
            resp = self._session.send(
                prepared, **{**env, "timeout": remaining, "allow_redirects": False, "stream": True}
            )
        except requests.Timeout as exc:
            raise FhirTimeout(f"FHIR server did not answer within {self._timeout_s:g} s") from exc
        except (requests.RequestException, ValueError) as exc:  # urllib3 raises ValueError on a bad host
            raise FhirServerError(f"FHIR server unreachable ({type(exc).__name__})") from exc
        try:
            if resp.status_code in (401, 403):
                raise FhirAuthError(f"FHIR server refused the access token (HTTP {resp.status_code})")
            if 300 <= resp.status_code < 400:
                raise FhirBadResponse(
                    f"FHIR server redirected (HTTP {resp.status_code}); redirects are not followed"
                )
            if resp.status_code >= 400:
                raise FhirServerError(f"FHIR server answered HTTP {resp.status_code}")
            raw = self._read_capped(resp)
        finally:
            resp.close()
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise FhirBadResponse("FHIR server answered with a body that is not JSON") from exc
        if not isinstance(body, dict) or not isinstance(body.get("resourceType"), str):
            raise FhirBadResponse("FHIR server answered with JSON that is not a FHIR resource")
        return body

    def _read_capped(self, resp: requests.Response) -> bytes:
        """The body, capped in size, read within the deadline even when the server trickles bytes.

        ``read1`` returns after one socket read (bounded by the socket timeout), so the deadline is
        checked between small reads; ``iter_content`` would block until a whole chunk arrived.
        """
        chunks: list[bytes] = []
        size = 0
        try:
            while chunk := resp.raw.read1(65536, decode_content=True):
                size += len(chunk)
                if size > self._max_bytes:
                    raise FhirBadResponse(f"FHIR response larger than {self._max_bytes} bytes")
                if time.monotonic() > self._deadline:
                    raise FhirTimeout(f"FHIR server did not answer within {self._timeout_s:g} s")
                chunks.append(chunk)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            if isinstance(exc, requests.Timeout | urllib3.exceptions.TimeoutError | TimeoutError):
                raise FhirTimeout(f"FHIR server did not answer within {self._timeout_s:g} s") from exc
            raise FhirServerError(f"reading the FHIR response failed ({type(exc).__name__})") from exc
        return b"".join(chunks)


def bundle_entries(bundle: dict[str, Any]) -> list[Any]:
    """``Bundle.entry`` when it is a list, else no entries (malformed input is not an error here)."""
    entries = bundle.get("entry")
    return entries if isinstance(entries, list) else []


def bundle_resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """The resources of a search page, without OperationOutcome entries of mode ``outcome``."""
    out: list[dict[str, Any]] = []
    entries = bundle.get("entry")
    # Prefetch Bundles come from the caller: a non-list entry must not become a 500.
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
            if isinstance(entry.get("search"), dict) and entry["search"].get("mode") == "outcome":
                continue
            out.append(entry["resource"])
    return out


def next_link(bundle: dict[str, Any]) -> str | None:
    links = bundle.get("link")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            return link["url"]
    return None
