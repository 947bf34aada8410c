"""FHIR R4 JSON in, typed facts out: the only package that imports fhir.resources or requests.

Entry point: ``service.fhir.build.build_summary`` / ``summarise`` (resources or whole Bundles; whose
data it is: ``whose``), ``chart_items`` / ``unbundle`` for prefetch values, and ``missing_references``
(what the request refers to but lacks, for the prefetch layer to fetch).
"""
