"""Observation → Measurement: status, absent values, comparators, codes, sites, ages, dates."""

from __future__ import annotations

from datetime import date

import pytest

from service.fhir.summary import Concept, Site
from tests.fhir.helpers import LOINC, SNOMED, cc, obs, qty, reasons, run, stats


@pytest.mark.parametrize(
    "status, kept, preliminary, reason",
    [  # status: preliminary and unusable results
        ("final", True, False, None),
        ("amended", True, False, None),
        ("corrected", True, False, None),
        ("preliminary", True, True, None),
        ("entered-in-error", False, False, "status entered-in-error"),
        ("cancelled", False, False, "status cancelled"),
        ("registered", False, False, "status registered"),
        ("unknown", False, False, "status unknown"),
        ("bogus", False, False, "unusable status"),
    ],
)
def test_observation_status(status, kept, preliminary, reason) -> None:
    s = run(obs("62292-8", 12, "ng/mL", status=status))
    m = s.latest(Concept.VITAMIN_D_25OH)
    assert (m is not None) == kept
    if m:
        assert m.preliminary == preliminary
    assert reasons(s) == ([reason] if reason else [])


def test_amended_version_with_same_identifier_wins() -> None:
    ident = [{"system": "urn:lab", "value": "acc-1"}]
    first = obs("62292-8", 12, "ng/mL", id="a", identifier=ident, meta={"versionId": "1"})
    amended = obs("62292-8", 21, "ng/mL", id="b", status="amended", identifier=ident, meta={"versionId": "2"})
    for order in ([first, amended], [amended, first]):
        s = run(*order)
        assert [m.value for m in s.series(Concept.VITAMIN_D_25OH)] == [21.0]
        assert [(d.source, d.reason) for d in s.dropped] == [("Observation/a", "superseded or duplicate")]


def test_same_resource_twice_is_used_once() -> None:
    o = obs("29463-7", 30, "kg", id="w1")
    s = run(o, dict(o))
    assert len(s.series(Concept.WEIGHT)) == 1 and reasons(s) == ["superseded or duplicate"]


@pytest.mark.parametrize(
    "resource, reason",
    [  # dataAbsentReason and values that cannot be read
        (
            obs(
                "62292-8",
                None,
                dataAbsentReason=cc("http://terminology.hl7.org/CodeSystem/data-absent-reason", "error"),
            ),
            "data absent",
        ),
        (obs("62292-8", 12, "ng/mL", dataAbsentReason=cc("x", "masked")), "data absent"),
        (obs("62292-8", None), "no value"),
        (obs("62292-8", None, valueString="see report"), "text result without one number"),
        (obs("62292-8", None, valueBoolean=True), "value is not a quantity"),
        (obs("62292-8", None, valueQuantity={"unit": "ng/mL"}), "no numeric value"),
        (
            obs("62292-8", None, valueQuantity={"value": 3, "comparator": "ad", "code": "ng/mL"}),
            "unsupported comparator",
        ),
        (obs("62292-8", 12, "ng/mL", when=None), "no date"),
    ],
)
def test_no_value_no_measurement(resource, reason) -> None:
    s = run(resource)
    assert s.measurements == () and reasons(s) == [reason]


@pytest.mark.parametrize(
    "comparator, unit, value", [("<", "ng/mL", 10.0), ("<=", "nmol/L", 8.0), (">", "ng/mL", 150.0)]
)
def test_comparator_kept_as_bound(comparator, unit, value) -> None:
    raw = value * 2.496 if unit == "nmol/L" else value
    s = run(obs("62292-8", None, valueQuantity=qty(raw, unit, comparator)))
    m = s.latest(Concept.VITAMIN_D_25OH)
    assert m is not None and m.comparator == comparator and m.value == pytest.approx(value)


@pytest.mark.parametrize(
    "loinc, value, unit, concept, expected",
    [  # % predicted codes
        ("19870-5", 48, "%", Concept.FVC_PCT_PREDICTED, 48.0),
        ("19868-9", 48, "%", Concept.FVC_PCT_PREDICTED, 48.0),
        ("19867-1", 35, "%", Concept.VC_PCT_PREDICTED, 35.0),
        ("19870-5", 1.4, "L", Concept.FVC, 1.4),
        ("19872-1", 48, "%", Concept.FVC_PCT_PREDICTED, 48.0),
    ],
)
def test_fvc_percent_under_volume_code(loinc, value, unit, concept, expected) -> None:
    s = run(obs(loinc, value, unit))
    assert [(m.concept, m.value) for m in s.measurements] == [(concept, expected)]


def test_percent_never_becomes_litres() -> None:
    s = run(obs("19869-7", 55, "%"))  # FVC *predicted* in % is meaningless
    assert s.measurements == () and reasons(s) == ["unknown unit '%'"]


@pytest.mark.parametrize(
    "loinc, value, unit, kept",
    [  # the code decides, the value must be plausible for it
        ("38267-1", -2.4, "{T-score}", True),
        ("38267-1", -7.1, "{T-score}", False),
        ("85394-5", 5.5, None, False),
        ("24966-4", 0.85, "g/cm2", True),
        ("24966-4", 85, "g/cm2", False),
        ("24966-4", 0.1, "g/cm2", False),
        ("29463-7", 7000, "kg", False),
        ("8302-2", -4, "cm", False),
    ],
)
def test_plausibility(loinc, value, unit, kept) -> None:
    s = run(obs(loinc, value, unit))
    assert bool(s.measurements) == kept
    assert kept or reasons(s)[0].startswith("implausible")


@pytest.mark.parametrize(
    "loinc, body_site, site, side",
    [  # DXA site and side, from the code or bodySite
        ("46278-8", None, Site.TOTAL_HIP, "left"),
        ("46279-6", None, Site.TOTAL_HIP, "right"),
        ("38261-4", {"text": "Right hip"}, Site.TOTAL_HIP, "right"),
        ("24701-5", cc(SNOMED, "71341001:272741003=7771000", text="Left Femur"), Site.FEMORAL_NECK, "left"),
        ("24701-5", {"text": "lateral distal femur, left"}, Site.DISTAL_FEMUR, "left"),
        ("46383-6", {"text": "Total body less head"}, Site.TOTAL_BODY, None),
        ("46383-6", None, Site.OTHER, None),
        ("24966-4", None, Site.LUMBAR_SPINE, None),
    ],
)
def test_dxa_site_and_laterality(loinc, body_site, site, side) -> None:
    extra = {"bodySite": body_site} if body_site else {}
    s = run(obs(loinc, 0.7, "g/cm2", **extra))
    m = s.latest(Concept.BMD)
    assert m is not None and (m.site, m.laterality) == (site, side)


def test_both_hips_kept_for_lowest_site_rule() -> None:
    s = run(obs("46278-8", 0.61, "g/cm2"), obs("46279-6", 0.58, "g/cm2"))
    assert sorted((m.laterality, m.value) for m in s.series(Concept.BMD, Site.TOTAL_HIP)) == [
        ("left", 0.61),
        ("right", 0.58),
    ]


@pytest.mark.parametrize(
    "birth, measured, years",
    [  # age at the test date (the rules choose the BMD metric from it)
        ("2015-01-01", "2019-12-31", 4),
        ("2015-01-01", "2020-01-02", 5),
        ("2004-01-01", "2023-12-30", 19),
        ("2004-01-01", "2024-01-02", 20),
        ("1970-01-01", "2024-01-02", 54),
    ],
)
def test_age_at_measurement_date(birth, measured, years) -> None:
    patient = {"resourceType": "Patient", "id": "p1", "birthDate": birth, "gender": "male"}
    s = run(patient, obs("38267-1", -2.6, "{T-score}", when=measured))
    t = s.latest(Concept.T_SCORE)  # child T-scores are kept; the rules ignore them by age
    assert t is not None and int(s.age_at(t.when)) == years


@pytest.mark.parametrize(
    "extra, estimated",
    [  # estimated heights
        ({}, False),
        ({"method": {"text": "Estimated from ulna length"}}, True),
        ({"method": {"text": "arm span"}}, True),
        ({"note": [{"text": "knee height derived"}]}, True),
    ],
)
def test_estimated_height(extra, estimated) -> None:
    s = run(obs("8302-2", 120, "cm", **extra))
    m = s.latest(Concept.HEIGHT)
    assert m is not None and m.estimated is estimated


@pytest.mark.parametrize(
    "resource, concept",
    [  # usual (pre-illness) weight
        (obs("29463-7", 60, "kg", note=[{"text": "Usual weight per patient"}]), Concept.USUAL_WEIGHT),
        (
            obs({"coding": [{"system": "urn:local", "code": "UW"}], "text": "Pre-illness weight"}, 60, "kg"),
            Concept.USUAL_WEIGHT,
        ),
        (obs("29463-7", 60, "kg"), Concept.WEIGHT),
    ],
)
def test_usual_weight(resource, concept) -> None:
    s = run(resource)
    assert [m.concept for m in s.measurements] == [concept]
    assert s.measurements[0].usual is (concept is Concept.USUAL_WEIGHT)


def test_usual_weight_from_prior_maximum() -> None:
    s = run(
        obs("29463-7", 64, "kg", when="2024-01-01"),
        obs("29463-7", 66, "kg", when="2024-02-01"),
        obs("29463-7", 60, "kg", when="2024-05-01"),
    )
    current = s.latest(Concept.WEIGHT)
    assert current is not None and current.value == 60
    usual = s.usual_weight(current, lookback_days=183, min_span_days=14)
    assert usual is not None and usual.value == 66
    assert s.usual_weight(s.series(Concept.WEIGHT)[0], 183, 14) is None  # one weight: no trend


@pytest.mark.parametrize(
    "when_fields, expected",
    [  # the date of a result (what staleness reads)
        ({"effectiveDateTime": "2023-05-04T10:00:00Z"}, date(2023, 5, 4)),
        ({"effectiveDateTime": "2023-05-04T22:30:00-05:00"}, date(2023, 5, 5)),  # compared in UTC
        ({"effectiveDateTime": "2023-05-04"}, date(2023, 5, 4)),
        ({"effectiveDateTime": "2023-05"}, date(2023, 5, 1)),
        ({"effectiveDateTime": "2023"}, date(2023, 1, 1)),
        ({"effectivePeriod": {"start": "2023-02-01", "end": "2023-02-03"}}, date(2023, 2, 1)),
        ({"effectiveInstant": "2023-03-01T00:00:00.000+00:00"}, date(2023, 3, 1)),
        ({"issued": "2023-06-07T08:00:00Z"}, date(2023, 6, 7)),
        ({"effectiveTiming": {"event": ["2023-01-01"]}, "issued": "2023-06-07T08:00:00Z"}, date(2023, 6, 7)),
    ],
)
def test_effective_date(when_fields, expected) -> None:
    s = run(obs("29463-7", 30, "kg", when=None, **when_fields))
    assert [m.when for m in s.measurements] == [expected]


def test_dxa_panel_components_and_height_adjusted_z() -> None:
    panel = obs(
        "38269-7",
        None,
        component=[
            {"code": cc(LOINC, "24966-4"), "valueQuantity": qty(0.55, "g/cm2")},
            {
                "code": cc(LOINC, "85394-5", text="Height-adjusted Z-score (HAZ)"),
                "valueQuantity": qty(-2.3, "{Z-score}"),
            },
            {"code": cc(LOINC, "38267-1"), "dataAbsentReason": cc("x", "not-applicable")},
            {"code": cc(LOINC, "99999-9"), "valueQuantity": qty(1, "1")},
        ],
        method={"text": "height-adjusted"},
    )
    s = run(panel)
    assert sorted(m.concept for m in s.measurements) == [Concept.BMD, Concept.Z_SCORE]
    assert s.latest(Concept.Z_SCORE).height_adjusted  # type: ignore[union-attr]
    assert reasons(s) == ["data absent"]


@pytest.mark.parametrize(
    "code, system, concept",
    [  # SNOMED CT observables; creatinine and cystatin C
        ("50834005", SNOMED, Concept.FVC),
        ("445210000", SNOMED, Concept.FVC_PCT_PREDICTED),
        ("33863-2", LOINC, Concept.CYSTATIN_C),
        ("2160-0", LOINC, Concept.CREATININE),
    ],
)
def test_other_codes(code, system, concept) -> None:
    unit = {"445210000": "%", "33863-2": "mg/L", "2160-0": "mg/dL"}.get(code, "L")
    s = run(obs(code, 1.0, unit, system=system))
    assert [m.concept for m in s.measurements] == [concept]


def test_out_of_scope_observations_are_ignored_not_dropped() -> None:
    irrelevant = [obs("8867-4", 80, "/min") for _ in range(50)]  # heart rate: not used by this service
    irrelevant.append(obs("8867-4", 80, "/min", status="entered-in-error"))
    s, st = stats(*irrelevant)
    assert s.measurements == () and s.dropped == ()
    assert st.ignored == {"code not used": 51} and st.used == 0


@pytest.mark.parametrize(
    "birth, measured, at_least_20",
    [  # the 20th birthday itself, leap-year births (days/365.25 put some birthdays a day off)
        ("2003-06-02", "2023-06-01", False),
        ("2003-06-02", "2023-06-02", True),
        ("2004-02-29", "2024-02-28", False),
        ("2004-02-29", "2024-02-29", True),
        ("2001-03-01", "2021-03-01", True),
        ("2001-03-01", "2021-02-28", False),
        ("2003-02-28", "2023-02-28", True),
    ],
)
def test_age_on_birthdays(birth, measured, at_least_20) -> None:
    s = run(
        {"resourceType": "Patient", "id": "p1", "birthDate": birth}, obs("85394-5", -1, None, when=measured)
    )
    assert (s.age_at(s.measurements[0].when) >= 20) is at_least_20
