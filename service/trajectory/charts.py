"""What the trajectory page draws, as plain data: series, threshold lines, bands, events and episodes.

Everything comes from the PatientSummary the rules read, through the rules' own helpers where they
decide something (which DXA score an age band uses, the usual weight, % predicted from litres, the
height near a weight), so every point is a fact a rule could have used, in its canonical unit. Every
clinical number is a threshold in force (``ctx.t``, site overrides applied), never a literal.
Each chart carries its own text description and table (the accessible alternative to the picture).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from service.fhir.summary import (
    SITE_LABELS,
    Concept,
    DrugClass,
    Fracture,
    FractureKind,
    ImagingKind,
    Measurement,
    Nmd,
    PatientSummary,
)
from service.knowledge import Knowledge
from service.rules import growth
from service.rules.bone.dxa import exams
from service.rules.bone.trend import lsc_for
from service.rules.core import RuleContext
from service.rules.measures import pct_predicted_series
from service.rules.nutrition.body import height

# --- model ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    when: date
    value: float
    text: str  # value as shown in the table and tooltip, with its unit
    hollow: bool = False  # a bound ("<10") or a preliminary value: drawn as an open marker


@dataclass(frozen=True)
class Series:
    name: str
    points: tuple[Point, ...]
    style: int = 0  # palette slot: colour, marker shape and dash differ per slot


@dataclass(frozen=True)
class RefLine:
    value: float
    label: str
    kind: str = "threshold"  # "threshold" (a rule's cut-off) | "reference" (e.g. the usual weight)


@dataclass(frozen=True)
class Band:
    low: float
    high: float
    label: str
    tone: str  # "caution" | "alarm" | "lsc"


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    unit: str
    description: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    series: tuple[Series, ...] = ()
    lines: tuple[RefLine, ...] = ()
    bands: tuple[Band, ...] = ()
    y_range: tuple[float, float] | None = None  # fixed axis (percentiles), else from the data
    empty: str = ""  # why nothing is drawn

    @property
    def has_data(self) -> bool:
        return any(s.points for s in self.series)


@dataclass(frozen=True)
class Event:
    when: date
    row: str  # "imaging" | "fracture"
    kind: str  # imaging-normal, imaging-vf, fracture-low, fracture-trauma, fracture-unconfirmed
    text: str


@dataclass(frozen=True)
class Episode:
    start: date
    end: date
    row: str  # "glucocorticoid" | "bone-therapy"
    text: str
    ongoing: bool


@dataclass(frozen=True)
class Timeline:
    events: tuple[Event, ...]
    episodes: tuple[Episode, ...]
    description: str
    rows: tuple[tuple[str, ...], ...]
    columns: tuple[str, ...] = ("Date", "What", "Detail")


@dataclass(frozen=True)
class Trajectory:
    """The whole page's data: the shared time axis, the timeline and the charts per section."""

    today: date
    start: date
    timeline: Timeline
    bone: tuple[Chart, ...]
    nutrition: tuple[Chart, ...]
    breathing: tuple[Chart, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def charts(self) -> tuple[Chart, ...]:
        return self.bone + self.nutrition + self.breathing


# --- helpers --------------------------------------------------------------------------------------


def _num(x: float, places: int = 1) -> str:
    """A number for display with a real minus sign: −2.2."""
    text = f"{x:.{places}f}"
    return text.replace("-", "−")


def _point(m: Measurement, places: int = 1, unit: str = "") -> Point:
    text = f"{m.comparator or ''}{_num(m.value, places)}{unit}"
    if m.preliminary:
        text += " (preliminary)"
    return Point(m.when, m.value, text, hollow=m.comparator is not None or m.preliminary)


def _span(points: list[Point]) -> str:
    if not points:
        return ""
    first, last = points[0], points[-1]
    if first is last:
        return f"one value, {last.text} on {last.when.isoformat()}"
    return (
        f"{len(points)} values from {first.text} on {first.when.isoformat()} "
        f"to {last.text} on {last.when.isoformat()}"
    )


def _site_name(site: object, side: str | None) -> str:
    name = SITE_LABELS.get(site, "site")  # type: ignore[call-overload]
    return f"{name} ({side})" if side else name


# --- bone density ---------------------------------------------------------------------------------


def bone_charts(ctx: RuleContext) -> tuple[Chart, ...]:
    """Per DXA site and side: the score the age band uses (Z, or T from 50 y) with the −2.0 / −2.5 lines;
    and, where BMD in g/cm² was reported, BMD with the site's least significant change around baseline."""
    z_low, t_low = ctx.t.bone.z_low_sd, ctx.t.bone.t_osteoporosis_sd
    scores: dict[tuple, list[tuple[Measurement, str]]] = {}
    aside: dict[tuple, list[tuple[Measurement, str]]] = {}
    for exam in exams(ctx):
        for m in exam.scores:
            scores.setdefault((m.site, m.laterality), []).append((m, exam.why))
        for m, why in exam.set_aside:
            aside.setdefault((m.site, m.laterality), []).append((m, why))
    bmd: dict[tuple, list[Measurement]] = {}
    for m in ctx.summary.series(Concept.BMD):
        if m.site is not None and m.comparator is None and m.when <= ctx.today:
            bmd.setdefault((m.site, m.laterality), []).append(m)
    charts: list[Chart] = []
    for key in sorted(set(scores) | set(aside) | set(bmd), key=lambda k: (str(k[0]), k[1] or "")):
        site, side = key
        name = _site_name(site, side)
        lsc = lsc_for(ctx, site)
        lsc_text = f"least significant change {lsc:g} % of BMD" if lsc is not None else "no LSC for this site"
        used = scores.get(key, [])
        if used or aside.get(key):
            z = [_point(m) for m, _ in used if m.concept is Concept.Z_SCORE]
            t = [_point(m) for m, _ in used if m.concept is Concept.T_SCORE]
            series = tuple(
                s for s in (Series("Z-score", tuple(z), 0), Series("T-score", tuple(t), 1)) if s.points
            )
            lines = ((RefLine(z_low, f"Z {_num(z_low)}: low for age"),) if z else ()) + (
                (RefLine(t_low, f"T {_num(t_low)}: osteoporosis"),) if t else ()
            )
            rows = [
                (m.when.isoformat(), "Z" if m.concept is Concept.Z_SCORE else "T", _point(m).text, why)
                for m, why in used
            ] + [
                (
                    m.when.isoformat(),
                    "Z" if m.concept is Concept.Z_SCORE else "T",
                    _point(m).text,
                    f"not used: {why}",
                )
                for m, why in aside.get(key, [])
            ]
            below = [p for p in z if p.value <= z_low] + [p for p in t if p.value <= t_low]
            parts = [f"{s.name}: {_span(list(s.points))}" for s in series]
            description = (
                f"DXA {name}. "
                + ("; ".join(parts) + ". " if parts else "No score usable at this site. ")
                + (
                    f"{len(below)} value(s) at or below the line. "
                    if below
                    else "No value at or below the line. "
                )
                + f"The site's {lsc_text}."
            )
            charts.append(
                Chart(
                    id=f"bone-{site}-{side or 'both'}",
                    title=f"Bone density score – {name}",
                    unit="SD",
                    description=description,
                    columns=("Date", "Score", "Value", "Why this score"),
                    rows=tuple(sorted(rows)),
                    series=series,
                    lines=lines,
                    empty="" if series else "scores at this site are set aside (see table)",
                )
            )
        if bmd.get(key):
            charts.append(_bmd_chart(key, name, bmd[key], lsc, lsc_text))
    return tuple(charts)


def _bmd_chart(key: tuple, name: str, ms: list[Measurement], lsc: float | None, lsc_text: str) -> Chart:
    site, side = key
    base = ms[0]
    points = tuple(_point(m, 3, " g/cm²") for m in ms)
    bands: tuple[Band, ...] = ()
    if lsc is not None:
        bands = (
            Band(
                base.value * (1 - lsc / 100),
                base.value * (1 + lsc / 100),
                f"baseline {base.value:.3f} ± {lsc:g} % (LSC)",
                "lsc",
            ),
        )
    rows = []
    beyond = 0
    for prev, m in zip([None, *ms[:-1]], ms, strict=True):
        change = "" if prev is None or prev.value <= 0 else (m.value - prev.value) / prev.value * 100
        flag = ""
        if isinstance(change, float) and lsc is not None:
            flag = "beyond LSC" if abs(change) >= lsc else "within LSC"
            beyond += abs(change) >= lsc
        rows.append(
            (
                m.when.isoformat(),
                f"{m.value:.3f} g/cm²",
                "baseline" if prev is None else f"{_num(change, 1)} %" if isinstance(change, float) else "",
                flag,
            )
        )
    return Chart(
        id=f"bmd-{site}-{side or 'both'}",
        title=f"BMD – {name}",
        unit="g/cm²",
        description=(
            f"BMD at the {name}: {_span(list(points))}. The band is the first scan ± the site's "
            f"{lsc_text}; {beyond} change(s) between consecutive scans reach it."
        ),
        columns=("Date", "BMD", "Change from previous scan", "Against LSC"),
        rows=tuple(rows),
        series=(Series("BMD", points, 2),),
        bands=bands,
    )


# --- weight and body size -------------------------------------------------------------------------


def nutrition_charts(ctx: RuleContext) -> tuple[Chart, ...]:
    s = ctx.summary
    age = s.age_at(ctx.today)
    child = age is not None and age < ctx.t.nutrition.adult_age_years
    weights = [m for m in s.series(Concept.WEIGHT) if m.comparator is None and m.when <= ctx.today]
    charts = [_weight_chart(ctx, weights, child)]
    charts.append(_bmi_percentile_chart(ctx, weights) if child else _bmi_chart(ctx, weights))
    return tuple(charts)


def _weight_chart(ctx: RuleContext, weights: list[Measurement], child: bool) -> Chart:
    s = ctx.summary
    als = s.has(Nmd.ALS)
    if child:
        caution, alarm = (
            ctx.t.nutrition.child_loss_mild_pct,
            ctx.t.nutrition.child_loss_severe_pct,
        )
    else:
        caution, alarm = (
            ctx.t.nutrition.weight_loss_warning_pct,
            ctx.t.nutrition.weight_loss_severe_pct,
        )
    lookback = (
        ctx.t.nutrition.usual_weight_lookback_als_days if als else ctx.t.nutrition.usual_weight_lookback_days
    )
    usual = (
        s.usual_weight(weights[-1], int(lookback), int(ctx.t.nutrition.weight_min_span_days))
        if weights
        else None
    )
    points = tuple(_point(m, 1, " kg") for m in weights)
    lines: tuple[RefLine, ...] = ()
    bands: tuple[Band, ...] = ()
    rows = []
    for m in weights:
        pct = "" if usual is None else f"{_num((m.value - usual.value) / usual.value * 100, 1)} %"
        rows.append((m.when.isoformat(), _point(m, 1, " kg").text, pct))
    if usual is not None:
        documented = usual.usual or usual.concept is Concept.USUAL_WEIGHT
        how = "documented" if documented else f"heaviest in the {lookback:g} days before the latest weight"
        lines = (RefLine(usual.value, f"usual {usual.value:.1f} kg", "reference"),)
        low = 0.0
        bands = (
            Band(
                usual.value * (1 - alarm / 100),
                usual.value * (1 - caution / 100),
                f"{caution:g}–{alarm:g} % below usual",
                "caution",
            ),
            Band(low, usual.value * (1 - alarm / 100), f"≥ {alarm:g} % below usual", "alarm"),
        )
        now = weights[-1]
        loss = (usual.value - now.value) / usual.value * 100
        desc = (
            f"Weight: {_span(list(points))}. Usual weight {usual.value:.1f} kg ({how}); the latest weight is "
            f"{_num(abs(loss))} % {'below' if loss >= 0 else 'above'} it. "
            f"Bands: {caution:g} % and {alarm:g} % below usual."
        )
    elif weights:
        desc = (
            f"Weight: {_span(list(points))}. No usual weight yet (two weights far enough apart are needed)."
        )
    else:
        desc = "No weight recorded."
    return Chart(
        id="weight",
        title="Weight and loss from usual weight",
        unit="kg",
        description=desc,
        columns=("Date", "Weight", "From usual weight"),
        rows=tuple(rows),
        series=(Series("Weight", points, 0),),
        lines=lines,
        bands=bands,
        empty="" if weights else "no weight recorded",
    )


def _bmi_chart(ctx: RuleContext, weights: list[Measurement]) -> Chart:
    """Adults: BMI from each weight and the height measured near it; the EHR's BMI on other days."""
    s = ctx.summary
    by_day: dict[date, Point] = {}
    for m in s.series(Concept.BMI):
        if m.when <= ctx.today:
            by_day[m.when] = _point(m, 1, " kg/m²")
    for w in weights:
        h = height(ctx, child=False, near=w)
        if h is not None:
            bmi = growth.bmi_kg_m2(w.value, h.value)
            by_day[w.when] = Point(
                w.when, bmi, f"{_num(bmi)} kg/m² ({w.value:.1f} kg, {h.value:.0f} cm)", w.preliminary
            )
    points = tuple(by_day[d] for d in sorted(by_day))
    age = s.age_at(ctx.today)
    older = age is not None and age >= ctx.t.nutrition.bmi_older_age_years
    moderate = ctx.t.nutrition.bmi_moderate_older_kg_m2 if older else ctx.t.nutrition.bmi_moderate_kg_m2
    severe = ctx.t.nutrition.bmi_severe_kg_m2
    lines = (
        RefLine(moderate, f"{moderate:g}: moderately low (GLIM)"),
        RefLine(severe, f"{severe:g}: severely low"),
    )
    return Chart(
        id="bmi",
        title="Body mass index (adult)",
        unit="kg/m²",
        description=(
            f"BMI: {_span(list(points))}." if points else "No BMI: no height measured near a weight."
        )
        + f" Lines at {moderate:g} and {severe:g} kg/m².",
        columns=("Date", "BMI"),
        rows=tuple((p.when.isoformat(), p.text) for p in points),
        series=(Series("BMI", points, 3),),
        lines=lines,
        empty="" if points else "no height measured near a weight: BMI not computed",
    )


def _bmi_percentile_chart(ctx: RuleContext, weights: list[Measurement]) -> Chart:
    """Children: BMI-for-age percentile sent by the EHR, else computed (CDC 2000) from weight and height:
    at each height measurement (with the weight nearest to it) as on a growth chart, and at the latest
    weight with the height the rules use for it (the value a card cites)."""
    s = ctx.summary
    window = ctx.t.nutrition.height_fresh_child_days
    pairs: dict[date, tuple[Measurement, Measurement]] = {}
    for h in s.series(Concept.HEIGHT):
        near = [w for w in weights if abs((w.when - h.when).days) <= window]
        if near and h.comparator is None and h.value > 0 and h.when <= ctx.today:
            w = min(near, key=lambda w: (abs((w.when - h.when).days), w.when))
            pairs[w.when] = (w, h)
    latest = height(ctx, child=True, near=weights[-1]) if weights else None
    if latest is not None:
        pairs[weights[-1].when] = (weights[-1], latest)
    by_day: dict[date, Point] = {}
    for w, h in pairs.values():
        age = s.age_at(w.when)
        if age is None:
            continue
        placed = growth.bmi_for_age(growth.bmi_kg_m2(w.value, h.value), age, s.sex)
        if placed is not None:
            by_day[w.when] = Point(
                w.when,
                placed.percentile,
                f"P{_num(placed.percentile, 0)} (BMI {_num(placed.bmi)}, computed)",
                w.preliminary,
            )
    for m in s.series(Concept.BMI_PERCENTILE):
        if m.when <= ctx.today:
            by_day[m.when] = _point(m, 0, "th percentile (EHR)")
    points = tuple(by_day[d] for d in sorted(by_day))
    low = ctx.t.nutrition.child_bmi_percentile
    lines = [RefLine(low, f"{low:g}th: underweight")]
    on_gc = any(c.active for c in s.courses(DrugClass.GLUCOCORTICOID))
    if s.has(Nmd.DMD, Nmd.BECKER) and on_gc:
        high = ctx.t.nutrition.over_bmi_percentile_dmd
        lines.append(RefLine(high, f"{high:g}th: over-nutrition (GC)"))
    elif s.has(Nmd.SMA):
        high = ctx.t.nutrition.over_bmi_percentile_sma
        lines.append(RefLine(high, f"{high:g}th: SMA body composition"))
    return Chart(
        id="bmi-percentile",
        title=f"BMI-for-age percentile (child, {growth.REFERENCE_NAME})",
        unit="percentile",
        description=(
            f"BMI-for-age at each height measurement and the latest weight: {_span(list(points))}."
            if points
            else "No BMI-for-age: no height near a weight."
        )
        + " Lines at the "
        + " and ".join(f"{line.value:g}th" for line in lines)
        + " percentile.",
        columns=("Date", "BMI-for-age"),
        rows=tuple((p.when.isoformat(), p.text) for p in points),
        series=(Series("BMI-for-age percentile", points, 3),),
        lines=tuple(lines),
        y_range=(0.0, 100.0),
        empty="" if points else "no height measured near a weight: percentile not computed",
    )


# --- breathing ------------------------------------------------------------------------------------


def breathing_charts(ctx: RuleContext) -> tuple[Chart, ...]:
    s = ctx.summary
    low = ctx.t.respiratory.fvc_pct_low
    fvc = tuple(
        _point(m, 0, " %")
        for m in pct_predicted_series(s, Concept.FVC_PCT_PREDICTED, Concept.FVC, Concept.FVC_PREDICTED)
        if m.when <= ctx.today
    )
    vc = tuple(
        _point(m, 0, " %")
        for m in pct_predicted_series(s, Concept.VC_PCT_PREDICTED, Concept.VC, Concept.VC_PREDICTED)
        if m.when <= ctx.today
    )
    series = (Series("FVC % predicted", fvc, 0), Series("VC % predicted", vc, 1))
    rows = sorted(
        [(p.when.isoformat(), "FVC", p.text) for p in fvc] + [(p.when.isoformat(), "VC", p.text) for p in vc]
    )
    charts = [
        Chart(
            id="fvc-percent",
            title="Forced vital capacity, % predicted",
            unit="% predicted",
            description=(
                "; ".join(f"{x.name}: {_span(list(x.points))}" for x in series if x.points)
                or "No spirometry recorded"
            )
            + f". Line at {low:g} % predicted.",
            columns=("Date", "Measure", "% predicted"),
            rows=tuple(rows),
            series=tuple(x for x in series if x.points) or series[:1],
            lines=(RefLine(low, f"{low:g} %: NIV criterion"),),
            empty="" if fvc or vc else "no spirometry recorded",
        )
    ]
    als = s.has(Nmd.ALS)
    litres = {
        "FVC": [m for m in s.series(Concept.FVC) if m.when <= ctx.today],
        "VC": [m for m in s.series(Concept.VC) if m.when <= ctx.today],
    }
    if als or any(litres.values()):
        vc_low = ctx.t.respiratory.vc_low_l
        ls = tuple(
            Series(f"{name} (L)", tuple(_point(m, 2, " L") for m in ms), i)
            for i, (name, ms) in enumerate(litres.items())
        )
        drawn = tuple(x for x in ls if x.points)
        charts.append(
            Chart(
                id="vital-capacity-litres",
                title="Vital capacity in litres" + (" (ALS)" if als else ""),
                unit="L",
                description=(
                    "; ".join(f"{x.name}: {_span(list(x.points))}" for x in drawn)
                    or "No vital capacity in litres recorded"
                )
                + (f". Line at {vc_low:g} L (ALS: respiratory review below it)." if als else "."),
                columns=("Date", "Measure", "Litres"),
                rows=tuple(sorted((p.when.isoformat(), x.name, p.text) for x in drawn for p in x.points)),
                series=drawn or ls[:1],
                lines=(RefLine(vc_low, f"{vc_low:g} L: review (ALS)"),) if als else (),
                empty="" if drawn else "no FVC or VC in litres recorded",
            )
        )
    return tuple(charts)


# --- the shared time line -------------------------------------------------------------------------


def _fracture_text(f: Fracture) -> str:
    if f.kind is FractureKind.VERTEBRAL:
        grade = f"Genant grade {f.genant_grade:g}" if f.genant_grade is not None else "grade not stated"
        text = f"vertebral fracture {f.level or '(level not stated)'}, {grade}"
    else:
        kind = "long-bone" if f.kind is FractureKind.LONG_BONE else "other"
        text = f"{kind} fracture {f.level or ''}".rstrip()
    mechanism = {True: "low trauma", False: "traumatic", None: "mechanism unconfirmed"}[f.low_trauma]
    return f"{text} ({mechanism}{', provisional' if f.provisional else ''})"


def timeline(ctx: RuleContext, merge_days: int = 30) -> Timeline:
    """Spine imaging (normal, or the vertebral fracture it showed), fractures, glucocorticoid and
    bone-therapy episodes. An imaging study shows a fracture when one is dated within ``merge_days``."""
    s, today = ctx.summary, ctx.today
    events: list[Event] = []
    rows: list[tuple[str, ...]] = []
    vfs = [f for f in s.fractures if f.kind is FractureKind.VERTEBRAL and f.when is not None]
    for img in s.spine_imaging:
        if img.when > today:
            continue
        found = [f for f in vfs if f.when is not None and abs((f.when - img.when).days) <= merge_days]
        kind = (
            "lateral spine X-ray"
            if img.kind is ImagingKind.LATERAL_SPINE_XR
            else "DXA vertebral fracture assessment"
        )
        if found:
            detail = "; ".join(_fracture_text(f) for f in found)
            events.append(Event(img.when, "imaging", "imaging-vf", f"{kind}: {detail}"))
        else:
            detail = "no vertebral fracture recorded"
            events.append(Event(img.when, "imaging", "imaging-normal", f"{kind}: {detail}"))
        rows.append((img.when.isoformat(), f"Spine imaging ({kind})", detail))
    for f in s.fractures:
        kind = {True: "fracture-low", False: "fracture-trauma", None: "fracture-unconfirmed"}[f.low_trauma]
        if f.when is not None and f.when <= today:
            events.append(Event(f.when, "fracture", kind, _fracture_text(f)))
        rows.append((f.when.isoformat() if f.when else "date unknown", "Fracture", _fracture_text(f)))
    episodes: list[Episode] = []
    for c in s.medications:
        start = c.start or c.last_dose
        if start is None or start > today:
            continue
        # an active course runs to today (bone therapy: the last dose still covers it); else to its end
        end = today if c.active else min(c.end or c.last_dose or start, today)
        row = "glucocorticoid" if c.drug_class is DrugClass.GLUCOCORTICOID else "bone-therapy"
        state = "ongoing" if c.active else f"to {end.isoformat()}"
        last = (
            f", last dose {c.last_dose.isoformat()}" if c.last_dose and c.drug_class.is_bone_therapy else ""
        )
        text = f"{c.drug}{f' ({c.route})' if c.route else ''} from {start.isoformat()}, {state}{last}"
        episodes.append(Episode(start, max(end, start), row, text, c.active))
        rows.append(
            (
                start.isoformat(),
                "Glucocorticoid" if row == "glucocorticoid" else "Bone-targeted therapy",
                text,
            )
        )
    counts = {
        "spine imaging studies": sum(e.row == "imaging" for e in events),
        "with a vertebral fracture": sum(e.kind == "imaging-vf" for e in events),
        "fractures": len(s.fractures),
        "glucocorticoid courses": sum(e.row == "glucocorticoid" for e in episodes),
        "bone-therapy courses": sum(e.row == "bone-therapy" for e in episodes),
    }
    description = "Time line: " + ", ".join(f"{n} {what}" for what, n in counts.items()) + "."
    return Timeline(
        tuple(sorted(events, key=lambda e: (e.when, e.row))),
        tuple(sorted(episodes, key=lambda e: (e.start, e.row))),
        description,
        tuple(sorted(rows)),
    )


# --- the page -------------------------------------------------------------------------------------


def trajectory(summary: PatientSummary, knowledge: Knowledge) -> Trajectory:
    """Every chart of the page for one patient as of ``summary.today``."""
    ctx = RuleContext(summary, summary.today, knowledge)
    line = timeline(ctx)
    bone, nutrition, breathing = bone_charts(ctx), nutrition_charts(ctx), breathing_charts(ctx)
    dates = [p.when for c in bone + nutrition + breathing for s in c.series for p in s.points]
    dates += [e.when for e in line.events] + [e.start for e in line.episodes]
    start = min(dates) if dates else summary.today - timedelta(days=365)
    if (summary.today - start).days < 180:  # a short history still gets a readable axis
        start = summary.today - timedelta(days=180)
    return Trajectory(summary.today, start, line, bone, nutrition, breathing)
