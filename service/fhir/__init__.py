"""FHIR R4 JSON in, typed facts out: the only package that imports fhir.resources or requests.

Entry point: ``service.fhir.build.build_summary`` (and ``unbundle`` for prefetch values).
"""
