"""Respiratory thresholds (clinical-knowledge §1.8, §2.G, §2.H), each once, with its source.

Keys are ``respiratory.<name>``. Litres and % predicted are separate keys on purpose: a value's unit
decides which threshold applies, litres are never compared with percentages.
"""

from __future__ import annotations

from service.rules import citations as cite
from service.rules.thresholds import threshold

FVC_PCT_LOW = threshold(
    "respiratory.fvc_pct_low",
    50.0,
    "%",
    cite.AAN_ALS_2009,
    description="RESP-01 (ALS, warning) / RESP-04 (other NMD, info): FVC % predicted below this",
)
VC_LITRES_LOW = threshold(
    "respiratory.vc_low_l",
    1.1,
    "L",
    cite.SEED_ALS_NUTRITION,
    description="RESP-02 (ALS): VC or FVC below this many litres",
)
MIP_LOW = threshold(
    "respiratory.mip_low_cmh2o",
    60.0,
    "cm[H2O]",
    cite.AAN_ALS_2009,
    description="RESP-01: MIP weaker than this (absolute value)",
)
SNIP_LOW = threshold(
    "respiratory.snip_low_cmh2o",
    40.0,
    "cm[H2O]",
    cite.AAN_ALS_2009,
    description="RESP-01: sniff nasal pressure below this",
)
FRESH_ALS = threshold(
    "respiratory.fresh_als_days",
    92,
    "days",
    cite.AAN_ALS_2009,
    recalled=True,
    description="ALS: FVC/VC/MIP older than this (3 months) is stale; RESP-03 spirometry due",
)
FRESH_OTHER = threshold(
    "respiratory.fresh_other_days",
    183,
    "days",
    cite.MDSTARNET_2016,
    description="DMD/SMA/other NMD: FVC/VC older than this (6 months) is stale; RESP-03 (non-ambulatory)",
)
PULMONOLOGY_RECENT = threshold(
    "respiratory.pulmonology_referral_recent_days",
    90,
    "days",
    cite.AAN_ALS_2009,
    recalled=True,
    description="a pulmonology/NIV referral this recent (or still open) suppresses a repeat (own default)",
)
SPIROMETRY_RECENT = threshold(
    "respiratory.spirometry_order_recent_days",
    30,
    "days",
    cite.MDSTARNET_2016,
    recalled=True,
    description="a spirometry order this recent (or still open) suppresses a repeat (own default)",
)
