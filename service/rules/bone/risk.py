"""Persistent risk factors for bone fragility (glucocorticoids, non-ambulatory, low or falling BMD, prior
fragility fracture) and the paediatric osteoporosis definition (BMD-02), computed once per request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from service.fhir.summary import Concept, Fracture, FractureKind, Measurement, MedicationCourse
from service.rules.bone.dxa import Exam, latest_low, score_evidence, score_text, site_label
from service.rules.bone.facts import (
    chronic_gc,
    fracture_evidence,
    fragility_fractures,
    gc_evidence,
    is_child,
    needs_confirmation,
)
from service.rules.bone.trend import Decline, declines
from service.rules.core import Evidence, RuleContext, memo


@dataclass(frozen=True)
class Risk:
    gc: MedicationCourse | None
    non_ambulatory: bool
    low: tuple[Exam, Measurement] | None  # fresh low score at the lowest valid site
    falling: Decline | None
    fractures: tuple[Fracture, ...]  # fragility fractures (VF of sufficient grade, long bone not traumatic)

    def prior_fractures(self, *without: Fracture) -> tuple[Fracture, ...]:
        """Confirmed fragility fractures other than ``without``."""
        return tuple(f for f in self.fractures if f not in without and not needs_confirmation(f))

    def names(self, *without: Fracture) -> list[str]:
        out = []
        if self.gc:
            out.append(f"glucocorticoids ({self.gc.drug})")
        if self.non_ambulatory:
            out.append("non-ambulatory")
        if self.low:
            # the site is named: a child's card may also cite the paediatric site's score
            out.append(f"low BMD ({site_label(self.low[1])} {score_text(self.low[1])})")
        if self.falling:
            out.append(f"falling BMD ({self.falling.text})")
        if self.prior_fractures(*without):
            out.append("prior fragility fracture")
        return out

    def confirmed_names(self, *without: Fracture) -> list[str]:
        """``names`` without risk factors that rest only on a preliminary DXA (preliminary data never
        make a card critical); they may still be listed as evidence."""
        out = self.names(*without)
        if self.low and self.low[1].preliminary:
            out = [n for n in out if not n.startswith("low BMD")]
        if self.falling and (self.falling.earlier.preliminary or self.falling.later.preliminary):
            out = [n for n in out if not n.startswith("falling BMD")]
        return out

    def evidence(self, today: date, *without: Fracture) -> list[Evidence]:
        ev: list[Evidence] = []
        if self.gc:
            ev.append(gc_evidence(self.gc, today))
        if self.non_ambulatory:
            ev.append(Evidence("Mobility", "non-ambulatory / wheelchair dependent"))
        if self.low:
            ev.append(score_evidence(self.low[1], "lowest valid site"))
        if self.falling:
            ev.extend(self.falling.evidence)
        ev.extend(fracture_evidence(f) for f in self.prior_fractures(*without))
        return ev

    @property
    def key(self) -> str:
        parts = [self.gc.drug if self.gc else "", "nonamb" if self.non_ambulatory else ""]
        if self.low:
            parts.append(f"{self.low[1].source}={self.low[1].value:g}")
        if self.falling:
            parts.append(self.falling.key)
        return ";".join(p for p in parts if p)


@memo
def risk(ctx: RuleContext) -> Risk:
    falls = declines(ctx)
    return Risk(
        chronic_gc(ctx),
        ctx.summary.non_ambulatory,
        latest_low(ctx),
        falls[0] if falls else None,
        fragility_fractures(ctx),
    )


@memo
def paediatric_osteoporosis(ctx: RuleContext) -> str | None:
    """BMD-02: the ISCD paediatric osteoporosis definition met, as card text; None if not met or adult."""
    if not is_child(ctx):
        return None
    r, b = risk(ctx), ctx.t.bone
    if any(f.kind is FractureKind.VERTEBRAL and not needs_confirmation(f) for f in r.fractures):
        return "paediatric osteoporosis (ISCD): a vertebral fracture without local disease or major trauma"
    if r.low is None or r.low[1].concept is not Concept.Z_SCORE or r.low[1].value > b.z_low_sd:
        return None
    ages = [
        ctx.summary.age_at(f.when)
        for f in r.fractures
        if f.kind is FractureKind.LONG_BONE and f.when and not needs_confirmation(f)
    ]
    early = sum(1 for a in ages if a is not None and a < b.ped_fx_early_age_years + 1)
    late = sum(1 for a in ages if a is not None and a < b.ped_fx_late_age_years + 1)
    if early >= b.ped_fx_early_count or late >= b.ped_fx_late_count:
        return (
            f"paediatric osteoporosis (ISCD): Z {r.low[1].display} with {late} long-bone fractures "
            f"by age {b.ped_fx_late_age_years.number}"
        )
    return None
