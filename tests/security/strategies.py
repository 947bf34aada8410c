"""Hypothesis strategies: arbitrary JSON, plausible-but-broken FHIR resources, malformed hook requests."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import strategies as st

PATIENT_ID = "fuzz-patient"
PREFETCH_KEYS = [
    "patient",
    "conditions",
    "observations",
    "medicationRequests",
    "medicationStatements",
    "medicationAdministrations",
    "diagnosticReports",
    "procedures",
    "serviceRequests",
]
TYPES = [
    "Patient",
    "Condition",
    "Observation",
    "MedicationRequest",
    "MedicationStatement",
    "MedicationAdministration",
    "DiagnosticReport",
    "Procedure",
    "ServiceRequest",
    "OperationOutcome",
    "Bundle",
    "Encounter",
]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**12), 10**12), st.floats(allow_nan=False), st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
dates = st.one_of(
    st.dates().map(str),
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
    st.sampled_from(["", "2024", "2024-13", "2024-02-30", "yesterday", "1900-01-01"]),
    scalars,
)
systems = st.sampled_from(
    [
        "http://loinc.org",
        "http://snomed.info/sct",
        "http://www.nlm.nih.gov/research/umls/rxnorm",
        "http://www.whocc.no/atc",
        "http://www.ama-assn.org/go/cpt",
        "http://hl7.org/fhir/sid/icd-10-cm",
        "urn:x",
    ]
)
code_values = st.one_of(
    st.sampled_from(
        [
            "39156-5",
            "29463-7",
            "8302-2",
            "38269-7",
            "77080",
            "64859006",
            "42942008",
            "Z93.1",
            "M81.0",
            "G71.01",
            "G12.21",
            "1649574",
            "83986",
        ]
    ),
    st.text(max_size=8),
)
codeable = st.fixed_dictionaries(
    {
        "coding": st.lists(
            st.fixed_dictionaries(
                {"system": systems, "code": code_values}, optional={"display": st.text(max_size=10)}
            ),
            max_size=3,
        )
    },
    optional={"text": st.text(max_size=20)},
)
quantity = st.fixed_dictionaries(
    {},
    optional={
        "value": st.one_of(
            st.floats(allow_nan=True, allow_infinity=True), st.integers(), st.text(max_size=5)
        ),
        "unit": st.sampled_from(["kg", "g", "[lb_av]", "cm", "%", "ng/mL", "nmol/L", "L", "", "furlong"]),
        "system": st.just("http://unitsofmeasure.org"),
        "code": st.sampled_from(["kg", "cm", "%", "L", "x"]),
        "comparator": st.sampled_from(["<", ">", "<=", "~", "bad"]),
    },
)
reference = st.one_of(
    st.just({"reference": f"Patient/{PATIENT_ID}"}), st.just({"reference": "Patient/other"}), json_values
)


@st.composite
def fhir_resources(draw: Any) -> dict[str, Any]:
    """A FHIR resource with the fields the data layer reads, each possibly of the wrong type or absurd."""
    rtype = draw(st.sampled_from(TYPES))
    res: dict[str, Any] = {"resourceType": rtype, "id": draw(st.text(min_size=1, max_size=10))}
    fields = {
        "subject": reference,
        "patient": reference,
        "code": codeable,
        "category": st.lists(codeable, max_size=2),
        "status": st.sampled_from(
            ["final", "active", "completed", "entered-in-error", "preliminary", "", "x"]
        ),
        "effectiveDateTime": dates,
        "issued": dates,
        "onsetDateTime": dates,
        "authoredOn": dates,
        "birthDate": dates,
        "gender": st.sampled_from(["male", "female", "other", "unknown", 3]),
        "valueQuantity": quantity,
        "component": st.lists(
            st.fixed_dictionaries({"code": codeable, "valueQuantity": quantity}), max_size=2
        ),
        "clinicalStatus": codeable,
        "verificationStatus": codeable,
        "medicationCodeableConcept": codeable,
        "bodySite": st.lists(codeable, max_size=2),
        "valueCodeableConcept": codeable,
        "extra": json_values,
    }
    for name in draw(st.lists(st.sampled_from(sorted(fields)), max_size=8, unique=True)):
        res[name] = draw(fields[name])
    if draw(st.booleans()):
        # Break one field's type entirely.
        res[draw(st.sampled_from(sorted(fields)))] = draw(json_values)
    return res


def searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


prefetch_values = st.one_of(
    st.none(),
    fhir_resources(),
    st.lists(fhir_resources(), max_size=5).map(searchset),
    # Bundles broken in shape: entry/link of the wrong type, entries without resources.
    st.fixed_dictionaries(
        {"resourceType": st.just("Bundle")},
        optional={"entry": json_values, "link": json_values, "type": json_values},
    ),
    st.fixed_dictionaries({"resourceType": st.just("OperationOutcome")}, optional={"issue": json_values}),
)


def base_request(prefetch: dict[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/fuzz", "patientId": PATIENT_ID},
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


# Complete prefetch (no fhirServer needed) with malformed contents. No OperationOutcome values here (any one
# of them means "fetch it", hence 412): these requests are meant to reach the data layer and the rules.
data_values = st.one_of(st.none(), fhir_resources(), st.lists(fhir_resources(), max_size=5).map(searchset))
full_prefetch_requests = st.fixed_dictionaries({k: data_values for k in PREFETCH_KEYS}).map(base_request)


@st.composite
def mutated_requests(draw: Any) -> Any:
    """A valid request with one part replaced by arbitrary JSON, or arbitrary JSON altogether."""
    body = base_request(draw(st.dictionaries(st.sampled_from(PREFETCH_KEYS), prefetch_values, max_size=3)))
    choice = draw(st.integers(0, 4))
    if choice == 0:
        return draw(json_values)
    if choice == 1:
        body[
            draw(
                st.sampled_from(
                    [
                        "hook",
                        "hookInstance",
                        "context",
                        "prefetch",
                        "fhirServer",
                        "fhirAuthorization",
                        "extension",
                    ]
                )
            )
        ] = draw(json_values)
    elif choice == 2:
        body["context"][draw(st.sampled_from(["userId", "patientId", "encounterId"]))] = draw(json_values)
    elif choice == 3:
        body["fhirServer"] = draw(
            st.one_of(
                st.text(max_size=30),
                st.sampled_from(
                    [
                        "file:///etc/passwd",
                        "http://169.254.169.254/",
                        "https://evil.example.org/fhir",
                        "ftp://x/",
                    ]
                ),
            )
        )
    return body
