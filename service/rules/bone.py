"""The bone-health rule family in one call: ``evaluate_bone(ctx)`` runs SI, BMD, BT, MON and VD rules and
merges findings that ask for the same action into one card (§2.H: one card per recommendation; SI-04
and BMD-05 share one card). ``BONE_RULES`` exposes it as a single Rule for the registry.
"""

from __future__ import annotations

from service.rules._bone_cards import merge
from service.rules._bone_data import gate
from service.rules.bmd import BMD_RULES, falling_bmd
from service.rules.bone_therapy import bone_therapy
from service.rules.core import Finding, Rule, RuleContext
from service.rules.spine_imaging import (
    si_glucocorticoid,
    si_long_bone,
    si_low_bmd,
    si_on_therapy,
    si_other_risk,
    si_symptoms,
)
from service.rules.therapy_monitoring import MONITORING_RULES
from service.rules.vitamin_d import VITAMIN_D_RULES

# Order matters only for ties when merging: the first finding of the strongest indicator leads the card,
# so specific triggers (symptoms, falling/low BMD, new fracture) come before routine surveillance.
ALL_RULES: tuple[Rule, ...] = (
    si_symptoms,  # SI-05
    falling_bmd,  # SI-04 + BMD-05
    si_low_bmd,  # SI-06
    si_long_bone,  # SI-07
    si_glucocorticoid,  # SI-01, SI-02
    si_other_risk,  # SI-03
    si_on_therapy,  # SI-08
    *(r for r in BMD_RULES if r is not falling_bmd),  # BMD-03, 04, 06, 07
    bone_therapy,  # BT-01..07 (+ BMD-02 classification)
    *MONITORING_RULES,  # MON-01..06
    *VITAMIN_D_RULES,  # VD-01..04
)


def evaluate_bone(ctx: RuleContext) -> list[Finding]:
    """Every bone-health finding for the patient, one per action; none outside the population gate."""
    if not gate(ctx):
        return []
    return merge([f for rule in ALL_RULES for f in rule(ctx)])


BONE_RULES: tuple[Rule, ...] = (evaluate_bone,)
