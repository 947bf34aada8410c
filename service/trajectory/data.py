"""The data behind one trajectory page: the same FHIR reads, summary and cards as the CDS endpoint.

``read_resources`` runs the service's own prefetch templates against the FHIR server through the path
a hook call without prefetch takes (``resolve_prefetch``: the SSRF check, paging with ``_count``, the
size and time limits of ``FhirClient``), with the app's access token. ``summary_of`` and ``cards_of``
are the two steps of ``Engine.handle``, so the page shows exactly what the rules read and the cards
the service gives for this patient now (before feedback suppression, which belongs to the hook call).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from service.cds_hooks.handler import Engine
from service.cds_hooks.prefetch import ResolvedData, resolve_prefetch
from service.cds_hooks.request import FhirAuthorization, HookRequest
from service.cds_hooks.services import NMD_BONE_HEALTH_ID
from service.fhir.summary import Nmd, PatientSummary
from service.rules.core import Finding

APP_SUBJECT = "nmd-cds-trajectory"
DISORDER = {
    Nmd.DMD: "Duchenne muscular dystrophy",
    Nmd.BECKER: "Becker muscular dystrophy",
    Nmd.MUSCULAR_DYSTROPHY: "muscular dystrophy",
    Nmd.MYOTONIC: "myotonic dystrophy or myotonic disorder",
    Nmd.MYOPATHY: "myopathy",
    Nmd.SMA: "spinal muscular atrophy",
    Nmd.ALS: "amyotrophic lateral sclerosis",
    Nmd.CEREBRAL_PALSY: "cerebral palsy",
}


def resource_types(engine: Engine) -> list[str]:
    """The resource types the rules read (those of the service's prefetch templates): the app's scopes."""
    prefetch = engine.services[NMD_BONE_HEALTH_ID].prefetch
    return sorted({template.split("?")[0].split("/")[0] for template in prefetch.values()})


def read_resources(
    engine: Engine, iss: str, token: str | None, patient_id: str, scope: str = ""
) -> ResolvedData:
    """Every resource the prefetch templates select for the patient, read from ``iss`` with ``token``.

    Raises ``DataUnavailable`` (its ``__cause__`` is the first ``FhirError``, e.g. ``FhirAuthError``)."""
    service = engine.services[NMD_BONE_HEALTH_ID]
    request = HookRequest(
        hook=service.hook,
        hook_instance=str(uuid.uuid4()),
        patient_id=patient_id,
        user_id="",
        fhir_server=iss,
        fhir_authorization=FhirAuthorization(token, scope, APP_SUBJECT, patient_id) if token else None,
        prefetch=None,
        raw_context={"patientId": patient_id},
    )
    return resolve_prefetch(request, service.prefetch, engine.settings)


def summary_of(engine: Engine, data: ResolvedData, patient_id: str) -> PatientSummary:
    """The PatientSummary the rules would read (the only place the app builds one)."""
    return engine.summarise(data.resources, patient_id, data.complete)


def cards_of(
    engine: Engine, summary: PatientSummary, patient_id: str
) -> list[tuple[Finding, dict[str, Any]]]:
    """The cards the service gives now, most urgent first (the only place the app evaluates rules)."""
    return engine.cards_for(summary, patient_id)[1]


@dataclass(frozen=True)
class Banner:
    """Who the page is about, so the clinician can check it is the right patient."""

    name: str
    sex: str
    age: str
    birth_date: str
    diagnoses: tuple[str, ...]


def banner(resources: list[dict], summary: PatientSummary, patient_id: str, today: date) -> Banner:
    patient = next(
        (r for r in resources if r.get("resourceType") == "Patient" and r.get("id") == patient_id), {}
    )
    age = summary.age_at(today)
    return Banner(
        name=_name(patient.get("name")),
        sex=summary.sex or "sex not recorded",
        age=f"{int(age)} y" if age is not None else "age unknown",
        birth_date=summary.birth_date.isoformat() if summary.birth_date else "",
        diagnoses=tuple(dict.fromkeys(DISORDER[d.disorder] for d in summary.diagnoses)),
    )


def _name(names: Any) -> str:
    """The official (else first) HumanName as text; 'name not recorded' without one."""
    if not isinstance(names, list):
        return "name not recorded"
    usable = [n for n in names if isinstance(n, dict)]
    official = [n for n in usable if n.get("use") == "official"] or usable
    for n in official:
        if isinstance(n.get("text"), str) and n["text"].strip():
            return n["text"].strip()
        given = [g for g in n.get("given") or [] if isinstance(g, str)]
        family = n.get("family")
        text = " ".join([*given, family if isinstance(family, str) else ""]).strip()
        if text:
            return text
    return "name not recorded"
