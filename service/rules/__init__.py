"""Clinical rules: pure functions over a PatientSummary. No flask, no fhir.resources, no I/O."""
