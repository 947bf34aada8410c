"""BMI-for-age percentile and Z-score for children: the one place that calls the growth reference.

Reference: **CDC 2000 BMI-for-age (2–20 y)** through ``rcpchgrowth`` (RCPCH's maintained package, which
also carries UK-WHO and WHO). CDC is chosen because the clinical reference defines paediatric
underweight as "BMI-for-age < 5th percentile (CDC)", the ICD-10-CM code Z68.51 uses that definition, and
ASPEN/AND 2014 Z bands are commonly applied to CDC charts in US practice. UK-WHO would change the
percentile a child sits on, so the reference used is named in every card (``REFERENCE_NAME``).

The package reads its own data tables at import; no network, no patient data leaves the process.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from rcpchgrowth import sds_for_measurement
from rcpchgrowth.constants.reference_constants import BMI, CDC, FEMALE, MALE

REFERENCE_NAME = "CDC 2000 BMI-for-age"
_MIN_AGE_YEARS = 2.0  # CDC BMI-for-age starts at 2 y
_MAX_AGE_YEARS = 20.0
_SEXES = {"male": MALE, "female": FEMALE}
_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class BmiForAge:
    """A child's BMI placed on the growth reference."""

    bmi: float  # kg/m2
    z: float  # SD
    percentile: float  # 0-100
    reference: str = REFERENCE_NAME


def bmi_kg_m2(weight_kg: float, height_cm: float) -> float:
    """BMI from canonical units (kg, cm)."""
    height_m = height_cm / 100.0
    return weight_kg / (height_m * height_m)


def bmi_for_age(bmi: float, age_years: float, sex: str | None) -> BmiForAge | None:
    """BMI-for-age Z and percentile, or None outside 2–20 y, without a sex, or for an implausible BMI."""
    if sex not in _SEXES or not (_MIN_AGE_YEARS <= age_years <= _MAX_AGE_YEARS) or not (5.0 < bmi < 80.0):
        return None
    try:
        z = float(
            sds_for_measurement(
                reference=CDC, age=age_years, measurement_method=BMI, observation_value=bmi, sex=_SEXES[sex]
            )
        )
    except (LookupError, ValueError, ZeroDivisionError):
        return None
    if math.isnan(z) or math.isinf(z):
        return None
    return BmiForAge(bmi=bmi, z=z, percentile=_NORMAL.cdf(z) * 100.0)


def z_from_percentile(percentile: float) -> float:
    """Z-score of a percentile sent by the EHR (LMS references are normal in Z by construction)."""
    p = min(max(percentile, 0.01), 99.99) / 100.0  # 0 and 100 have no finite Z
    return _NORMAL.inv_cdf(p)
