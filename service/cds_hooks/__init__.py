"""The CDS Hooks 2.0 wire format: discovery, service calls, feedback. The only package that imports flask."""
