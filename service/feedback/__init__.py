"""Card feedback: durable storage of issued cards and clinicians' feedback, suppression of advice
already overridden for a patient, and the clinic's report.

``store`` defines the storage interface (SQLite or PostgreSQL behind it), ``migrations`` the
versioned schema, ``ledger`` the card-service side (record and silence cards), ``report`` and
``cli`` the ``python -m service feedback report|purge`` commands. No flask here: the HTTP endpoint
lives in ``service.cds_hooks.feedback``.
"""

# The card override reasons (service.cds_hooks.cards.OVERRIDE_REASONS; a test keeps them in step).
OVERRIDE_REASON_SYSTEM = "https://nmd-cds.example.org/fhir/CodeSystem/override-reason"
# Reasons that mean "do not show me this again for a while". A bare override (no reason) does not.
SILENCING_REASONS = frozenset(
    {"already-done-elsewhere", "patient-declined", "not-appropriate-now", "palliative-focus"}
)
