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

from service import metrics
from service.cds_hooks import explain, urls
from service.cds_hooks.cards import cards_from
from service.cds_hooks.prefetch import ResolvedData, resolve_prefetch
from service.cds_hooks.request import HookRequest, parse_hook_request, parse_json
from service.cds_hooks.services import ServiceDefinition, service_definitions
from service.cds_hooks.warmup import synthetic_chart
from service.config import ConfigError, Settings
from service.errors import ApiError, NotFound
from service.fhir.build import IntakeStats, build_summary, summarise
from service.fhir.summary import PatientSummary
from service.knowledge import Knowledge, KnowledgeError, load_knowledge
from service.rules import registry
from service.rules.core import Finding, RuleContext
from service.rules.registry import Evaluation, evaluate

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

    def would_suppress(
        self, issued: list[tuple[Finding, dict[str, Any]]], *, patient_id: str, service_id: str
    ) -> dict[str, str] | None: ...


@dataclass(frozen=True)
class Run:
    """One evaluated request: the request, the data obtained, the summary and how the input was used,
    what the rules made of it and the cards, before the ledger; seconds spent on data and summary."""

    req: HookRequest
    resolved: ResolvedData
    summary: PatientSummary
    stats: IntakeStats
    evaluation: Evaluation
    issued: list[tuple[Finding, dict[str, Any]]]
    s_data: float
    s_summary: float


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
        try:
            knowledge = load_knowledge(settings.site_file or None)
        except KnowledgeError as exc:  # start-up refused with one line, like any other setting
            where = "NMD_CDS_SITE_FILE" if settings.site_file else "knowledge files"
            raise ConfigError(f"{where}: {exc}") from exc
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
        cards_from(findings, "warm-up", self.knowledge, "http://warm-up", "http://warm-up/app/launch")

    def today(self) -> date:
        return self.settings.today or datetime.now(UTC).date()

    def service(self, service_id: str) -> ServiceDefinition:
        try:
            return self.services[service_id]
        except KeyError:
            raise NotFound(f"no CDS service '{service_id}'; see GET /cds-services for the list") from None

    def summarise(
        self, resources: list[dict[str, Any]], patient_id: str, complete: frozenset[str] = frozenset()
    ) -> PatientSummary:
        """The PatientSummary the rules see for these resources (also what the trajectory app draws)."""
        return self.summarise_with_stats(resources, patient_id, complete)[0]

    def summarise_with_stats(
        self, resources: list[dict[str, Any]], patient_id: str, complete: frozenset[str] = frozenset()
    ) -> tuple[PatientSummary, IntakeStats]:
        """The summary and how the input was used (dropped, unrecognised codes, unit aliases)."""
        summary, stats = summarise(
            resources, self.today(), self.knowledge, patient_id=patient_id, complete=complete
        )
        if self.settings.include_cerebral_palsy:
            summary = replace(summary, cerebral_palsy_in_scope=True)
        return summary, stats

    def cards_for(
        self, summary: PatientSummary, patient_id: str, base_url: str = ""
    ) -> tuple[Evaluation, list[tuple[Finding, dict[str, Any]]]]:
        """What the rules made of the summary and the (finding, card) pairs, most urgent first, before the
        ledger. ``base_url`` is the service's public base URL (cards link to the catalogue and the app)."""
        evaluation = evaluate(RuleContext(summary, summary.today, self.knowledge))
        base = base_url or urls.public_base(self.settings)
        launch = urls.launch_url(self.settings, base)
        return evaluation, cards_from(evaluation.findings, patient_id, self.knowledge, base, launch)

    def run(self, service: ServiceDefinition, req: HookRequest, base_url: str = "") -> Run:
        """One evaluation of a validated hook request, up to the cards (the ledger is the caller's)."""
        t0 = time.perf_counter()
        resolved = resolve_prefetch(req, service.prefetch, self.settings, self.knowledge)
        t_data = time.perf_counter()
        summary, stats = self.summarise_with_stats(resolved.resources, req.patient_id, resolved.complete)
        t_summary = time.perf_counter()
        evaluation, issued = self.cards_for(summary, req.patient_id, base_url)
        return Run(req, resolved, summary, stats, evaluation, issued, t_data - t0, t_summary - t_data)

    def explain_body(self, service_id: str, body: bytes, base_url: str = "") -> dict[str, Any]:
        """The explain report of a request body: every rule fired or why not, the facts, what was dropped
        and which codes no value set knows. Holds patient data: never logged. Records nothing."""
        service = self.service(service_id)
        with _cyclic_gc_paused():
            data = parse_json(body, self.settings.max_json_depth, self.settings.max_array_length)
            run = self.run(service, parse_hook_request(data, service.hook, service.prefetch.keys()), base_url)
            suppressed: dict[str, str] | None = {}
            if self.ledger is not None:
                suppressed = self.ledger.would_suppress(
                    run.issued, patient_id=run.req.patient_id, service_id=service.id
                )
            return explain.report(self.knowledge, service.id, run, suppressed)

    def handle_body(self, service_id: str, body: bytes, base_url: str = "") -> dict[str, Any]:
        """Parse, validate and evaluate a request body; raises ApiError subclasses for 4xx answers."""
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
            result = self.run(service, req, base_url)
            cards = [card for _, card in result.issued]
            if self.ledger is not None and result.issued:
                cards = self.ledger.filter_and_record(
                    result.issued,
                    patient_id=req.patient_id,
                    hook_instance=req.hook_instance,
                    service_id=service.id,
                )
            outcome = "ok"
            metrics.record_call((r for f in result.evaluation.findings for r in f.rule_ids), cards)
            extra.update(
                cards=len(cards),
                rules=sorted({r for f in result.evaluation.findings for r in f.rule_ids}),
                fetched=list(result.resolved.fetched),
                resources=len(result.resolved.resources),
                dropped=len(result.summary.dropped),
                unrecognised_codes=len(result.stats.unrecognised),
                ms_data=round(result.s_data * 1000, 2),
                ms_summary=round(result.s_summary * 1000, 2),
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
