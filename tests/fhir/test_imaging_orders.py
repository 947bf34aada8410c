"""Adequate spine imaging (T4-L4 or VFA) and the orders/procedures that suppress a repeat, per ActionKind."""

from __future__ import annotations

from datetime import date

import pytest

from service.fhir.summary import ActionKind, ImagingKind
from tests.fhir.helpers import CPT, LOINC, SNOMED, cc, order_codes, run, stats

SUBJ = {"reference": "Patient/p1"}


def report(code: dict, status: str = "final", **extra: object) -> dict:
    return {
        "resourceType": "DiagnosticReport",
        "id": "r1",
        "status": status,
        "code": code,
        "subject": SUBJ,
        "effectiveDateTime": "2023-04-05",
        **extra,
    }


@pytest.mark.parametrize(
    "resource, kind",
    [
        (report(cc(LOINC, "24984-7")), ImagingKind.LATERAL_SPINE_XR),
        (report(cc(LOINC, "30756-1")), None),  # thoracic film alone: half of T4-L4
        (report(cc(CPT, "77086")), ImagingKind.DXA_VFA),
        (report(cc(CPT, "77085")), ImagingKind.DXA_VFA),
        (report(cc(LOINC, "38269-7", text="DXA with VFA")), ImagingKind.DXA_VFA),
        (report(cc(LOINC, "38269-7", text="DXA bone density")), None),  # BMD-only DXA
        (report(cc(LOINC, "30716-5")), None),  # scoliosis series without a VF read
        (report(cc(LOINC, "30716-5"), conclusion="No vertebral fracture."), ImagingKind.LATERAL_SPINE_XR),
        (report(cc(LOINC, "36556-9", "XR Spine AP")), None),  # AP-only film
        (report(cc(LOINC, "24984-7"), status="registered"), None),
        (report(cc(LOINC, "24984-7"), status="entered-in-error"), None),
        (
            {
                "resourceType": "Procedure",
                "id": "p",
                "status": "completed",
                "code": cc(CPT, "77086"),
                "subject": SUBJ,
                "performedDateTime": "2023-04-05",
            },
            ImagingKind.DXA_VFA,
        ),
        (
            {
                "resourceType": "ImagingStudy",
                "id": "i",
                "status": "available",
                "subject": SUBJ,
                "started": "2023-04-05",
                "procedureCode": [cc(LOINC, "24984-7")],
            },
            ImagingKind.LATERAL_SPINE_XR,
        ),
        (
            {
                "resourceType": "ImagingStudy",
                "id": "i",
                "status": "registered",
                "subject": SUBJ,
                "started": "2023-04-05",
                "procedureCode": [cc(LOINC, "24984-7")],
            },
            None,
        ),
    ],
)
def test_spine_imaging(resource, kind) -> None:
    s = run(resource)
    assert [(i.kind, i.when) for i in s.spine_imaging] == ([(kind, date(2023, 4, 5))] if kind else [])


@pytest.mark.parametrize("action", list(ActionKind))
def test_order_for_each_action(action) -> None:  # open orders suppress repeats
    system, code = sorted(order_codes(action))[0]
    req = {
        "resourceType": "ServiceRequest",
        "id": "sr",
        "status": "active",
        "intent": "order",
        "subject": SUBJ,
        "code": cc(system, code),
        "authoredOn": "2024-05-01",
    }
    s = run(req)
    assert [(o.action, o.status, o.is_procedure, o.when) for o in s.orders] == [
        (action, "active", False, date(2024, 5, 1))
    ]


@pytest.mark.parametrize(
    "status, kept",
    [("completed", True), ("in-progress", True), ("not-done", False), ("entered-in-error", False)],
)
def test_procedure_orders(status, kept) -> None:
    proc = {
        "resourceType": "Procedure",
        "id": "p",
        "status": status,
        "code": cc(CPT, "77080"),
        "subject": SUBJ,
        "performedPeriod": {"start": "2023-01-02"},
    }
    s = run(proc)
    assert [(o.action, o.is_procedure, o.when) for o in s.orders] == (
        [(ActionKind.DXA, True, date(2023, 1, 2))] if kept else []
    )


def test_unrelated_service_request_dropped() -> None:
    req = {
        "resourceType": "ServiceRequest",
        "id": "sr",
        "status": "active",
        "intent": "order",
        "subject": SUBJ,
        "code": cc(SNOMED, "73761001", "Colonoscopy"),
    }
    s, st = stats(req)
    assert s.orders == () and s.dropped == () and st.ignored == {"code not used": 1}
