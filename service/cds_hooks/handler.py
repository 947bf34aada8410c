"""One service call from request body to response JSON, without HTTP: the path shared by the Flask
view, the ``python -m service evaluate`` CLI and the benchmark."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any, Protocol

from service.cds_hooks.cards import cards_from
from service.cds_hooks.prefetch import resolve_prefetch
from service.cds_hooks.request import parse_hook_request, parse_json
from service.cds_hooks.services import ServiceDefinition, service_definitions
from service.cds_hooks.warmup import synthetic_chart
from service.config import Settings
from service.errors import ApiError, NotFound
from service.fhir.build import build_summary
from service.knowledge import Knowledge, load_knowledge
from service.rules import registry
from service.rules.core import Finding, RuleContext
from service.rules.registry import evaluate

log = logging.getLogger("nmd_cds.call")


class CardLedger(Protocol):
    """Feedback storage seen from the service call: records issued cards, silences overridden ones."""

    def filter_and_record(
        self,
        issued: list[tuple[Finding, dict[str, Any]]],
        *,
        patient_id: str,
        hook_instance: str,
        service_id: str,
    ) -> list[dict[str, Any]]: ...


@dataclass
class Engine:
    """State built once at start-up: settings, the knowledge with the site's overrides and local codes
    (validated), the services built from it, optional card ledger."""

    settings: Settings
    knowledge: Knowledge
    ledger: CardLedger | None = None
    services: dict[str, ServiceDefinition] = field(init=False)

    def __post_init__(self) -> None:
        self.services = service_definitions(self.knowledge)

    @classmethod
    def create(cls, settings: Settings, ledger: CardLedger | None = None) -> Engine:
        knowledge = load_knowledge(settings.site_file or None)
        registry.check(knowledge.catalogue)
        engine = cls(settings, knowledge, ledger)
        engine.warm_up()
        return engine

    def warm_up(self) -> None:
        """Evaluate a synthetic chart once (no I/O, no log, no ledger) so the first real call is not slow."""
        today = self.today()
        chart = synthetic_chart(today, self.knowledge)
        summary = build_summary(chart, today, self.knowledge, patient_id="warm-up")
        findings = evaluate(RuleContext(summary, today, self.knowledge)).findings
        cards_from(findings, "warm-up", self.knowledge, "http://warm-up")

    def today(self) -> date:
        return self.settings.today or datetime.now(UTC).date()

    def service(self, service_id: str) -> ServiceDefinition:
        try:
            return self.services[service_id]
        except KeyError:
            raise NotFound(f"no CDS service '{service_id}'; see GET /cds-services for the list") from None

    def handle_body(self, service_id: str, body: bytes, base_url: str = "") -> dict[str, Any]:
        """Parse, validate and evaluate a request body; raises ApiError subclasses for 4xx answers.
        ``base_url`` is the service's public base URL (cards link to the rule catalogue there)."""
        service = self.service(service_id)
        with _cyclic_gc_paused():
            data = parse_json(body, self.settings.max_json_depth, self.settings.max_array_length)
            return self.handle(service, data, base_url)

    def handle(self, service: ServiceDefinition, data: Any, base_url: str = "") -> dict[str, Any]:
        t0 = time.perf_counter()
        outcome = "error"
        extra: dict[str, Any] = {"service": service.id}
        try:
            req = parse_hook_request(data, service.hook, service.prefetch.keys())
            extra["hookInstance"] = req.hook_instance
            resolved = resolve_prefetch(req, service.prefetch, self.settings, self.knowledge)
            t_data = time.perf_counter()
            today = self.today()
            summary = build_summary(
                resolved.resources,
                today,
                self.knowledge,
                patient_id=req.patient_id,
                complete=resolved.complete,
            )
            if self.settings.include_cerebral_palsy:
                summary = replace(summary, cerebral_palsy_in_scope=True)
            t_summary = time.perf_counter()
            findings = evaluate(RuleContext(summary, today, self.knowledge)).findings
            base = base_url or self.settings.base_url or "http://localhost"
            issued = cards_from(findings, req.patient_id, self.knowledge, base)
            cards = [card for _, card in issued]
            if self.ledger is not None and issued:
                cards = self.ledger.filter_and_record(
                    issued, patient_id=req.patient_id, hook_instance=req.hook_instance, service_id=service.id
                )
            outcome = "ok"
            extra.update(
                cards=len(cards),
                rules=sorted({r for f in findings for r in f.rule_ids}),
                fetched=list(resolved.fetched),
                resources=len(resolved.resources),
                dropped=len(summary.dropped),
                ms_data=round((t_data - t0) * 1000, 2),
                ms_summary=round((t_summary - t_data) * 1000, 2),
            )
            return {"cards": cards}
        except ApiError as exc:
            outcome = f"http_{exc.status}"
            raise
        finally:
            extra["outcome"] = outcome
            extra["ms_total"] = round((time.perf_counter() - t0) * 1000, 2)
            log.info("service call", extra=extra)


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for one call.

    A call's objects (parsed JSON, summary, cards) form no reference cycles and are freed by reference
    counting as soon as the call returns; but allocating them triggers full collector passes over
    every live object, ~40 % of the time of a 20,000-Observation call. Re-enabled on the way out
    (only by the call that paused it, so concurrent calls in threads are harmless).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
