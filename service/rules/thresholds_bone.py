"""Bone-health thresholds (clinical-knowledge §1.2-§1.8, §2.A-§2.E, §2.H), each once, with unit and source.

Keys are ``bone.<name>``; the rules read them from ``ctx.thresholds``. Figures the reference marks [R],
and the service's own windows that no guideline fixes, are ``recalled=True`` (institution review).
Drug dosing intervals live in ``thresholds_medication`` (data layer), not here.
"""

from __future__ import annotations

from service.rules import citations as cite
from service.rules.thresholds import threshold


def _t(key: str, value: float, unit: str, *cites: cite.Citation, recalled: bool = False, d: str = "") -> None:
    threshold(f"bone.{key}", value, unit, *cites, recalled=recalled, description=d)


# --- age bands (§1.2) and menopausal ambiguity ------------------------------------------------------
_t(
    "age_dxa_min_years",
    5,
    "years",
    cite.ISCD_PEDIATRIC,
    d="below this age DXA is not interpreted (fracture rules only)",
)
_t(
    "age_adult_years",
    20,
    "years",
    cite.ISCD_PEDIATRIC,
    cite.ISCD_ADULT,
    d="below this age only Z-scores are used; T-scores are ignored",
)
_t("age_t_classes_years", 50, "years", cite.ISCD_ADULT, d="WHO T-score classes apply from this age")
_t(
    "menopause_unknown_from_years",
    45,
    "years",
    cite.ISCD_ADULT,
    d="women from this age without menopausal status: report Z and T, do not classify",
)
_t("menopause_unknown_to_years", 55, "years", cite.ISCD_ADULT, d="... up to (not including) this age")

# --- BMD cut-offs (§1.2, BMD-04) ----------------------------------------------------------------------
_t("z_low_sd", -2.0, "SD", cite.ISCD_PEDIATRIC, cite.ISCD_ADULT, d="Z-score at or below: low for age")
_t(
    "t_osteoporosis_sd",
    -2.5,
    "SD",
    cite.ISCD_ADULT,
    cite.BHOF_2022,
    d="T-score at or below: osteoporosis (WHO)",
)
_t("t_low_mass_sd", -1.0, "SD", cite.ISCD_ADULT, cite.ACR_GIOP_2022, d="T-score at or below: low bone mass")
_t(
    "site_spread_sd",
    1.0,
    "SD",
    cite.SEED_REVIEW_2026,
    cite.ISCD_ADULT,
    d="BMD-04: same-day spread between sites (max - min score) that counts as discordance",
)
_t(
    "dxa_fresh_months",
    24,
    "months",
    cite.BUCKNER_2015,
    d="DXA older than this is not used for classification",
)
_t(
    "sites_lookback_months",
    24,
    "months",
    cite.ISCD_PEDIATRIC,
    cite.SEED_REVIEW_2026,
    d="BMD-03: window in which only one skeletal site was measured",
)

# --- decline between DXAs (SI-04, BMD-05, MON-02) ---------------------------------------------------
_t(
    "decline_sd",
    0.5,
    "SD",
    cite.DMD_CC_2018,
    recalled=True,
    d="fall in Z- (or T-) score that counts as decline",
)
_t(
    "decline_min_months",
    6,
    "months",
    cite.DMD_CC_2018,
    recalled=True,
    d="DXA pairs compared at least this far apart",
)
_t("decline_max_months", 36, "months", cite.DMD_CC_2018, recalled=True, d="... and at most this far apart")
_t("lsc_lumbar_spine_pct", 5, "%", cite.ISCD_ADULT, recalled=True, d="least significant change, lumbar spine")
_t("lsc_total_hip_pct", 5, "%", cite.ISCD_ADULT, recalled=True, d="least significant change, total hip")
_t("lsc_femoral_neck_pct", 7, "%", cite.ISCD_ADULT, recalled=True, d="least significant change, femoral neck")
_t("lsc_forearm_pct", 7, "%", cite.ISCD_ADULT, recalled=True, d="least significant change, radius")

# --- fractures and risk factors (§1.3, §1.4) -----------------------------------------------------------
_t(
    "genant_min_grade",
    1,
    "grade",
    cite.GENANT_1993,
    cite.DMD_CC_2018,
    cite.WARD_2018,
    recalled=True,
    d="lowest Genant grade that counts as a vertebral fracture and treatment trigger (0.5 does not)",
)
_t(
    "ped_fx_early_age_years",
    10,
    "years",
    cite.ISCD_PEDIATRIC,
    d="BMD-02: 'by age 10' (counted up to the 11th birthday) for the long-bone fracture count",
)
_t(
    "ped_fx_early_count",
    2,
    "fractures",
    cite.ISCD_PEDIATRIC,
    d="BMD-02: long-bone fractures by the early age",
)
_t(
    "ped_fx_late_age_years",
    19,
    "years",
    cite.ISCD_PEDIATRIC,
    d="BMD-02: 'by age 19' (counted up to the 20th birthday)",
)
_t("ped_fx_late_count", 3, "fractures", cite.ISCD_PEDIATRIC, d="BMD-02: long-bone fractures by the late age")
_t(
    "gc_chronic_days",
    90,
    "days",
    cite.ACR_GIOP_2022,
    d="systemic glucocorticoid for this long = chronic exposure",
)
_t(
    "gc_recently_active_days",
    90,
    "days",
    cite.SEED_REVIEW_2026,
    recalled=True,
    d="a chronic course that ended within this many days still counts (service default, no guideline figure)",
)

# --- spine imaging (§2.A) --------------------------------------------------------------------------------
_t(
    "si_gc_info_months",
    12,
    "months",
    cite.DMD_CC_2018,
    cite.PPMD,
    recalled=True,
    d="SI-02: GC-treated, spine imaging older than this -> info",
)
_t(
    "si_gc_warning_months",
    24,
    "months",
    cite.DMD_CC_2018,
    cite.SCOTTISH_MUSCLE_NETWORK,
    recalled=True,
    d="SI-02: ... older than this -> warning",
)
_t(
    "si_rf_info_months",
    24,
    "months",
    cite.DMD_CC_2018,
    recalled=True,
    d="SI-03: GC-naive with another risk factor, spine imaging older than this -> info",
)
_t(
    "si_rf_warning_months",
    36,
    "months",
    cite.DMD_CC_2018,
    recalled=True,
    d="SI-03: ... older than this -> warning",
)
_t(
    "si_symptom_recent_days",
    90,
    "days",
    cite.BUCKNER_2015,
    cite.SCOTTISH_MUSCLE_NETWORK,
    d="SI-05: back pain / height loss / kyphosis this recent counts as new",
)
_t(
    "si_low_bmd_months",
    12,
    "months",
    cite.BUCKNER_2015,
    d="SI-06: low BMD and no spine imaging in this window",
)
_t(
    "si_long_bone_recent_days",
    90,
    "days",
    cite.SEED_REVIEW_2026,
    d="SI-07: long-bone fracture this recent counts as new",
)
_t("si_long_bone_months", 12, "months", cite.SEED_REVIEW_2026, d="SI-07: no spine imaging in this window")
_t(
    "si_on_therapy_months",
    12,
    "months",
    cite.WARD_2018,
    recalled=True,
    d="SI-08: on bone therapy, spine imaging older than this -> info",
)

# --- DXA surveillance (BMD-06) ----------------------------------------------------------------------
_t(
    "dxa_gc_info_months",
    12,
    "months",
    cite.PPMD,
    cite.DMD_CC_2018,
    d="BMD-06: GC-treated, DXA older than this -> info",
)
_t(
    "dxa_warning_months",
    24,
    "months",
    cite.BUCKNER_2015,
    cite.PPMD,
    d="BMD-06: GC-treated, DXA older than this -> warning; other risk factor -> info",
)

# --- bone-targeted therapy (§2.C) ---------------------------------------------------------------------
_t(
    "acr_min_age_years",
    40,
    "years",
    cite.ACR_GIOP_2022,
    d="BT-04: ACR GIOP risk by T-score/FRAX from this age",
)
_t(
    "renal_lookback_months",
    12,
    "months",
    cite.SEED_BONE_MUSCLE_CROSSTALK,
    recalled=True,
    d="BT-07: no creatinine/cystatin C in this window = renal function unknown (service default)",
)

# --- monitoring on therapy (§2.D) --------------------------------------------------------------------
_t(
    "mon_min_therapy_months",
    12,
    "months",
    cite.WARD_2018,
    recalled=True,
    d="MON-01/02: therapy running this long before a fracture/decline counts as failure",
)
_t(
    "mon_grade_increase",
    1,
    "grade",
    cite.WARD_2018,
    cite.GENANT_1993,
    recalled=True,
    d="MON-01: Genant grade increase at an already fractured vertebra that counts as a new fracture",
)
_t(
    "mon_dxa_months",
    18,
    "months",
    cite.SEED_REVIEW_2026,
    d="MON-03: on therapy, DXA older than this -> repeat",
)
_t(
    "deesc_min_therapy_months",
    24,
    "months",
    cite.WARD_2018,
    recalled=True,
    d="MON-05: child on therapy at least this long may be reviewed for de-escalation",
)
_t(
    "deesc_fracture_free_months",
    24,
    "months",
    cite.WARD_2018,
    recalled=True,
    d="MON-05: no new fracture or back pain in this window",
)

# --- vitamin D (§2.E) ---------------------------------------------------------------------------------
_t("vitd_lookback_months", 12, "months", cite.PPMD, cite.BUCKNER_2015, d="VD-01: annual 25-OH vitamin D")
_t(
    "vitd_deficient_ng_ml",
    20,
    "ng/mL",
    cite.BUCKNER_2015,
    cite.ENDOCRINE_SOCIETY_2011,
    d="VD-02: 25-OH D below this = deficiency",
)
_t(
    "vitd_target_ng_ml",
    30,
    "ng/mL",
    cite.PPMD,
    recalled=True,
    d="VD-03: target for bone-risk NMD (frameworks differ: 20 vs 30 ng/mL)",
)
_t("vitd_recheck_months", 3, "months", cite.BUCKNER_2015, d="VD-02: recheck after treating deficiency")

# --- suppression windows (§2.H) ------------------------------------------------------------------------
_t(
    "order_window_spine_days",
    90,
    "days",
    cite.SEED_REVIEW_2026,
    d="spine imaging ordered/done within this window suppresses a spine-imaging card",
)
_t(
    "order_window_dxa_days",
    90,
    "days",
    cite.SEED_REVIEW_2026,
    recalled=True,
    d="DXA ordered/done within this window suppresses a DXA card (service default)",
)
_t(
    "order_window_referral_days",
    90,
    "days",
    cite.SEED_REVIEW_2026,
    recalled=True,
    d="bone-health referral within this window suppresses a referral card (service default)",
)
_t(
    "order_window_vitd_days",
    90,
    "days",
    cite.SEED_REVIEW_2026,
    recalled=True,
    d="25-OH D test ordered within this window suppresses the test card (service default)",
)
