"""Prometheus metrics of the service, correct across gunicorn's worker processes.

``service/gunicorn_conf.py`` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh folder before anything imports
``prometheus_client``: every worker then writes its counters to memory-mapped files there, and
``GET /metrics`` (any worker) sums them (prometheus-client's multiprocess mode). Without that variable
(tests, ``python -m service``) the metrics live in the process, as usual.

Labels never carry patient data or caller-chosen text: endpoints are route templates (or ``other``),
topics, indicators and rule ids come from the service's own cards and rules.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import REGISTRY as _PROCESS_REGISTRY
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REQUESTS = Counter(
    "nmd_cds_http_requests_total",
    "HTTP requests answered, by endpoint (route template), method and status code.",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "nmd_cds_http_request_duration_seconds",
    "Time from the request reaching the application to the response, by endpoint.",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CARDS = Counter("nmd_cds_cards_total", "Cards sent, by topic and indicator.", ["topic", "indicator"])
RULES = Counter("nmd_cds_rules_fired_total", "Findings produced, by rule id.", ["rule"])
PREFETCH = Counter(
    "nmd_cds_prefetch_fetches_total",
    "Prefetch keys read from the EHR's FHIR server, by key and outcome (ok / failed).",
    ["key", "outcome"],
)
STORE_ERRORS = Counter(
    "nmd_cds_store_errors_total",
    "Database failures, by store (replay / feedback) and operation.",
    ["store", "operation"],
)
PENDING = Gauge(
    "nmd_cds_ledger_pending_cards",
    "Cards issued while the feedback store was down, kept in memory until it answers again.",
    multiprocess_mode="livesum",
)


def record_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(endpoint, method, str(status)).inc()
    LATENCY.labels(endpoint).observe(seconds)


def record_call(rule_ids: Iterable[str], cards: Iterable[Mapping[str, Any]]) -> None:
    """One service call: the rules that fired and the cards actually sent."""
    for rule in rule_ids:
        RULES.labels(rule).inc()
    for card in cards:
        topic = ((card.get("source") or {}).get("topic") or {}).get("code", "none")
        CARDS.labels(topic, card.get("indicator", "none")).inc()


def pending_cards() -> float:
    """Cards waiting to be recorded, summed over this instance's worker processes (0 outside gunicorn's
    multiprocess mode: a lone process knows its own ledger, and tests run many apps in one process)."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return 0.0
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return float(
        sum(s.value for m in registry.collect() if m.name == PENDING._name for s in m.samples)  # type: ignore[attr-defined]
    )


def store_error(store: str, operation: str) -> None:
    STORE_ERRORS.labels(store, operation).inc()


def exposition() -> bytes:
    """The Prometheus text format of every metric, summed over worker processes in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(_PROCESS_REGISTRY)


def mark_process_dead(pid: int) -> None:
    """gunicorn ``child_exit``: drop a dead worker's live gauges (its counters keep counting)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
