"""The knowledge's value sets as the data layer reads them: code look-ups, phrase matches and the fast
pre-filter sets, built once per loaded ``Knowledge`` (``terms_of`` caches them; a site's local codes
are in its value sets, so a local code is read exactly like the standard code it maps to).

No code is written in the data layer: every code it recognises is in ``service/knowledge/valuesets``.
A value set the data layer needs and the knowledge lacks fails here, at start-up (``KeyError``).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from service.fhir.fhirjson import codings
from service.knowledge import Knowledge
from service.knowledge.model import Code, ValueSet

# The value sets whose codes an Observation may carry a measurement under (DXA, body, spirometry, labs).
MEASUREMENT_SETS = ("dxa", "body-measurements", "spirometry", "labs")


class Terms:
    """Every value set the data layer reads, by role, and look-ups over them."""

    def __init__(self, knowledge: Knowledge):
        v = knowledge.vocabulary
        self.canonical = v.canonical
        # conditions and findings
        self.disorders = v["neuromuscular-disorders"]
        self.non_ambulatory = v["non-ambulatory"]
        self.findings = v["clinical-findings"]
        self.gastrostomy = v["gastrostomy"]
        self.spinal_fusion = v["spinal-fusion"]
        # fractures
        self.fractures = v["fractures"]
        self.external_cause = v["external-cause"]
        self.vf_observation = v["vertebral-fracture-observation"]
        self.genant = v["genant-grade"]
        self.long_bone_text = v["long-bone-text"]
        self.vertebral_text = v["vertebral-text"]
        # measurements
        self.measurements: tuple[ValueSet, ...] = tuple(v[i] for i in MEASUREMENT_SETS)
        self.body = v["body-measurements"]
        self.dxa_site_text = v["dxa-site-text"]
        self.height_adjusted = v["height-adjusted-z"]
        self.estimated_height = v["estimated-height"]
        self.below_detection = v["below-detection"]
        # imaging, orders and procedures
        self.spine_imaging = v["spine-imaging"]
        self.dxa_report = v["dxa-report"]
        self.result_panels = v["result-panels"]
        self.orders = v["orders"]
        # medications and care plans
        self.drugs = v["drugs"]
        self.drug_classes = v["drug-classes"]
        self.non_systemic = v["non-systemic-glucocorticoid"]
        # ingredient → class, for a drug recognised by name (every named drug must have a class)
        self.drug_class: dict[str, str] = {
            str(e.get("drug")): str(e.get("drug_class")) for e in self.drugs.codes if e.get("drug_class")
        }
        self.drug_class.update(
            {str(t.get("drug")): str(t.get("drug_class")) for t in self.drugs.texts if t.get("drug_class")}
        )
        unclassed = sorted({str(t.get("drug")) for t in self.drugs.texts} - set(self.drug_class))
        if unclassed:
            raise ValueError(f"value set drugs: no drug_class for {', '.join(unclassed)}")
        self.weight_management = v["weight-management"]
        # answers: yes / no / normal
        self.present = v["present"]
        self.absent = v["absent"]
        snomed = v.uri("snomed")
        # SNOMED CT ids cannot be mistaken for another system's codes: a presence / absence qualifier is
        # recognised by its id alone (senders put edition URIs or nothing in ``system``).
        self.present_ids = frozenset(c.code for c in self.present.codes if c.system == snomed)
        self.absent_ids = frozenset(c.code for c in self.absent.codes if c.system == snomed)
        # Interpretation codes (N, NEG, ND) are the same in HL7 v3 and v2 table 0078: matched by code.
        self.normal_interpretation = frozenset(c.code for c in v["normal-interpretation"].codes)
        # Laterality qualifiers, also found inside post-coordinated bodySite expressions.
        self.laterality: tuple[tuple[str, str], ...] = tuple(
            (c.code, str(c.get("side"))) for c in v["laterality"].codes
        )
        # The Observation pre-filter: any bare code the data layer may read in Observation.code (system
        # checked later), or a phrase of the code text. ICD-10 codes (matched by hierarchy) are not
        # Observation codes.
        obs_sets = (
            *self.measurements,
            self.vf_observation,
            self.findings,
            self.non_ambulatory,
            self.result_panels,
        )
        self.observation_codes = frozenset(
            c.code for vs in obs_sets for c in vs.codes if c.system not in vs.hierarchical
        )
        self.observation_text = tuple(
            t.text for vs in (self.body, self.vf_observation, self.findings) for t in vs.texts
        )
        self._loinc, self._snomed = v.uri("loinc"), snomed
        self._all = tuple(v.valuesets.values())

    def knows(self, system: str, code: str) -> bool:
        """Whether any value set holds this code (a site's local codes included)."""
        system = self.canonical(system)
        return any(vs.lookup(system, code) is not None for vs in self._all)

    def entries(self, concept: Any, valueset: ValueSet) -> Iterator[Code]:
        """The entries of ``valueset`` for each coding of ``concept`` that is in it, in coding order."""
        for system, code, _ in codings(concept):
            found = valueset.lookup(self.canonical(system), code)
            if found is not None:
                yield found

    def find(self, concept: Any, *valuesets: ValueSet) -> Code | None:
        """The entry of the first coding of ``concept`` found in one of ``valuesets`` (in that order)."""
        for system, code, _ in codings(concept):
            system = self.canonical(system)
            for vs in valuesets:
                found = vs.lookup(system, code)
                if found is not None:
                    return found
        return None

    def observation_pairs(self) -> list[tuple[str, str]]:
        """(system, code) of every Observation code the service reads, for the prefetch template:
        measurement codes by system (LOINC, SNOMED CT, then a site's own systems), each sorted, then
        the vertebral-fracture finding codes, then the panel codes (results as components/members)."""
        measured = {pair for vs in self.measurements for pair in vs.pairs()}
        rank = {self._loinc: "0", self._snomed: "1"}
        out = sorted(measured, key=lambda p: (rank.get(p[0], "2" + p[0]), p[1]))
        out += sorted(p for p in set(self.vf_observation.pairs()) if p not in measured)
        out += sorted(p for p in set(self.result_panels.pairs()) if p not in set(out))
        return out


@lru_cache(maxsize=16)
def terms_of(knowledge: Knowledge) -> Terms:
    """The ``Terms`` of a loaded knowledge, built once (``Knowledge`` hashes by identity)."""
    return Terms(knowledge)
