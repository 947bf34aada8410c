"""The population gate from the value set (by ICD-10-CM hierarchy and SNOMED CT,
plus a site's local codes) and the age band from the birth date alone (item 6: an adult with a BMI
and no weight gets the adult BMI rules), each through the data layer and the rules."""

from __future__ import annotations

from datetime import date

import pytest

from service.fhir.build import build_summary
from service.fhir.summary import Nmd
from service.knowledge import Knowledge, default_knowledge, load_knowledge
from service.rules.core import RuleContext
from service.rules.registry import evaluate
from tests.fhir.helpers import ICD10CM, LOINC, SNOMED, cc, obs

TODAY = date(2026, 11, 21)
LOCAL = "http://hospital.example/fhir/CodeSystem/diagnoses"
PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1980-03-01"}


def _condition(system: str, code: str) -> dict:
    return {
        "resourceType": "Condition",
        "id": "dx",
        "clinicalStatus": cc("http://terminology.hl7.org/CodeSystem/condition-clinical", "active"),
        "code": cc(system, code),
        "subject": {"reference": "Patient/p1"},
        "onsetDateTime": "2020-01-01",
    }


def _weights() -> list[dict]:  # 70 → 64 kg in 4 months: a 8.6 % loss, a card in every neuromuscular disorder
    return [
        obs("29463-7", 70, "kg", when="2026-07-20", id="w1"),
        obs("29463-7", 64, "kg", when="2026-11-18", id="w2"),
    ]


def _rules(resources: list[dict], knowledge: Knowledge) -> tuple[tuple[Nmd, ...], set[str]]:
    s = build_summary(resources, TODAY, knowledge, patient_id="p1")
    fired = {r for f in evaluate(RuleContext(s, TODAY, knowledge)).findings for r in f.rule_ids}
    return tuple(d.disorder for d in s.diagnoses), fired


GATE = [  # every family, by hierarchy (dotted or not), and SNOMED CT
    (ICD10CM, "G12.0", Nmd.SMA),
    (ICD10CM, "G12.1", Nmd.SMA),
    (ICD10CM, "G12.20", Nmd.ALS),  # motor neuron disease, unspecified
    (ICD10CM, "G12.21", Nmd.ALS),
    (ICD10CM, "G12.22", Nmd.ALS),  # progressive bulbar palsy
    (ICD10CM, "G12.23", Nmd.ALS),  # primary lateral sclerosis
    (ICD10CM, "G12.24", Nmd.ALS),  # familial motor neuron disease
    (ICD10CM, "G12.25", Nmd.ALS),  # progressive spinal muscle atrophy
    (ICD10CM, "G12.29", Nmd.ALS),
    (ICD10CM, "G12.8", Nmd.SMA),
    (ICD10CM, "G12.9", Nmd.SMA),
    (ICD10CM, "G71.00", Nmd.MUSCULAR_DYSTROPHY),
    (ICD10CM, "G71.01", Nmd.DMD),
    (ICD10CM, "G71.02", Nmd.MUSCULAR_DYSTROPHY),  # FSHD
    (ICD10CM, "G71.031", Nmd.MUSCULAR_DYSTROPHY),  # limb-girdle
    (ICD10CM, "G71.09", Nmd.MUSCULAR_DYSTROPHY),
    (ICD10CM, "G71.11", Nmd.MYOTONIC),  # myotonic muscular dystrophy
    (ICD10CM, "G7111", Nmd.MYOTONIC),  # written without its dot
    (ICD10CM, "G71.12", Nmd.MYOTONIC),  # myotonia congenita
    (ICD10CM, "G71.19", Nmd.MYOTONIC),
    (ICD10CM, "G71.20", Nmd.MYOPATHY),  # congenital myopathy
    (ICD10CM, "G71.220", Nmd.MYOPATHY),
    (ICD10CM, "G71.3", Nmd.MYOPATHY),
    (ICD10CM, "G71.8", Nmd.MYOPATHY),
    (ICD10CM, "G71.9", Nmd.MYOPATHY),
    (ICD10CM, "G72.41", Nmd.MYOPATHY),  # inclusion body myositis
    (ICD10CM, "G72.49", Nmd.MYOPATHY),
    (ICD10CM, "G73.7", Nmd.MYOPATHY),
    ("http://hl7.org/fhir/sid/icd-10", "G12.2", Nmd.ALS),  # WHO ICD-10 URI
    (SNOMED, "37340000", Nmd.ALS),  # motor neuron disease
    (SNOMED, "86044005", Nmd.ALS),
    (SNOMED, "76670001", Nmd.DMD),
    (SNOMED, "5262007", Nmd.SMA),
    (SNOMED, "399091004", Nmd.MUSCULAR_DYSTROPHY),
]


@pytest.mark.parametrize("system, code, disorder", GATE, ids=[c for _, c, _ in GATE])
def test_every_neuromuscular_family_passes_the_gate_and_gets_cards(system, code, disorder) -> None:
    diagnoses, fired = _rules([PATIENT, _condition(system, code), *_weights()], default_knowledge())
    assert diagnoses == (disorder,)
    assert fired & {"NUT-01", "NUT-02"}, "an in-scope patient with an 8.6 % weight loss gets a card"


@pytest.mark.parametrize(
    "system, code",
    [
        (ICD10CM, "G72.0"),  # drug-induced myopathy
        (ICD10CM, "G70.00"),  # myasthenia gravis
        (ICD10CM, "G80.0"),  # cerebral palsy: out of scope by default
        (SNOMED, "128188000"),
        (LOCAL, "NMD-ALS"),  # a local code without the site file
    ],
)
def test_outside_the_gate_no_card(system, code) -> None:
    _, fired = _rules([PATIENT, _condition(system, code), *_weights()], default_knowledge())
    assert fired == set()


def test_a_sites_local_diagnosis_code_opens_the_gate(tmp_path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(
        f"local_codes:\n"
        f"  - {{system: '{LOCAL}', code: NMD-ALS, display: ALS,\n"
        f"     same_as: {{system: snomed, code: '86044005'}}}}\n"
        f"  - system: '{LOCAL}'\n    code: NMD-IBM\n    display: Inclusion body myositis\n"
        f"    valueset: neuromuscular-disorders\n    attributes: {{disorder: myopathy}}\n"
    )
    site = load_knowledge(path)
    for code, disorder in (("NMD-ALS", Nmd.ALS), ("NMD-IBM", Nmd.MYOPATHY)):
        diagnoses, fired = _rules([PATIENT, _condition(LOCAL, code), *_weights()], site)
        assert diagnoses == (disorder,) and fired & {"NUT-01", "NUT-02"}


def _bmi(value: float, when: str = "2026-11-10") -> dict:
    return obs(cc(LOINC, "39156-5"), value, "kg/m2", when=when, id=f"bmi-{value}")


@pytest.mark.parametrize(
    "birth, facts, rule",
    [  # (birth date, what the chart measured, the BMI rule expected) — the band is the age, not the data
        ("1980-03-01", [_bmi(17.2)], "NUT-04"),  # adult, BMI only: adult BMI rules (the chart)
        (
            "1980-03-01",
            [obs("29463-7", 47, "kg", when="2026-11-10"), obs("8302-2", 165, "cm", when="2026-11-10")],
            "NUT-04",
        ),
        ("1980-03-01", [_bmi(17.2), obs("8302-2", 165, "cm", when="2026-11-10")], "NUT-04"),  # BMI + height
        ("2006-10-01", [_bmi(17.2)], "NUT-04"),  # just 20: an adult
        ("2014-03-01", [_bmi(13.0)], None),  # a child: no adult BMI rule, and no percentile to read
        ("2014-03-01", [obs(cc(LOINC, "59576-9"), 3, "%", when="2026-11-10")], "NUT-06"),  # child percentile
    ],
)
def test_the_age_band_comes_from_the_birth_date_never_from_the_measurements(birth, facts, rule) -> None:
    patient = {**PATIENT, "birthDate": birth}
    _, fired = _rules([patient, _condition(SNOMED, "5262007"), *facts], default_knowledge())
    nutrition = {r for r in fired if r in ("NUT-04", "NUT-06")}
    assert nutrition == ({rule} if rule else set())
