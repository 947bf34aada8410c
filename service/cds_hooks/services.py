"""The CDS services this server offers: id, hook, texts and prefetch templates, built from the loaded
knowledge (the Observation template asks for every code of the Observation value sets, a site's local
codes included, so a code-filtered prefetch delivers them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from service.fhir.terms import terms_of
from service.knowledge import Knowledge


def _search_value(text: str) -> str:
    """One part of a ``system|code`` token: FHIR search escaping (a backslash before a comma, bar,
    dollar or backslash), then URL percent-encoding. Standard systems and codes come out unchanged; a
    site's local code with odd characters stays one token."""
    escaped = text.replace("\\", "\\\\").replace(",", "\\,").replace("|", "\\|").replace("$", "\\$")
    return quote(escaped, safe=":/")


def patient_view_prefetch(knowledge: Knowledge) -> dict[str, str]:
    """Prefetch templates: R4 search syntax within the CDS Hooks 2.0 query restrictions."""
    codes = ",".join(
        f"{_search_value(system)}|{_search_value(code)}"
        for system, code in terms_of(knowledge).observation_pairs()
    )
    return {
        "patient": "Patient/{{context.patientId}}",
        "conditions": "Condition?patient={{context.patientId}}",
        "observations": f"Observation?patient={{{{context.patientId}}}}&code={codes}&_sort=-date",
        "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
        "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
        "medicationAdministrations": "MedicationAdministration?patient={{context.patientId}}",
        "diagnosticReports": "DiagnosticReport?patient={{context.patientId}}",
        "procedures": "Procedure?patient={{context.patientId}}",
        "serviceRequests": "ServiceRequest?patient={{context.patientId}}",
    }


@dataclass(frozen=True)
class ServiceDefinition:
    id: str
    hook: str
    title: str
    description: str
    usage_requirements: str
    prefetch: dict[str, str]

    def discovery(self) -> dict[str, Any]:
        return {
            "hook": self.hook,
            "title": self.title,
            "description": self.description,
            "id": self.id,
            "usageRequirements": self.usage_requirements,
            "prefetch": dict(self.prefetch),
        }


NMD_BONE_HEALTH_ID = "nmd-bone-health"


def service_definitions(knowledge: Knowledge) -> dict[str, ServiceDefinition]:
    """The services by id, their prefetch templates generated from ``knowledge``."""
    bone_health = ServiceDefinition(
        id=NMD_BONE_HEALTH_ID,
        hook="patient-view",
        title="Bone health, nutrition and breathing in neuromuscular disorders",
        description=(
            "For patients with Duchenne/Becker muscular dystrophy, spinal muscular atrophy, ALS and other "
            "myopathies: flags due spine imaging for silent vertebral fractures, bone-targeted therapy "
            "indications and reviews, multi-site and repeat DXA, vitamin D, weight loss and malnutrition "
            "(nutrition referral, gastrostomy window in ALS) and respiratory follow-up (FVC, VC)."
        ),
        usage_requirements=(
            "Needs the patient's Conditions, Observations (DXA, weight, height, BMI, spirometry, 25-OH "
            "vitamin D, creatinine, cystatin C), medications, DiagnosticReports, Procedures and "
            "ServiceRequests, by prefetch or through fhirServer with an access token granting read "
            "access to them. Only patients with an active neuromuscular diagnosis receive cards. Every "
            "card links to its rule's page in the catalogue (<service>/knowledge/rules/<id>) and (type "
            "smart) to the trajectory app at <service>/app/launch: register it in the EHR as a SMART "
            "EHR-launch app with "
            "redirect URI <service>/app/callback, the client id the service is configured with "
            "(NMD_CDS_APP_CLIENT_ID, default nmd-cds-trajectory) and the scopes launch and patient/<type>.rs "
            "(or .read) for the resource types above; PKCE S256 is used."
        ),
        prefetch=patient_view_prefetch(knowledge),
    )
    return {bone_health.id: bone_health}
