"""The CDS services this server offers: id, hook, texts, prefetch templates and the rules they run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.fhir import codes

_OBSERVATION_CODES = ",".join(
    [f"{codes.LOINC}|{c}" for c in codes.OBSERVATION_LOINCS]
    + [f"{codes.SNOMED}|{c}" for c in sorted(codes.SNOMED_MEASUREMENTS)]
    + [f"{system}|{code}" for system, code in sorted(codes.VERTEBRAL_FRACTURE_OBSERVATION)]
)

# Prefetch templates: R4 search syntax within the CDS Hooks 2.0 query restrictions.
PATIENT_VIEW_PREFETCH: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "observations": f"Observation?patient={{{{context.patientId}}}}&code={_OBSERVATION_CODES}&_sort=-date",
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


NMD_BONE_HEALTH = ServiceDefinition(
    id="nmd-bone-health",
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
        "access to them. Only patients with an active neuromuscular diagnosis receive cards. Every card "
        "links (type smart) to the trajectory app at <service>/app/launch: register it in the EHR as a "
        "SMART EHR-launch app with redirect URI <service>/app/callback, the client id the service is "
        "configured with (NMD_CDS_APP_CLIENT_ID, default nmd-cds-trajectory) and the scopes launch and "
        "patient/<type>.rs (or .read) for the resource types above; PKCE S256 is used."
    ),
    prefetch=PATIENT_VIEW_PREFETCH,
)

SERVICES: dict[str, ServiceDefinition] = {NMD_BONE_HEALTH.id: NMD_BONE_HEALTH}
