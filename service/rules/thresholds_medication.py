"""Dosing intervals that decide whether a bone-targeted therapy course is still "active" (§4 item 19).

The data layer (``service.fhir.medications``) reads them from the Thresholds object passed to
``build_summary``, so an institution can override them like any other clinical number.
"""

from __future__ import annotations

from service.rules.citations import ACR_GIOP_2022, WARD_2018
from service.rules.thresholds import threshold

ZOLEDRONATE_INTERVAL_MONTHS = threshold(
    "medication.zoledronate_interval_months",
    12,
    "months",
    ACR_GIOP_2022,
    WARD_2018,
    recalled=True,
    description="IV zoledronic acid counts as active therapy for this long after the last infusion "
    "(annual dosing per label; §4 item 19 states the interval without a verified source)",
)
PAMIDRONATE_INTERVAL_MONTHS = threshold(
    "medication.pamidronate_interval_months",
    4,
    "months",
    WARD_2018,
    recalled=True,
    description="IV pamidronate counts as active therapy for this long after the last infusion "
    "(paediatric cycles every 3-4 months; recalled)",
)
DENOSUMAB_INTERVAL_MONTHS = threshold(
    "medication.denosumab_interval_months",
    7,
    "months",
    ACR_GIOP_2022,
    recalled=True,
    description="Denosumab counts as active therapy for this long after the last injection "
    "(6-monthly dosing per label plus one month grace)",
)
ORAL_BISPHOSPHONATE_REFILL_DAYS = threshold(
    "medication.oral_bisphosphonate_refill_days",
    90,
    "days",
    ACR_GIOP_2022,
    recalled=True,
    description="An oral bisphosphonate counts as active therapy while the last refill/order/statement "
    "is at most this old",
)
ANABOLIC_REFILL_DAYS = threshold(
    "medication.anabolic_refill_days",
    90,
    "days",
    ACR_GIOP_2022,
    recalled=True,
    description="A daily anabolic agent (teriparatide, abaloparatide) or monthly romosozumab counts as "
    "active while the last order/administration is at most this old (not in §4: institution to confirm)",
)
GC_EPISODE_GAP_DAYS = threshold(
    "medication.gc_episode_gap_days",
    90,
    "days",
    ACR_GIOP_2022,
    recalled=True,
    description="A gap in systemic glucocorticoid records longer than this ends an exposure episode "
    "(§1.3 chronic exposure is >= 90 days; intermittent regimens such as 10 days on/10 off stay one "
    "episode; service default)",
)
