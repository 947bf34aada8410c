"""Security of the service: JWT authentication of CDS clients, the FHIR-server allowlist (SSRF), input limits."""
