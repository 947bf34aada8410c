"""Results reached through panels and reports: hasMember and DiagnosticReport.result by every reference
form, contained results, what a result takes from its parent (date, bodySite, whose it is), results of
a voided report, and references the request lacks."""

from __future__ import annotations

import pytest

from service.fhir.summary import Concept, Site
from tests.fhir.helpers import LOINC, cc, obs, reasons, run

DXA = cc(LOINC, "38269-7", "DXA Bone density")


def _report(results: list[dict], **extra) -> dict:
    return {
        "resourceType": "DiagnosticReport",
        "id": "r1",
        "status": "final",
        "code": DXA,
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2024-02-01",
        "result": results,
        **extra,
    }


def _member(rid: str, code: str, value: float, unit: str | None = "{T-score}") -> dict:
    o = obs(code, value, unit, id=rid, when=None)
    del o["subject"]  # results only reachable through their report
    return o


@pytest.mark.parametrize(
    "ref, url",
    [
        ("Observation/m1", None),
        ("https://lab.example.org/fhir/Observation/m1", None),
        ("urn:uuid:6f1c2d6e-0000-4000-8000-000000000001", "urn:uuid:6f1c2d6e-0000-4000-8000-000000000001"),
    ],
)
def test_report_results_without_subject_or_date_take_them_from_the_report(ref, url) -> None:
    member = _member("m1", "38267-1", -2.7)
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": _report([{"reference": ref}])}, {"fullUrl": url, "resource": member}],
    }
    s = run(bundle, patient_id="p1")
    (m,) = s.measurements
    assert (m.concept, m.value, m.site, str(m.when)) == (
        Concept.T_SCORE,
        -2.7,
        Site.LUMBAR_SPINE,
        "2024-02-01",
    )
    assert reasons(s) == []


def test_contained_results_are_read_as_resources_of_their_own() -> None:
    contained = [{**_member("t", "38267-1", -2.7), "id": "t"}, {**_member("z", "85394-5", -2.1), "id": "z"}]
    report = _report([{"reference": "#t"}, {"reference": "#z"}, {"reference": "#gone"}], contained=contained)
    s = run(report, patient_id="p1")
    assert sorted((m.concept, m.value, m.source) for m in s.measurements) == [
        (Concept.T_SCORE, -2.7, "DiagnosticReport/r1#t"),
        (Concept.Z_SCORE, -2.1, "DiagnosticReport/r1#z"),
    ]
    assert reasons(s) == ["result not in the request"]


def test_panel_members_take_the_panel_bodysite_and_date() -> None:
    member = _member("m1", "46383-6", 0.61, "g/cm2")  # generic bone BMD: the site comes from bodySite
    panel = obs(
        DXA,
        id="panel",
        when="2024-03-03",
        bodySite={"text": "Lateral distal femur"},
        hasMember=[{"reference": "Observation/m1"}],
    )
    s = run(panel, member, patient_id="p1")
    (m,) = s.measurements
    assert (m.site, str(m.when), m.value) == (Site.DISTAL_FEMUR, "2024-03-03", 0.61)


def test_a_panel_with_a_component_per_site_and_score() -> None:
    def comp(code: str, value: float, unit: str) -> dict:
        return {"code": cc(LOINC, code), "valueQuantity": {"value": value, "unit": unit}}

    panel = obs(
        DXA,
        id="panel",
        component=[
            comp("24966-4", 0.82, "g/cm2"),
            comp("38267-1", -2.1, "{T-score}"),
            comp("85394-5", -1.9, "{Z-score}"),
            comp("38263-0", -2.6, "{T-score}"),
        ],
    )
    s = run(panel, patient_id="p1")
    assert sorted((m.concept.value, m.site.value, m.value) for m in s.measurements) == [
        ("bmd", "lumbar_spine", 0.82),
        ("t_score", "femoral_neck", -2.6),
        ("t_score", "lumbar_spine", -2.1),
        ("z_score", "lumbar_spine", -1.9),
    ]


@pytest.mark.parametrize("status", ["entered-in-error", "cancelled"])
def test_results_of_a_voided_report_are_not_read(status) -> None:
    member = obs("38267-1", -2.7, "{T-score}", id="m1")
    s = run(_report([{"reference": "Observation/m1"}], status=status), member, patient_id="p1")
    assert s.measurements == ()
    assert ("Observation/m1", f"in a panel or report {status}") in [(d.source, d.reason) for d in s.dropped]


def test_a_result_of_another_patients_report_is_another_patients() -> None:
    member = _member("m1", "38267-1", -2.7)
    report = _report([{"reference": "Observation/m1"}], subject={"reference": "Patient/p2"})
    s = run(report, member, patient_id="p1")
    assert s.measurements == ()
    assert sorted(reasons(s)) == ["another patient", "another patient"]


def test_a_result_without_subject_and_without_a_parent_is_nobodys() -> None:
    s = run(_member("m1", "38267-1", -2.7), patient_id="p1")
    assert s.measurements == () and reasons(s) == ["no subject"]


def test_a_missing_result_of_a_report_the_service_does_not_follow_is_not_reported() -> None:
    cbc = {**_report([{"reference": "Observation/hb"}]), "code": cc(LOINC, "58410-2", "CBC panel")}
    s = run(cbc, patient_id="p1")
    assert "result not in the request" not in reasons(s)


def test_the_observation_prefetch_template_asks_for_the_panel_codes() -> None:
    from service.cds_hooks.services import patient_view_prefetch
    from tests.fhir.helpers import KNOWLEDGE

    template = patient_view_prefetch(KNOWLEDGE)["observations"]
    assert "http://loinc.org|38269-7" in template  # a DXA panel Observation
    assert "http://loinc.org|38267-1" in template  # and the results themselves, as before
