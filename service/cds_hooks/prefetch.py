"""Resolve each prefetch key: data is used; null or an empty Bundle is "no data"; a missing key or an
OperationOutcome means "fetch it from fhirServer"; when that is impossible the call answers 412.

Paginated prefetch Bundles are completed by following their ``next`` links with the same token.
Then the references the data layer cannot resolve within the request (results of DXA panels and
reports, referenced Medications) are fetched from fhirServer by id when it can be read; when it
cannot, or the fetch fails, the call goes on and the summary reports them as not resolved.
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import quote

from service import metrics
from service.cds_hooks.request import HookRequest
from service.config import Settings
from service.errors import DataUnavailable
from service.fhir.build import chart_items, missing_references
from service.fhir.client import FhirClient, FhirError, bundle_entries, next_link
from service.knowledge import Knowledge
from service.security.ssrf import FhirServerRefused, check_fhir_server

log = logging.getLogger("nmd_cds.prefetch")

_TOKEN = re.compile(r"\{\{\s*context\.(\w+)\s*\}\}")


@dataclass(frozen=True)
class ResolvedData:
    resources: list[dict[str, Any]]
    complete: frozenset[str]  # prefetch keys whose data is complete
    fetched: tuple[str, ...]  # keys that were fetched from fhirServer


def render(template: str, context: dict[str, Any]) -> str:
    """Fill ``{{context.x}}`` tokens; an unknown token makes the template unusable (KeyError)."""
    return _TOKEN.sub(lambda m: str(context[m.group(1)]), template)


def _is_operation_outcome(value: Any) -> bool:
    """Whether a prefetch value reports a failed prefetch (CDS Hooks 2.0: the client SHOULD send one).

    A bare OperationOutcome in place of the data is a failure. A search Bundle holding only
    OperationOutcomes is one when any issue is an error: servers add warning/information outcomes
    (e.g. "no results") to empty but successful searches.
    """
    if not isinstance(value, dict):
        return False
    if value.get("resourceType") == "OperationOutcome":
        return True
    if value.get("resourceType") == "Bundle":
        entries = [e.get("resource") for e in bundle_entries(value) if isinstance(e, dict)]
        return (
            bool(entries)
            and all(isinstance(r, dict) and r.get("resourceType") == "OperationOutcome" for r in entries)
            and any(_has_error(r) for r in entries)
        )
    return False


def _has_error(outcome: Any) -> bool:
    issues = outcome.get("issue") if isinstance(outcome, dict) else None
    return any(
        isinstance(i, dict) and i.get("severity") in ("error", "fatal")
        for i in (issues if isinstance(issues, list) else [])
    )


def resolve_prefetch(
    req: HookRequest, templates: dict[str, str], settings: Settings, knowledge: Knowledge | None = None
) -> ResolvedData:
    """The request's data (prefetch, then fhirServer); with ``knowledge``, also the resources it refers
    to that are missing (``follow_references``)."""
    resolved = _resolve(req, templates, settings)
    if knowledge is None:
        return resolved
    return follow_references(req, resolved, settings, knowledge)


def _resolve(req: HookRequest, templates: dict[str, str], settings: Settings) -> ResolvedData:
    given = req.prefetch or {}
    resources: list[dict[str, Any]] = []
    to_fetch: list[str] = []
    to_complete: list[tuple[str, dict[str, Any]]] = []
    complete: set[str] = set()
    for key in templates:
        if key not in given or _is_operation_outcome(given[key]):
            to_fetch.append(key)
            continue
        value = given[key]
        if value is None:
            complete.add(key)
            continue
        if value.get("resourceType") == "Bundle":
            resources.extend(chart_items(value))  # urn fullUrls kept: references may use them
            if next_link(value):
                to_complete.append((key, value))
                continue
        else:
            resources.append(value)
        complete.add(key)
    if not to_fetch and not to_complete:
        return ResolvedData(resources, frozenset(complete), ())

    client = _client(req, settings, [*to_fetch, *(k for k, _ in to_complete)])
    jobs: list[tuple[str, Any]] = []
    for key in to_fetch:
        try:
            relative = render(templates[key], req.raw_context)
        except KeyError as exc:
            raise DataUnavailable(
                f"prefetch '{key}' needs context field {exc} that the request lacks"
            ) from exc
        jobs.append((key, partial(client.fetch, _with_count(relative, settings))))
    jobs += [(key, partial(client.complete_bundle, bundle)) for key, bundle in to_complete]
    with ThreadPoolExecutor(max_workers=min(4, len(jobs))) as pool:
        futures = [(key, pool.submit(job)) for key, job in jobs]
        failures: list[tuple[str, FhirError]] = []
        for key, fut in futures:
            try:
                resources.extend(fut.result())
                complete.add(key)
                metrics.PREFETCH.labels(key, "ok").inc()
            except FhirError as exc:
                failures.append((key, exc))
                metrics.PREFETCH.labels(key, "failed").inc()
    if failures:
        # logged by reason and prefetch key (template names: no patient data); the caller gets the URLs
        keys_by_reason: dict[str, list[str]] = {}
        for key, error in failures:
            keys_by_reason.setdefault(error.reason, []).append(key)
        problems = [f"{reason} ({', '.join(keys)})" for reason, keys in keys_by_reason.items()]
        log.warning("fhir fetch failed", extra={"event": "fhir_fetch_failed", "problems": problems})
        # chained: a caller can tell a refused token (FhirAuthError) from a failing server
        raise DataUnavailable(
            f"required FHIR data could not be obtained from fhirServer {client.base_url}",
            fetch_problems(failures),
        ) from failures[0][1]
    return ResolvedData(resources, frozenset(complete), tuple(to_fetch))


def fetch_problems(failures: list[tuple[str, FhirError]]) -> list[str]:
    """One line per FHIR URL that failed (each named once, with its prefetch keys), then one line for
    the requests never sent because the time was spent; the same failure is not repeated per key."""
    by_url: dict[str, tuple[list[str], str]] = {}
    unsent: dict[str, list[str]] = {}
    for key, exc in failures:
        if exc.url is None:
            unsent.setdefault(exc.reason, []).append(key)
        else:
            by_url.setdefault(exc.url, ([], exc.reason))[0].append(key)
    lines = [f"GET {url}: {reason} (prefetch {', '.join(keys)})" for url, (keys, reason) in by_url.items()]
    lines += [f"not requested, {reason} (prefetch {', '.join(keys)})" for reason, keys in unsent.items()]
    return lines


_IDS_PER_SEARCH = 50  # ids per "_id=a,b,…" search: a short URL on any server
_ROUNDS = 2  # a report's panel's members: references of fetched resources are followed once more


def follow_references(
    req: HookRequest, resolved: ResolvedData, settings: Settings, knowledge: Knowledge
) -> ResolvedData:
    """Fetch, by id, the DXA results and Medications the request refers to but lacks, when fhirServer
    can be read. Best effort: without a usable fhirServer, or when it fails, the call goes on and the
    summary reports the references as not resolved (never a 412 for them)."""
    resources = list(resolved.resources)
    today = settings.today or datetime.now(UTC).date()
    client: FhirClient | None = None
    asked: set[str] = set()
    for _ in range(_ROUNDS):
        wanted = [
            r for r in missing_references(resources, today, knowledge, req.patient_id) if r not in asked
        ]
        if not wanted:
            break
        client = client or _optional_client(req, settings)
        if client is None:
            break
        asked.update(wanted)
        by_type: dict[str, list[str]] = {}
        for ref in wanted:
            rtype, _, rid = ref.partition("/")
            by_type.setdefault(rtype, []).append(rid)
        for rtype, ids in sorted(by_type.items()):
            for i in range(0, len(ids), _IDS_PER_SEARCH):
                chunk = ",".join(quote(x, safe="") for x in ids[i : i + _IDS_PER_SEARCH])
                try:
                    resources.extend(client.fetch(f"{rtype}?_id={chunk}&_count={_IDS_PER_SEARCH}"))
                except FhirError as exc:
                    log.warning(
                        "fhir reference fetch failed",
                        extra={
                            "event": "fhir_reference_fetch_failed",
                            "problems": [f"{rtype}: {exc.reason}"],
                        },
                    )
    if len(resources) == len(resolved.resources):
        return resolved
    return ResolvedData(resources, resolved.complete, (*resolved.fetched, "references"))


def _optional_client(req: HookRequest, settings: Settings) -> FhirClient | None:
    """A client for fhirServer when the request allows reading it, else None (no error)."""
    if not req.fhir_server:
        return None
    token = req.fhir_authorization.access_token if req.fhir_authorization else None
    if token is None and not (settings.dev_mode or settings.fhir_allowed_servers):
        return None
    try:
        check_fhir_server(req.fhir_server, settings)
    except FhirServerRefused:
        return None
    return _new_client(req.fhir_server, token, settings)


def _new_client(server: str, token: str | None, settings: Settings) -> FhirClient:
    return FhirClient(
        server,
        token,
        timeout_s=settings.fhir_timeout_s,
        max_pages=settings.fhir_max_pages,
        max_response_bytes=settings.fhir_max_response_bytes,
    )


def _with_count(relative: str, settings: Settings) -> str:
    if "?" in relative and "_count=" not in relative:
        return f"{relative}&_count={settings.fhir_page_count}"
    return relative


def _client(req: HookRequest, settings: Settings, keys: list[str]) -> FhirClient:
    missing = ", ".join(keys)
    if not req.fhir_server:
        raise DataUnavailable(
            f"prefetch data missing ({missing}) and no fhirServer to fetch it from",
            ["send the prefetch keys advertised in discovery, or fhirServer with fhirAuthorization"],
        )
    try:
        check_fhir_server(req.fhir_server, settings)
    except FhirServerRefused as exc:
        raise DataUnavailable(
            f"prefetch data missing ({missing}) and fhirServer cannot be used: {exc.reason}"
        ) from exc
    token = req.fhir_authorization.access_token if req.fhir_authorization else None
    if token is None and not (settings.dev_mode or settings.fhir_allowed_servers):
        raise DataUnavailable(
            f"prefetch data missing ({missing}) and no fhirAuthorization to read fhirServer with",
            ["send fhirAuthorization with an access token, or full prefetch"],
        )
    return _new_client(req.fhir_server, token, settings)
