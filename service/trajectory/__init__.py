"""The trajectory app: a SMART on FHIR app served by the service under ``/app/``, launched from the
cards' ``smart`` links, that draws bone density, weight and breathing over time (see README).

Modules: ``links`` (the app's public URLs), ``sessions`` (server-side sessions in the service's
database), ``data`` (FHIR reads and the same summary and cards as the CDS endpoint), ``charts`` (what
to draw), ``svg`` (how), ``routes`` (the Flask blueprint: launch, callback, page).
"""
