"""BMI-for-age percentile and Z-score for children: the one place that reads the growth reference.

Reference: **CDC 2000 BMI-for-age (2–20 y)**, LMS parameters by month of age, with the sigma of CDC's
2022 extended BMI-for-age charts above the 95th percentile (``service/knowledge/growth/``, public domain;
the file names its source). CDC is chosen because the clinical reference defines paediatric underweight
as "BMI-for-age < 5th percentile (CDC)", the ICD-10-CM code Z68.51 uses that definition, and ASPEN/AND
2014 Z bands are commonly applied to CDC charts in US practice. UK-WHO would change the percentile a
child sits on, so the reference used is named in every card (``REFERENCE_NAME``).

The method is CDC's: L, M, S (and sigma) interpolated linearly between the two table ages around the
child's age; Z = ((BMI/M)^L - 1) / (L·S); above the 95th percentile, the extended method
(percentile = 90 + 10·Φ((BMI - P95) / sigma)). Pure Python, read once at import (no numerical library).
"""

from __future__ import annotations

import json
import math
from bisect import bisect_right
from dataclasses import dataclass
from importlib import resources
from statistics import NormalDist

REFERENCE_NAME = "CDC 2000 BMI-for-age"
_MIN_AGE_YEARS = 2.0  # CDC BMI-for-age starts at 2 y
_MAX_AGE_YEARS = 20.0
_NORMAL = NormalDist()
_P95_Z = 1.645  # the 95th percentile's Z, where CDC's extended BMI method takes over
_TABLE = json.loads(
    (resources.files("service.knowledge") / "growth" / "cdc2000-bmi-for-age.json").read_text(encoding="utf-8")
)
# per sex: the table's ages, and (L, M, S, sigma) at each
_AGES = {sex: [row[0] for row in _TABLE[sex]] for sex in ("male", "female")}
_LMS: dict[str, list[tuple[float, float, float, float]]] = {
    sex: [(row[1], row[2], row[3], row[4]) for row in _TABLE[sex]] for sex in ("male", "female")
}


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
    if sex not in _AGES or not (_MIN_AGE_YEARS <= age_years <= _MAX_AGE_YEARS) or not (5.0 < bmi < 80.0):
        return None
    el, m, s, sigma = _lms_at(sex, age_years)
    p95 = m * (1 + el * s * _P95_Z) ** (1 / el)
    if bmi > p95:  # extended BMI-for-age: a percentile between 90 and 100
        percentile = 90.0 + 10.0 * _NORMAL.cdf((bmi - p95) / sigma)
        if percentile >= 100.0:
            return None
        z = _NORMAL.inv_cdf(percentile / 100.0)
    else:
        z = ((bmi / m) ** el - 1) / (el * s) if el else math.log(bmi / m) / s
    if math.isnan(z) or math.isinf(z):
        return None
    return BmiForAge(bmi=bmi, z=z, percentile=_NORMAL.cdf(z) * 100.0)


def _lms_at(sex: str, age: float) -> tuple[float, float, float, float]:
    """L, M, S and sigma at ``age``: a table row when the age is one (to 0.0001 y), else linear
    interpolation between the rows around it."""
    ages, rows = _AGES[sex], _LMS[sex]
    i = max(bisect_right(ages, age) - 1, 0)
    if i + 1 < len(ages) and round(ages[i + 1], 4) == round(age, 4):
        i += 1
    if round(ages[i], 4) == round(age, 4) or i == len(ages) - 1:
        el, m, s, sigma = rows[i]
        return el, m, s, sigma
    f = (age - ages[i]) / (ages[i + 1] - ages[i])
    el, m, s, sigma = (a + (b - a) * f for a, b in zip(rows[i], rows[i + 1], strict=True))
    return el, m, s, sigma


def z_from_percentile(percentile: float) -> float:
    """Z-score of a percentile sent by the EHR (LMS references are normal in Z by construction)."""
    p = min(max(percentile, 0.01), 99.99) / 100.0  # 0 and 100 have no finite Z
    return _NORMAL.inv_cdf(p)
