"""What the trajectory page draws: the same facts and meanings as the rules (the summary, the score the
age band uses, the usual weight, % predicted), every line and band from the thresholds in force, one
time axis for every picture, and SVG that is labelled, escaped and colour-independent."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from service.fhir.build import build_summary
from service.fhir.summary import Concept, PatientSummary
from service.fixtures.render import load_scenarios, render_scenario
from service.knowledge import Knowledge, default_knowledge, load_knowledge
from service.trajectory import charts, svg
from service.trajectory.charts import Chart, Point, RefLine, Series, trajectory
from tests.conftest import TODAY

SCENARIOS = {s["name"]: s for s in load_scenarios()}
DEFAULTS = default_knowledge()


def summary_of(name: str, today: date = TODAY) -> PatientSummary:
    scenario = SCENARIOS[name]
    resources = [e["resource"] for e in render_scenario(scenario, today)["bundle"]["entry"]]
    return build_summary(resources, today, DEFAULTS, scenario["patientId"])


def chart(model: charts.Trajectory, chart_id: str) -> Chart:
    found = [c for c in model.charts if c.id == chart_id]
    assert found, f"no chart {chart_id}: {[c.id for c in model.charts]}"
    return found[0]


def values(c: Chart) -> dict[str, list[float]]:
    return {s.name: [p.value for p in s.points] for s in c.series}


# --- which score, which line -------------------------------------------------------------------------

SCORE_CASES = [
    # scenario, chart id, series drawn, lines drawn, rows set aside
    ("adult-55-lowest-site-t-score", "bone-femoral_neck-both", {"T-score"}, {-2.5}, 0),
    ("child-t-score-ignored", "bone-lumbar_spine-both", {"Z-score"}, {-2.0}, 1),
    ("dmd-vf-on-zoledronate", "bone-total_hip-both", {"Z-score"}, {-2.0}, 0),
    ("bmd-left-right-hip", "bone-total_hip-right", {"T-score"}, {-2.5}, 0),
]


@pytest.mark.parametrize("name,chart_id,series,lines,aside", SCORE_CASES)
def test_each_site_draws_the_score_its_age_band_uses(name, chart_id, series, lines, aside):
    c = chart(trajectory(summary_of(name), DEFAULTS), chart_id)
    assert {s.name for s in c.series} == series
    assert {line.value for line in c.lines} == lines
    assert sum(row[-1].startswith("not used") for row in c.rows) == aside
    # every point is a measurement of the summary, on its date, in its canonical unit
    summary = summary_of(name)
    facts = {
        (m.when, m.value) for m in summary.measurements if m.concept in (Concept.Z_SCORE, Concept.T_SCORE)
    }
    assert all((p.when, p.value) in facts for s in c.series for p in s.points)


def test_the_left_and_right_hip_are_separate_charts():
    ids = {c.id for c in trajectory(summary_of("bmd-left-right-hip"), DEFAULTS).bone}
    assert {"bone-total_hip-left", "bone-total_hip-right"} <= ids


def test_bmd_chart_has_the_sites_lsc_band_around_baseline_and_flags_changes():
    c = chart(trajectory(summary_of("dmd-vf-on-zoledronate"), DEFAULTS), "bmd-lumbar_spine-both")
    (band,) = c.bands
    assert band.low == pytest.approx(0.521 * 0.95) and band.high == pytest.approx(0.521 * 1.05)
    assert [row[2] for row in c.rows] == ["baseline", "−8.3 %", "11.3 %"]
    assert [row[3] for row in c.rows] == ["", "beyond LSC", "beyond LSC"]


def test_weight_chart_uses_the_rules_usual_weight_and_loss_bands():
    c = chart(trajectory(summary_of("als-weight-loss-fvc-falling"), DEFAULTS), "weight")
    (usual,) = c.lines
    assert usual.value == 80.0 and usual.kind == "reference"
    caution, alarm = c.bands
    assert (caution.low, caution.high) == pytest.approx((72.0, 76.0))
    assert alarm.high == pytest.approx(72.0)
    assert c.rows[-1] == ("2026-11-18", "71.0 kg", "−11.2 %")


def test_breathing_charts_percent_predicted_and_litres_with_the_als_line():
    model = trajectory(summary_of("als-weight-loss-fvc-falling"), DEFAULTS)
    fvc = chart(model, "fvc-percent")
    assert values(fvc) == {"FVC % predicted": [68.0, 57.0]} and [line.value for line in fvc.lines] == [50.0]
    litres = chart(model, "vital-capacity-litres")
    assert values(litres) == {"FVC (L)": [3.05, 2.55]} and [line.value for line in litres.lines] == [1.1]


def test_litres_from_ml_and_no_als_line_outside_als():
    vc = chart(trajectory(summary_of("als-vc-below-1-1-litres"), DEFAULTS), "vital-capacity-litres")
    assert values(vc) == {"VC (L)": [1.05]}  # reported in mL, drawn in litres
    other = trajectory(summary_of("sma-non-ambulatory-spirometry-overdue"), DEFAULTS)
    assert "vital-capacity-litres" not in {c.id for c in other.charts}  # no litres, not ALS: no chart


def test_children_get_bmi_for_age_adults_get_bmi():
    child = trajectory(summary_of("child-bmi-below-5th-percentile"), DEFAULTS)
    pct = chart(child, "bmi-percentile")
    assert values(pct) == {"BMI-for-age percentile": [3.0]} and pct.y_range == (0.0, 100.0)
    assert [line.value for line in pct.lines] == [5.0, 25.0]  # SMA: the body-composition line
    adult = trajectory(summary_of("als-weight-loss-fvc-falling"), DEFAULTS)
    bmi = chart(adult, "bmi")
    assert values(bmi)["BMI"][0] == pytest.approx(80 / 1.78**2) and {x.value for x in bmi.lines} == {
        20.0,
        18.5,
    }


def test_timeline_marks_imaging_results_fractures_and_treatment_episodes():
    line = trajectory(summary_of("dmd-vf-on-zoledronate"), DEFAULTS).timeline
    kinds = [(e.row, e.kind) for e in line.events]
    assert kinds.count(("imaging", "imaging-normal")) == 2 and kinds.count(("imaging", "imaging-vf")) == 1
    assert ("fracture", "fracture-low") in kinds and ("fracture", "fracture-unconfirmed") in kinds
    vf = next(e for e in line.events if e.kind == "imaging-vf")
    assert "T10, Genant grade 2" in vf.text and vf.when == date(2025, 7, 21)
    episodes = {(e.row, e.ongoing, e.end) for e in line.episodes}
    assert episodes == {("glucocorticoid", True, TODAY), ("bone-therapy", True, TODAY)}
    report = trajectory(summary_of("vertebral-fracture-in-diagnosticreport"), DEFAULTS).timeline
    assert [e.kind for e in report.events if e.row == "imaging"] == ["imaging-vf"]


def test_every_line_and_band_follows_the_thresholds_in_force(tmp_path: Path):
    overrides = {
        "bone.z_low_sd": -1.8,
        "bone.lsc_lumbar_spine_pct": 3,
        "nutrition.weight_loss_warning_pct": 4,
        "nutrition.weight_loss_severe_pct": 8,
        "respiratory.fvc_pct_low": 55,
        "respiratory.vc_low_l": 1.3,
        "nutrition.over_bmi_percentile_dmd": 80,
    }
    path = tmp_path / "site.json"
    path.write_text(json.dumps({"thresholds": overrides}))
    local: Knowledge = load_knowledge(path)
    dmd = trajectory(summary_of("dmd-vf-on-zoledronate"), local)
    assert [line.value for line in chart(dmd, "bone-lumbar_spine-both").lines] == [-1.8]
    (band,) = chart(dmd, "bmd-lumbar_spine-both").bands
    assert band.high == pytest.approx(0.521 * 1.03)
    assert 80.0 in [line.value for line in chart(dmd, "bmi-percentile").lines]
    als = trajectory(summary_of("als-weight-loss-fvc-falling"), local)
    caution, alarm = chart(als, "weight").bands
    assert (caution.low, caution.high) == pytest.approx((80 * 0.92, 80 * 0.96))
    assert [line.value for line in chart(als, "fvc-percent").lines] == [55.0]
    assert [line.value for line in chart(als, "vital-capacity-litres").lines] == [1.3]


def test_no_clinical_number_is_typed_in_the_app():
    """Thresholds are the typed thresholds in force (ctx.t): no literal cut-off in the drawing code."""
    source = (Path(charts.__file__)).read_text(encoding="utf-8")
    for literal in ("-2.0", "-2.5", "2.0,", "50.0", "1.1", "5.0", "10.0", "18.5", "85.0"):
        assert literal not in source, literal
    assert "ctx.t." in source and "thresholds.v(" not in source


def test_a_record_without_data_gives_empty_charts_that_say_so():
    empty = PatientSummary(today=TODAY, patient_id="x")
    model = trajectory(empty, DEFAULTS)
    assert model.bone == () and not model.timeline.events and not model.timeline.episodes
    assert all(not c.has_data and c.empty for c in model.charts)
    assert (model.today - model.start).days == 365


# --- SVG ---------------------------------------------------------------------------------------------------


def test_svg_is_labelled_and_draws_one_marker_per_point_on_the_shared_axis():
    model = trajectory(summary_of("dmd-vf-on-zoledronate"), DEFAULTS)
    scale = svg.TimeScale(model.start, model.today)
    ticks: dict[str, set[str]] = {}
    for c in model.charts:
        out = str(svg.chart_svg(c, scale))
        assert out.startswith("<svg") and 'role="img"' in out
        assert f'aria-labelledby="{c.id}-t {c.id}-d"' in out and f'<title id="{c.id}-t">' in out
        assert out.count('class="point"') == sum(len(s.points) for s in c.series)
        for x, label in re.findall(
            r'<text class="tick" x="([\d.]+)" y="[\d.]+" text-anchor="middle">(\d{4})<', out
        ):
            ticks.setdefault(label, set()).add(x)
    timeline = str(svg.timeline_svg(model.timeline, scale))
    for x, label in re.findall(
        r'<text class="tick" x="([\d.]+)" y="[\d.]+" text-anchor="middle">(\d{4})<', timeline
    ):
        ticks.setdefault(label, set()).add(x)
    assert ticks and all(len(xs) == 1 for xs in ticks.values()), ticks  # each year at one x everywhere


def test_svg_escapes_text_and_marks_bounds_as_open_markers():
    c = Chart(
        id="x",
        title="<script>alert(1)</script>",
        unit="ng/mL",
        description='"quoted" & <b>',
        columns=("Date",),
        rows=(),
        series=(
            Series(
                "D<3",
                (
                    Point(date(2026, 1, 1), 10.0, "<10 ng/mL", hollow=True),
                    Point(date(2026, 6, 1), 20.0, "20"),
                ),
            ),
        ),
        lines=(RefLine(20.0, "a <line>"),),
    )
    out = str(svg.chart_svg(c, svg.TimeScale(date(2025, 6, 1), date(2026, 11, 21))))
    assert "<script>" not in out and "&lt;script&gt;" in out and "&lt;line&gt;" in out
    assert out.count('fill="#ffffff"') == 1  # the bound is drawn open, the measured value filled


def test_series_differ_by_shape_and_dash_not_only_by_colour():
    shapes = {slot[1] for slot in svg.SLOTS}
    dashes = {slot[2] for slot in svg.SLOTS}
    assert len(shapes) == len(svg.SLOTS) and len(dashes) == len(svg.SLOTS)
    okabe_ito = {"#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"}
    assert {slot[0] for slot in svg.SLOTS} <= okabe_ito
    assert {style[1] for style in svg.EVENT_STYLE.values()} <= okabe_ito
    assert len({(style[0], style[2]) for style in svg.EVENT_STYLE.values()}) == len(svg.EVENT_STYLE)
