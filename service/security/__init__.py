"""Security of the service: JWT authentication of CDS clients and the FHIR-server allowlist (SSRF)."""
