"""Results sent as text (valueString, valueCodeableConcept) are read conservatively: one comparator,
one number, one unit from the table; "below detection" is a bound only where the knowledge says how
(25-OH vitamin D, VD-04); everything else is dropped with a reason."""

from __future__ import annotations

import pytest

from service.fhir.summary import Concept
from service.rules.core import RuleContext
from service.rules.registry import evaluate
from tests.fhir.helpers import ICD10CM, KNOWLEDGE, TODAY, cond, obs, reasons, run, steroid

DEFICIENT = float(KNOWLEDGE.thresholds(TODAY).bone.vitd_deficient_ng_ml)


@pytest.mark.parametrize(
    "code, text, concept, comparator, value, alias",
    [
        ("62292-8", "<10 ng/mL", Concept.VITAMIN_D_25OH, "<", 10.0, None),
        ("62292-8", "< 10 ng/ml", Concept.VITAMIN_D_25OH, "<", 10.0, None),
        ("62292-8", "less than 10", Concept.VITAMIN_D_25OH, "<", 10.0, None),  # no unit: read as ng/mL
        ("62292-8", "Less than 10 NG/ML", Concept.VITAMIN_D_25OH, "<", 10.0, "NG/ML"),
        ("62292-8", "≤ 24.96 nmol/L", Concept.VITAMIN_D_25OH, "<=", 10.0, None),
        ("62292-8", "below 12.5", Concept.VITAMIN_D_25OH, "<", 12.5, None),
        ("62292-8", "16 ng/mL", Concept.VITAMIN_D_25OH, None, 16.0, None),
        ("62292-8", ">150 ng/mL", Concept.VITAMIN_D_25OH, ">", 150.0, None),
        ("62292-8", "undetectable", Concept.VITAMIN_D_25OH, "<", DEFICIENT, None),
        ("62292-8", "Not detected", Concept.VITAMIN_D_25OH, "<", DEFICIENT, None),
        ("62292-8", "below the detection limit", Concept.VITAMIN_D_25OH, "<", DEFICIENT, None),
        ("38267-1", "-2.6", Concept.T_SCORE, None, -2.6, None),  # a score needs no unit
        ("38267-1", "−2.6 SD", Concept.T_SCORE, None, -2.6, None),
        ("29463-7", "176 lbs", Concept.WEIGHT, None, 176 * 0.45359237, "lbs"),
        ("29463-7", "70 kg", Concept.WEIGHT, None, 70.0, None),
    ],
)
@pytest.mark.parametrize("shape", ["valueString", "valueCodeableConcept"])
def test_text_results_that_are_read(shape, code, text, concept, comparator, value, alias) -> None:
    value_element = text if shape == "valueString" else {"text": text}
    s = run(obs(code, None, **{shape: value_element}))
    assert reasons(s) == []
    (m,) = s.measurements
    assert (m.concept, m.comparator, m.unit_alias) == (concept, comparator, alias)
    assert m.value == pytest.approx(value)
    if m.as_sent:  # a text without a number is shown as sent, with the bound it is read at
        assert m.as_sent == text and m.display == f"{text} (<{DEFICIENT:g} ng/mL)"


@pytest.mark.parametrize(
    "code, text, reason",
    [
        ("62292-8", "see report", "text result without one number"),
        ("62292-8", "10-20 ng/mL", "text result: unknown unit '-20 ng/mL'"),
        ("62292-8", "12 (low)", "text result: unknown unit '(low)'"),
        ("62292-8", "1,5 ng/mL", "text result: unknown unit ',5 ng/mL'"),
        ("62292-8", "12", "text result: missing unit"),  # a number without unit is not a bound
        ("62292-8", ">150", "text result: missing unit"),  # an unitless lower bound could be nmol/L
        ("29463-7", "less than 70", "text result: missing unit"),  # only 25-OH D reads a unitless bound
        ("29463-7", "undetectable", "text result without one number"),  # no bound known for weight
        ("29463-7", "n/a", "text result without one number"),
    ],
)
def test_text_results_that_are_dropped_with_a_reason(code, text, reason) -> None:
    s = run(obs(code, None, valueString=text))
    assert s.measurements == () and reasons(s) == [reason]


def test_undetectable_vitamin_d_gives_the_deficiency_card_not_a_test_due_card() -> None:
    """The issue's chart: 25-OH D 'undetectable' days ago must not leave the patient 'due a test'."""
    patient = {"resourceType": "Patient", "id": "p1", "gender": "male", "birthDate": "2012-01-01"}
    vitd = obs("62292-8", None, valueString="<10 ng/mL", when="2024-05-20")
    s = run(patient, cond(ICD10CM, "G71.01"), steroid("2022-01-01"), vitd, patient_id="p1")
    fired = {f.rule_ids[0] for f in evaluate(RuleContext(s, TODAY, KNOWLEDGE)).findings}
    assert "VD-01" not in fired and {"VD-02", "VD-04"} & fired
