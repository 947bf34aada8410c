"""Nutrition thresholds (clinical-knowledge §1.7, §1.8, §2.F, §2.H), each once, with its source.

Keys are ``nutrition.<name>``; rules read them from ``ctx.thresholds``. Figures the reference marks
[R], and the service's own windows that no guideline fixes, are ``recalled=True``: an institution must
review them before production use.
"""

from __future__ import annotations

from service.rules import citations as cite
from service.rules.thresholds import threshold

# --- usual weight (§1.7) and freshness (§1.8) -----------------------------------------------------
USUAL_LOOKBACK = threshold(
    "nutrition.usual_weight_lookback_days",
    183,
    "days",
    cite.GLIM_2019,
    description="usual weight = heaviest weight in this window before the current one (6 months)",
)
USUAL_LOOKBACK_ALS = threshold(
    "nutrition.usual_weight_lookback_als_days",
    365,
    "days",
    cite.SEED_ALS_NUTRITION,
    description="usual-weight window in ALS (12 months)",
)
USUAL_LOOKBACK_LONG = threshold(
    "nutrition.usual_weight_lookback_long_days",
    365,
    "days",
    cite.GLIM_2019,
    recalled=True,
    description="window for GLIM slow loss 'beyond 6 months' (GLIM gives no upper bound; service default)",
)
MIN_SPAN = threshold(
    "nutrition.weight_min_span_days",
    14,
    "days",
    cite.GLIM_2019,
    description="a weight-loss card needs two measured weights at least this far apart",
)
WEIGHT_FRESH = threshold(
    "nutrition.weight_fresh_days",
    30,
    "days",
    cite.GLIM_2019,
    description="current weight older than this gives at most a 'repeat measurement' info card",
)
HEIGHT_FRESH_ADULT = threshold(
    "nutrition.height_fresh_adult_days",
    365,
    "days",
    cite.GLIM_2019,
    description="adult height older than this: no BMI rule",
)
HEIGHT_FRESH_CHILD = threshold(
    "nutrition.height_fresh_child_days",
    92,
    "days",
    cite.ASPEN_2014,
    description="child height older than this (3 months): no BMI-for-age rule",
)
ADULT_AGE = threshold(
    "nutrition.adult_age_years",
    20,
    "years",
    cite.GLIM_2019,
    cite.ASPEN_2014,
    description="adult criteria (GLIM) from this age; BMI-for-age (ASPEN/CDC) below it",
)
CHILD_BMI_MIN_AGE = threshold(
    "nutrition.child_bmi_min_age_years",
    2,
    "years",
    cite.CDC_GROWTH,
    description="BMI-for-age from this age; below it weight-for-length",
)

# --- adult weight loss (NUT-01..03) -----------------------------------------------------------------
RECENT_WINDOW = threshold(
    "nutrition.recent_loss_window_days",
    183,
    "days",
    cite.GLIM_2019,
    description="GLIM 'within 6 months' versus 'beyond 6 months'",
)
LOSS_WARNING = threshold(
    "nutrition.weight_loss_warning_pct",
    5.0,
    "%",
    cite.GLIM_2019,
    cite.SEED_ALS_NUTRITION,
    description="NUT-01: loss from usual weight (5 % in ALS: HR 1.92)",
)
LOSS_SEVERE = threshold(
    "nutrition.weight_loss_severe_pct",
    10.0,
    "%",
    cite.GLIM_2019,
    cite.SEED_ALS_NUTRITION,
    cite.EFNS_ALS_2012,
    description="NUT-02: loss from usual weight; critical in ALS, warning in other NMD",
)
SLOW_MODERATE = threshold(
    "nutrition.slow_loss_moderate_pct",
    10.0,
    "%",
    cite.GLIM_2019,
    description="NUT-03: loss beyond 6 months, moderate (> this)",
)
SLOW_SEVERE = threshold(
    "nutrition.slow_loss_severe_pct",
    20.0,
    "%",
    cite.GLIM_2019,
    description="NUT-03: loss beyond 6 months, severe (> this)",
)

# --- adult BMI (NUT-04, NUT-05) -------------------------------------------------------------------
BMI_OLDER_AGE = threshold(
    "nutrition.bmi_older_age_years",
    70,
    "years",
    cite.GLIM_2019,
    description="GLIM BMI bands change at this age",
)
# The reference's card column: < 18.5 → critical at any adult age; the GLIM moderate bands (< 20 below
# 70 y, < 22 from 70 y) → warning. GLIM's own "severe" band for ≥ 70 y (< 20) is not used for critical.
BMI_SEVERE = threshold(
    "nutrition.bmi_severe_kg_m2",
    18.5,
    "kg/m2",
    cite.GLIM_2019,
    description="NUT-04 critical below this (any adult age; card column of §2.F)",
)
BMI_MODERATE = threshold(
    "nutrition.bmi_moderate_kg_m2",
    20.0,
    "kg/m2",
    cite.GLIM_2019,
    description="NUT-04 warning below this (age < 70)",
)
BMI_MODERATE_OLDER = threshold(
    "nutrition.bmi_moderate_older_kg_m2",
    22.0,
    "kg/m2",
    cite.GLIM_2019,
    description="NUT-04 warning below this (age >= 70)",
)
ALS_BMI_FALL = threshold(
    "nutrition.als_bmi_fall_kg_m2",
    1.0,
    "kg/m2",
    cite.SEED_ALS_NUTRITION,
    description="NUT-05: BMI fall in ALS (each point: HR 1.09-1.23)",
)
DIAGNOSIS_WEIGHT_MATCH = threshold(
    "nutrition.diagnosis_weight_match_days",
    30,
    "days",
    cite.SEED_ALS_NUTRITION,
    recalled=True,
    description="NUT-05: a weight this close to the ALS diagnosis date counts as 'weight at diagnosis'",
)

# --- children (NUT-06, NUT-07) ----------------------------------------------------------------------
CHILD_BMI_PCT = threshold(
    "nutrition.child_bmi_percentile",
    5.0,
    "%",
    cite.CDC_GROWTH,
    cite.ASPEN_2014,
    description="NUT-06 warning below this BMI-for-age percentile (ICD-10-CM Z68.51)",
)
CHILD_Z_MODERATE = threshold(
    "nutrition.child_z_moderate_sd",
    -2.0,
    "SD",
    cite.ASPEN_2014,
    description="NUT-06 warning at or below this BMI-for-age / weight-for-length Z",
)
CHILD_Z_SEVERE = threshold(
    "nutrition.child_z_severe_sd",
    -3.0,
    "SD",
    cite.ASPEN_2014,
    description="NUT-06 critical at or below this Z",
)
CHILD_LOSS_MILD = threshold(
    "nutrition.child_loss_mild_pct",
    5.0,
    "%",
    cite.ASPEN_2014,
    description="NUT-07 info",
)
CHILD_LOSS_MODERATE = threshold(
    "nutrition.child_loss_moderate_pct",
    7.5,
    "%",
    cite.ASPEN_2014,
    description="NUT-07 warning",
)
CHILD_LOSS_SEVERE = threshold(
    "nutrition.child_loss_severe_pct",
    10.0,
    "%",
    cite.ASPEN_2014,
    description="NUT-07 critical",
)
CHILD_Z_FALL_MILD = threshold(
    "nutrition.child_z_fall_mild_sd",
    1.0,
    "SD",
    cite.ASPEN_2014,
    description="NUT-07 info: fall in Z",
)
CHILD_Z_FALL_MODERATE = threshold(
    "nutrition.child_z_fall_moderate_sd",
    2.0,
    "SD",
    cite.ASPEN_2014,
    description="NUT-07 warning: fall in Z",
)
CHILD_Z_FALL_SEVERE = threshold(
    "nutrition.child_z_fall_severe_sd",
    3.0,
    "SD",
    cite.ASPEN_2014,
    description="NUT-07 critical: fall in Z",
)

# --- over-nutrition (NUT-08) ----------------------------------------------------------------------
OVER_PCT_DMD = threshold(
    "nutrition.over_bmi_percentile_dmd",
    85.0,
    "%",
    cite.DMD_CC_2018,
    recalled=True,
    description="NUT-08: GC-treated DMD at or above this BMI-for-age percentile",
)
OVER_PCT_SMA = threshold(
    "nutrition.over_bmi_percentile_sma",
    25.0,
    "%",
    cite.SMA_SOC_2018,
    description="NUT-08: SMA above this BMI-for-age percentile -> evaluate body composition (smacare.guide)",
)
OVER_BMI_ADULT = threshold(
    "nutrition.over_bmi_adult_kg_m2",
    30.0,
    "kg/m2",
    cite.DMD_CC_2018,
    recalled=True,
    description="NUT-08: adult BMI at or above this in GC-treated DMD or SMA",
)

# --- gastrostomy window (NUT-09) ------------------------------------------------------------------
GASTRO_FVC_LOW = threshold(
    "nutrition.gastrostomy_fvc_low_pct",
    50.0,
    "%",
    cite.AAN_ALS_2009,
    recalled=True,
    description="NUT-09: gastrostomy discussion while FVC % predicted is above this",
)
GASTRO_FVC_HIGH = threshold(
    "nutrition.gastrostomy_fvc_high_pct",
    60.0,
    "%",
    cite.AAN_ALS_2009,
    recalled=True,
    description="NUT-09: ... and at or below this, or falling",
)
GASTRO_FVC_FALL = threshold(
    "nutrition.gastrostomy_fvc_fall_points",
    0.0,
    "%",
    cite.AAN_ALS_2009,
    recalled=True,
    description="NUT-09: FVC counts as falling when it dropped by more than this many points since the last",
)
FVC_FRESH_ALS = threshold(
    "nutrition.gastrostomy_fvc_fresh_days",
    92,
    "days",
    cite.AAN_ALS_2009,
    recalled=True,
    description="NUT-09: FVC older than this (3 months, ALS) is not used",
)

# --- suppression (§2.H) -----------------------------------------------------------------------------
DIETITIAN_RECENT = threshold(
    "nutrition.dietitian_referral_recent_days",
    30,
    "days",
    cite.GLIM_2019,
    description="a dietitian referral this recent (or still open) suppresses a repeat",
)
GASTROSTOMY_RECENT = threshold(
    "nutrition.gastrostomy_referral_recent_days",
    90,
    "days",
    cite.AAN_ALS_2009,
    recalled=True,
    description="a gastrostomy discussion/referral this recent (or still open) suppresses a repeat",
)
