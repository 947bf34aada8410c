"""A site's local codes (its overrides file) are read exactly like the standard code they map to; the
data layer's look-ups are built once per loaded knowledge and never leak from one site to another."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.fhir.build import build_summary
from service.fhir.summary import Concept, Nmd
from service.fhir.terms import terms_of
from service.knowledge import Knowledge, default_knowledge, load_knowledge
from tests.fhir.helpers import ICD10CM, LOINC, TODAY, cc, cond, obs, reasons

LOCAL = "http://hospital.example/fhir/CodeSystem/local"
SITE_FILE = f"""
comment: test site (ward scale weight, MIP, a local DMD code)
local_codes:
  - {{system: "{LOCAL}", code: "WT-1", display: "Ward scale", same_as: {{system: loinc, code: 29463-7}}}}
  - {{system: "{LOCAL}", code: "DMD", display: "Duchenne", same_as: {{system: icd10, code: G71.01}}}}
  - system: "{LOCAL}"
    code: "MIP"
    display: "Maximal inspiratory pressure"
    valueset: spirometry
    attributes: {{concept: mip}}
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Knowledge:
    path: Path = tmp_path_factory.mktemp("site") / "site.yaml"
    path.write_text(SITE_FILE)
    return load_knowledge(path)


@pytest.mark.parametrize(
    "resource, concept, value, unit",
    [
        (obs(cc(LOCAL, "WT-1"), 61.5, "kg", id="w"), Concept.WEIGHT, 61.5, "kg"),
        (obs(cc(LOINC, "29463-7"), 61.5, "kg", id="w"), Concept.WEIGHT, 61.5, "kg"),
        (obs(cc(LOCAL, "WT-1"), 135.58, "[lb_av]", id="w"), Concept.WEIGHT, 61.498, "kg"),
        (obs(cc(LOCAL, "MIP"), 55, "cm[H2O]", id="w"), Concept.MIP, 55.0, "cm[H2O]"),
    ],
)
def test_local_code_reads_as_its_concept(site, resource, concept, value, unit) -> None:
    (m,) = build_summary([resource], TODAY, site).measurements
    assert (m.concept, round(m.value, 3), m.unit, m.source) == (concept, value, unit, "Observation/w")


def test_local_weight_gives_the_same_summary_as_loinc(site) -> None:
    local = build_summary([obs(cc(LOCAL, "WT-1"), 61.5, "kg", id="w")], TODAY, site)
    loinc = build_summary([obs(cc(LOINC, "29463-7"), 61.5, "kg", id="w")], TODAY, site)
    assert local == loinc


@pytest.mark.parametrize("code", ["WT-1", "MIP"])
def test_without_the_site_file_a_local_code_is_not_read(site, code) -> None:
    s = build_summary([obs(cc(LOCAL, code), 61.5, "kg")], TODAY, default_knowledge())
    assert s.measurements == () and reasons(s) == []  # out of scope: counted, not reported


@pytest.mark.parametrize(
    "system, code, in_scope",
    [(LOCAL, "DMD", True), (ICD10CM, "G71.01", True), (LOCAL, "G71.01", False), (ICD10CM, "DMD", False)],
)
def test_local_diagnosis_passes_the_population_gate(site, system, code, in_scope) -> None:
    s = build_summary([cond(system, code)], TODAY, site)
    assert [d.disorder for d in s.diagnoses] == ([Nmd.DMD] if in_scope else [])


def test_lookups_are_built_once_per_knowledge(site) -> None:
    default = default_knowledge()
    assert terms_of(site) is terms_of(site) and terms_of(default) is terms_of(default)
    assert "WT-1" in terms_of(site).observation_codes
    assert "WT-1" not in terms_of(default).observation_codes
    assert (LOCAL, "WT-1") in terms_of(site).observation_pairs()
    assert (LOCAL, "WT-1") not in terms_of(default).observation_pairs()
