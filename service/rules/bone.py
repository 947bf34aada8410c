"""The bone-health rule family in one call: ``evaluate_bone(ctx)`` runs SI, BMD, BT, MON and VD rules and
merges findings that ask for the same action into one card (§2.H: one card per recommendation; SI-04
and BMD-05 share one card). ``BONE_RULES`` exposes it as a single Rule for the registry.
"""

from __future__ import annotations

from service.rules._bone_cards import merge
from service.rules._bone_data import gate
from service.rules.bmd import BMD_RULES
from service.rules.bone_therapy import bone_therapy
from service.rules.core import Finding, Rule, RuleContext
from service.rules.spine_imaging import SPINE_RULES
from service.rules.therapy_monitoring import MONITORING_RULES
from service.rules.vitamin_d import VITAMIN_D_RULES

# Order matters only for ties when merging: the first finding of the strongest indicator leads the card.
ALL_RULES: tuple[Rule, ...] = (
    *SPINE_RULES[:2], BMD_RULES[0], *SPINE_RULES[2:],  # SI-01/02, SI-03, SI-04+BMD-05, SI-05..08
    *BMD_RULES[1:], bone_therapy, *MONITORING_RULES, *VITAMIN_D_RULES,
)


def evaluate_bone(ctx: RuleContext) -> list[Finding]:
    """Every bone-health finding for the patient, one per action; none outside the population gate."""
    if not gate(ctx):
        return []
    return merge([f for rule in ALL_RULES for f in rule(ctx)])


BONE_RULES: tuple[Rule, ...] = (evaluate_bone,)
