"""The vocabulary of the rules: declared rules, what a rule concludes (``Signal``) or why it did not
fire (``Skip``), the evidence behind it, and the per-request context.

A rule is a pure function of the ``RuleContext`` declared with ``@rule("SI-02")``: its id must be in
the rule catalogue (``service/knowledge/rules.yaml``), which holds its title, topic, action, logic and
sources. The registry runs the rules; signals asking for the same action become one card
(``service.rules.actions.merge``), and the card builder (``service.cds_hooks.cards``) renders it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import wraps
from typing import Any, TypeVar

from service.fhir.summary import PatientSummary
from service.knowledge import Knowledge
from service.knowledge.concepts import ActionKind, Indicator, Topic
from service.knowledge.model import Citation
from service.knowledge.thresholds import Thresholds

__all__ = [
    "ActionKind",
    "Evidence",
    "Finding",
    "Indicator",
    "Order",
    "Rule",
    "RuleContext",
    "Signal",
    "Skip",
    "Topic",
    "memo",
    "rule",
]


@dataclass(frozen=True, slots=True)
class Evidence:
    """One fact behind a finding, a row of the card's evidence table: what, value with unit, date."""

    label: str  # what it is, e.g. "Body weight", "Z-score lumbar spine"
    value: str  # value with unit, e.g. "67.6 kg", "−2.3 SD", "Genant grade 2 at T12"
    when: date | None = None
    source: str | None = None  # "Observation/123" (a reference only, no patient data)
    part: str = ""  # which of the source's values, when it holds several (a DXA panel's sites)


@dataclass(frozen=True, slots=True)
class Order:
    """Details of the order a card suggests, beyond the action's code (see ``service.rules.actions``)."""

    body_sites: tuple[str, ...] = ()
    occurrence: date | None = None


@dataclass(frozen=True, kw_only=True)
class Signal:
    """What one rule concluded. Built with keyword arguments; the rule id comes from the declaration."""

    indicator: Indicator
    summary: str  # one line, < 140 characters, with the decisive number
    reason: str  # one or two sentences of clinical reasoning
    evidence: tuple[Evidence, ...]
    key: str  # stable digest of the decisive evidence (feedback suppression compares it)
    notes: tuple[str, ...] = ()  # caveats a clinician must see ("verify weight: oedema")
    since: date | None = None  # an order for the action counts only on/after this date
    order: Order = Order()
    preliminary: bool = False  # rests on a preliminary result: never critical
    also: tuple[str, ...] = ()  # further catalogued rule ids shown on the card (e.g. BMD-02)
    group: str | None = None  # merge key when it is not the rule's action (e.g. "repeat weight")
    action: ActionKind | None | bool = True  # True: the catalogue's action; None: no order
    rule: str = ""  # filled in by the registry from the declaration

    def __post_init__(self) -> None:
        if len(self.summary) >= 140:  # a safety net: a long drug or site name must not break the card
            object.__setattr__(self, "summary", self.summary[:137].rstrip() + "…")


@dataclass(frozen=True, slots=True)
class Skip:
    """Why a rule did not fire: ``kind`` is gate | missing | stale | threshold | actioned | not-applicable."""

    kind: str
    why: str

    @staticmethod
    def missing(why: str) -> Skip:
        return Skip("missing", why)

    @staticmethod
    def stale(why: str) -> Skip:
        return Skip("stale", why)

    @staticmethod
    def below(why: str) -> Skip:
        return Skip("threshold", why)

    @staticmethod
    def na(why: str) -> Skip:
        return Skip("not-applicable", why)


Outcome = Signal | Sequence[Signal] | Skip


@dataclass(frozen=True)
class Finding:
    """One card's content: the signals that ask for the same thing, merged (lead = strongest first)."""

    rule_ids: tuple[str, ...]  # lead rule first
    topic: Topic
    indicator: Indicator
    summary: str
    reasons: tuple[str, ...]  # one per merged signal, lead first
    evidence: tuple[Evidence, ...]
    citations: tuple[Citation, ...]
    action: ActionKind | None
    suggestions: tuple[SuggestedResource, ...]
    notes: tuple[str, ...]
    evidence_key: str
    recalled: bool = False  # a recalled [R] threshold decided it: the card says "review locally"
    overridden: bool = False  # a threshold set by the site decided it

    @property
    def reasoning(self) -> str:
        return " ".join(self.reasons)


@dataclass(frozen=True, slots=True)
class SuggestedResource:
    """A FHIR R4 resource (plain JSON) a clinician can accept with one click."""

    label: str
    resource: dict[str, Any]
    action: ActionKind | None = None


class RuleContext:
    """One evaluation: the patient summary, today's date, the knowledge and the thresholds in force
    today (``ctx.t.bone.z_low_sd``), and a memo so derived facts are computed once per request."""

    __slots__ = ("summary", "today", "knowledge", "t", "memo")

    def __init__(self, summary: PatientSummary, today: date, knowledge: Knowledge):
        self.summary = summary
        self.today = today
        self.knowledge = knowledge
        self.t: Thresholds = knowledge.thresholds(today)
        self.memo: dict[Any, Any] = {}


T = TypeVar("T")


def memo(fn: Callable[..., T]) -> Callable[..., T]:
    """Compute ``fn(ctx, *args)`` once per request (derived facts several rules read)."""

    @wraps(fn)
    def wrapper(ctx: RuleContext, *args: Any) -> T:
        key = (fn, args)
        try:
            return ctx.memo[key]  # type: ignore[no-any-return]
        except KeyError:
            value = ctx.memo[key] = fn(ctx, *args)
            return value

    return wrapper


@dataclass(frozen=True)
class Rule:
    id: str
    check: Callable[[RuleContext], Outcome]


DECLARED: dict[str, Rule] = {}


def rule(rule_id: str) -> Callable[[Callable[[RuleContext], Outcome]], Callable[[RuleContext], Outcome]]:
    """Declare the function that implements catalogue rule ``rule_id`` (one function per rule)."""

    def register(fn: Callable[[RuleContext], Outcome]) -> Callable[[RuleContext], Outcome]:
        if rule_id in DECLARED:
            raise ValueError(f"rule {rule_id} declared twice")
        DECLARED[rule_id] = Rule(rule_id, fn)
        return fn

    return register
