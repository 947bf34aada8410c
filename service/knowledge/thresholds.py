"""The thresholds as typed attributes: one frozen dataclass per family, one field per threshold.

Rules read ``ctx.t.bone.si_gc_info_months`` (a ``Threshold``: a float that knows its unit and sources);
a misspelt name fails type checking, and the loader refuses to start when a data file and these fields
disagree (a key missing from the file, or a key the service does not read). The numbers themselves live
only in ``thresholds/*.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from service.knowledge.concepts import ActionKind
from service.knowledge.model import Threshold


@dataclass(frozen=True)
class Actions:
    """Windows in which an order or procedure for an action counts as already done."""

    spine_imaging_window_days: Threshold
    dxa_window_days: Threshold
    bone_specialist_referral_window_days: Threshold
    vitamin_d_test_window_days: Threshold
    dietitian_referral_window_days: Threshold
    gastrostomy_window_days: Threshold
    pulmonology_referral_window_days: Threshold
    spirometry_window_days: Threshold

    def window(self, action: ActionKind) -> Threshold:
        """The window of an action (the loader checks that every action has one)."""
        found: Threshold = getattr(self, f"{action.value}_window_days")
        return found


@dataclass(frozen=True)
class Bone:
    """Bone health: age bands, BMD cut-offs and decline, fractures, spine imaging, DXA, therapy, vitamin D."""

    age_dxa_min_years: Threshold
    age_adult_years: Threshold
    age_t_classes_years: Threshold
    menopause_unknown_from_years: Threshold
    menopause_unknown_to_years: Threshold
    z_low_sd: Threshold
    t_osteoporosis_sd: Threshold
    t_low_mass_sd: Threshold
    site_spread_sd: Threshold
    dxa_fresh_months: Threshold
    sites_lookback_months: Threshold
    decline_sd: Threshold
    decline_min_months: Threshold
    decline_max_months: Threshold
    lsc_lumbar_spine_pct: Threshold
    lsc_total_hip_pct: Threshold
    lsc_femoral_neck_pct: Threshold
    lsc_forearm_pct: Threshold
    genant_min_grade: Threshold
    ped_fx_early_age_years: Threshold
    ped_fx_early_count: Threshold
    ped_fx_late_age_years: Threshold
    ped_fx_late_count: Threshold
    gc_chronic_days: Threshold
    gc_recently_active_days: Threshold
    si_gc_info_months: Threshold
    si_gc_warning_months: Threshold
    si_rf_info_months: Threshold
    si_rf_warning_months: Threshold
    si_symptom_recent_days: Threshold
    si_low_bmd_months: Threshold
    si_long_bone_recent_days: Threshold
    si_long_bone_months: Threshold
    si_on_therapy_months: Threshold
    dxa_gc_info_months: Threshold
    dxa_warning_months: Threshold
    acr_min_age_years: Threshold
    renal_lookback_months: Threshold
    mon_min_therapy_months: Threshold
    mon_grade_increase: Threshold
    mon_dxa_months: Threshold
    deesc_min_therapy_months: Threshold
    deesc_fracture_free_months: Threshold
    vitd_lookback_months: Threshold
    vitd_deficient_ng_ml: Threshold
    vitd_target_ng_ml: Threshold
    vitd_recheck_months: Threshold
    deesc_adult_oral_years: Threshold
    deesc_adult_iv_years: Threshold
    si_imaging_before_dxa_months: Threshold
    preemptive_fall_sd_per_year: Threshold


@dataclass(frozen=True)
class Medication:
    """Dosing intervals (current therapy) and glucocorticoid episodes."""

    zoledronate_interval_months: Threshold
    pamidronate_interval_months: Threshold
    denosumab_interval_months: Threshold
    oral_bisphosphonate_refill_days: Threshold
    anabolic_refill_days: Threshold
    gc_episode_gap_days: Threshold


@dataclass(frozen=True)
class Nutrition:
    """Nutrition: usual weight, freshness, adult and paediatric malnutrition, over-nutrition, gastrostomy."""

    usual_weight_lookback_days: Threshold
    usual_weight_lookback_als_days: Threshold
    usual_weight_lookback_long_days: Threshold
    weight_min_span_days: Threshold
    weight_fresh_days: Threshold
    height_fresh_adult_days: Threshold
    height_fresh_child_days: Threshold
    adult_age_years: Threshold
    child_bmi_min_age_years: Threshold
    recent_loss_window_days: Threshold
    weight_loss_warning_pct: Threshold
    weight_loss_severe_pct: Threshold
    slow_loss_moderate_pct: Threshold
    slow_loss_severe_pct: Threshold
    bmi_older_age_years: Threshold
    bmi_severe_kg_m2: Threshold
    bmi_moderate_kg_m2: Threshold
    bmi_moderate_older_kg_m2: Threshold
    als_bmi_fall_kg_m2: Threshold
    diagnosis_weight_match_days: Threshold
    child_bmi_percentile: Threshold
    child_z_moderate_sd: Threshold
    child_z_severe_sd: Threshold
    child_loss_mild_pct: Threshold
    child_loss_moderate_pct: Threshold
    child_loss_severe_pct: Threshold
    child_z_fall_mild_sd: Threshold
    child_z_fall_moderate_sd: Threshold
    child_z_fall_severe_sd: Threshold
    over_bmi_percentile_dmd: Threshold
    over_bmi_percentile_sma: Threshold
    over_bmi_adult_kg_m2: Threshold
    gastrostomy_fvc_low_pct: Threshold
    gastrostomy_fvc_high_pct: Threshold
    gastrostomy_fvc_fall_points: Threshold
    gastrostomy_fvc_fresh_days: Threshold


@dataclass(frozen=True)
class Respiratory:
    """Respiratory follow-up: FVC/VC, MIP/SNIP, spirometry freshness."""

    fvc_pct_low: Threshold
    vc_low_l: Threshold
    mip_low_cmh2o: Threshold
    snip_low_cmh2o: Threshold
    fresh_als_days: Threshold
    fresh_other_days: Threshold


@dataclass(frozen=True)
class Thresholds:
    """Every threshold in force on one date, by family."""

    actions: Actions
    bone: Bone
    medication: Medication
    nutrition: Nutrition
    respiratory: Respiratory

    def all(self) -> dict[str, Threshold]:
        """Every threshold by its key ("bone.z_low_sd")."""
        return {
            t.key: t
            for group in (getattr(self, f.name) for f in fields(self))
            for t in (getattr(group, g.name) for g in fields(group))
        }


FAMILIES: dict[str, type] = {
    "actions": Actions,
    "bone": Bone,
    "medication": Medication,
    "nutrition": Nutrition,
    "respiratory": Respiratory,
}
