"""The growth reference (CDC 2000 BMI-for-age, extended above the 95th percentile), the threshold tables,
and the import boundary."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from service.rules import growth
from tests.rules.nutrition_factory import KNOWLEDGE

RULES_DIR = Path(__file__).resolve().parents[2] / "service" / "rules"
MY_MODULES = tuple(
    p.relative_to(RULES_DIR).as_posix()
    for p in [*RULES_DIR.glob("nutrition/*.py"), *RULES_DIR.glob("respiratory/*.py"), RULES_DIR / "growth.py"]
)


@pytest.mark.parametrize(
    "bmi, age, sex, low_pct, high_pct",
    [
        (14.0, 10.0, "male", 3.0, 3.6),  # CDC boys 10 y: 5th percentile ≈ 14.2 kg/m²
        (14.4, 10.0, "male", 6.5, 7.5),
        (17.0, 10.0, "male", 55.0, 60.0),  # near the median
        (14.0, 10.0, "female", 4.5, 5.2),
    ],
)
def test_bmi_for_age_cdc(bmi: float, age: float, sex: str, low_pct: float, high_pct: float) -> None:
    placed = growth.bmi_for_age(bmi, age, sex)
    assert placed is not None and low_pct <= placed.percentile <= high_pct
    assert placed.reference == "CDC 2000 BMI-for-age"


@pytest.mark.parametrize(
    "bmi, age, sex, z",
    [  # Z-scores from an independent implementation (RCPCH's rcpchgrowth 4.6.5, reference CDC), frozen
        (14.0, 10.0, "male", -1.837594),
        (17.0, 10.0, "male", 0.180741),
        (14.0, 10.0, "female", -1.661748),
        (16.57502768, 2.0, "male", 0.0),  # the median at a table age
        (15.3, 2.3, "female", -0.701961),  # between table ages: interpolated
        (22.5, 7.62, "male", 1.998899),
        (31.0, 9.1, "female", 3.000471),  # above the 95th percentile: the extended method
        (45.0, 14.5, "male", 3.727413),
        (19.0, 19.99, "female", -1.026080),
        (24.0, 20.0, "male", 0.298186),  # the last age served
        (12.1, 5.5, "male", -4.425881),
    ],
)
def test_bmi_for_age_z_matches_an_independent_implementation(
    bmi: float, age: float, sex: str, z: float
) -> None:
    placed = growth.bmi_for_age(bmi, age, sex)
    assert placed is not None and placed.z == pytest.approx(z, abs=1e-6)


@pytest.mark.parametrize(
    "bmi, age, sex",
    [
        (38.0, 4.2, "female"),  # beyond the extended chart's reach: no finite Z
        (14.0, 1.5, "male"),  # under 2: weight-for-length, not BMI-for-age
        (14.0, 20.5, "male"),  # adult
        (14.0, 10.0, None),  # sex unknown
        (14.0, 10.0, "other"),
        (2.0, 10.0, "male"),  # implausible BMI
    ],
)
def test_bmi_for_age_outside_reference(bmi: float, age: float, sex: str | None) -> None:
    assert growth.bmi_for_age(bmi, age, sex) is None


@pytest.mark.parametrize("pct, z", [(50.0, 0.0), (2.28, -2.0), (0.0, -3.719), (100.0, 3.719)])
def test_z_from_percentile(pct: float, z: float) -> None:
    assert growth.z_from_percentile(pct) == pytest.approx(z, abs=0.01)


def test_bmi_from_canonical_units() -> None:
    assert growth.bmi_kg_m2(72.25, 170.0) == pytest.approx(25.0)


@pytest.mark.parametrize("family", ["nutrition.", "respiratory.", "actions."])
def test_thresholds_have_sources(family: str) -> None:
    mine = {k: t for k, t in KNOWLEDGE.specs.items() if k.startswith(family)}
    assert len(mine) >= 6
    for t in mine.values():
        assert t.citations and t.unit and t.description


@pytest.mark.parametrize("module", MY_MODULES)
def test_rules_import_no_flask_or_fhir_resources(module: str) -> None:
    tree = ast.parse((RULES_DIR / module).read_text(encoding="utf-8"))
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any(x.split(".")[0] in {"flask", "requests"} or x.startswith("fhir.resources") for x in names)
    assert not any(x.split(".")[0] in {"numpy", "scipy", "rcpchgrowth"} for x in names)
