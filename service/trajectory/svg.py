"""Server-rendered SVG for the trajectory page: no script, no library, nothing fetched at run time.

Every picture uses the same width, left margin and date scale, so one date sits at the same x in every
chart and the time line (one shared time axis). Colours are the Okabe–Ito palette (distinguishable
with the common colour-vision deficiencies), and no meaning rests on colour alone: series also differ
in marker shape and dash, events in shape and fill. Each SVG has a title and a description
(``role="img"``); each marker a ``<title>`` (tooltip) with its value and date.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

from service.trajectory.charts import Chart, Timeline

WIDTH = 720
LEFT = 104  # room for the time line's row labels; the same in every chart so dates line up
RIGHT = 150  # room for the labels of threshold lines
CHART_HEIGHT = 170
TOP = 22  # legend row
BOTTOM = 22  # date axis labels

# Okabe & Ito (2008): black, orange, sky blue, bluish green, yellow, blue, vermillion, reddish purple.
BLACK, ORANGE, SKY, GREEN, BLUE, VERMILLION, PURPLE = (
    "#000000",
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
)
SLOTS = (
    (BLUE, "circle", ""),
    (ORANGE, "square", "6 3"),
    (GREEN, "diamond", "2 3"),
    (PURPLE, "triangle", "8 3 2 3"),
)
BAND_FILL = {"caution": (ORANGE, 0.22), "alarm": (VERMILLION, 0.16), "lsc": (SKY, 0.28)}


@dataclass(frozen=True)
class TimeScale:
    start: date
    end: date

    def x(self, when: date) -> float:
        span = max(1, (self.end - self.start).days)
        return LEFT + (when - self.start).days / span * (WIDTH - LEFT - RIGHT)

    def ticks(self) -> list[tuple[date, str]]:
        """Year starts for long spans, else quarter starts (labels 'YYYY' or 'Mon YYYY')."""
        days = (self.end - self.start).days
        out: list[tuple[date, str]] = []
        if days > 3 * 365:
            step = max(1, math.ceil(days / 365 / 8))
            for year in range(self.start.year + 1, self.end.year + 1, step):
                out.append((date(year, 1, 1), str(year)))
            return out
        month = (self.start.month - 1) // 3 * 3 + 1
        d = date(self.start.year, month, 1)
        months = 3 if days > 400 else 2 if days > 200 else 1
        while d <= self.end:
            if d >= self.start:
                out.append((d, d.strftime("%b %Y")))
            m = d.month - 1 + months
            d = date(d.year + m // 12, m % 12 + 1, 1)
        return out


def _f(x: float) -> str:
    return f"{x:.1f}"


def el(tag: str, inner: str = "", **attrs: object) -> str:
    """One SVG element; attribute names use ``_`` for ``-`` (``text_anchor``), values are escaped;
    ``inner`` is markup already escaped by the caller (use ``escape`` for text)."""
    parts = [tag]
    for name, value in attrs.items():
        if value is None:
            continue
        shown = _f(value) if isinstance(value, float) else str(value)
        parts.append(f'{name.rstrip("_").replace("_", "-")}="{escape(shown)}"')
    head = " ".join(parts)
    return f"<{head}>{inner}</{tag}>" if inner else f"<{head}/>"


def _tip(text: str) -> str:
    return el("title", str(escape(text)))


def _nice_ticks(lo: float, hi: float, count: int = 4) -> list[float]:
    raw = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [round(first + i * step, 10) for i in range(int((hi - first) / step) + 1)]


def _marker(shape: str, x: float, y: float, colour: str, hollow: bool, size: float = 4.0) -> str:
    paint = {"fill": "#ffffff" if hollow else colour, "stroke": colour, "stroke_width": "1.6"}
    if shape == "circle":
        return el("circle", cx=x, cy=y, r=float(size), **paint)
    if shape == "square":
        s = size * 0.9
        return el("rect", x=x - s, y=y - s, width=2 * s, height=2 * s, **paint)
    corners: tuple[tuple[float, float], ...]
    if shape == "diamond":
        s = size * 1.25
        corners = ((x, y - s), (x + s, y), (x, y + s), (x - s, y))
    else:  # triangle
        s = size * 1.3
        corners = ((x, y - s), (x + s, y + s * 0.8), (x - s, y + s * 0.8))
    return el("path", d="M" + "L".join(f"{_f(a)} {_f(b)}" for a, b in corners) + "Z", **paint)


def _axis(scale: TimeScale, y_top: float, y_bottom: float) -> list[str]:
    out = [el("line", class_="axis", x1=LEFT, y1=y_bottom, x2=WIDTH - RIGHT, y2=y_bottom)]
    for when, label in scale.ticks():
        x = scale.x(when)
        out.append(el("line", class_="grid", x1=x, y1=y_top, x2=x, y2=y_bottom))
        out.append(el("text", str(escape(label)), class_="tick", x=x, y=y_bottom + 14, text_anchor="middle"))
    return out


def _open(svg_id: str, height: float, title: str, desc: str) -> list[str]:
    head = el(
        "svg",
        "",
        class_="chart",
        id=f"{svg_id}-svg",
        viewBox=f"0 0 {WIDTH} {_f(height)}",
        role="img",
        aria_labelledby=f"{svg_id}-t {svg_id}-d",
        xmlns="http://www.w3.org/2000/svg",
    )
    return [
        head[:-2] + ">",  # opened here, closed by the caller
        el("title", str(escape(title)), id=f"{svg_id}-t"),
        el("desc", str(escape(desc)), id=f"{svg_id}-d"),
    ]


def chart_svg(chart: Chart, scale: TimeScale) -> Markup:
    height = CHART_HEIGHT
    y0, y1 = TOP, height - BOTTOM
    x0, x1 = LEFT, WIDTH - RIGHT
    values = [p.value for s in chart.series for p in s.points] + [line.value for line in chart.lines]
    if chart.y_range:
        lo, hi = chart.y_range
    elif values:
        lo, hi = min(values), max(values)
        pad = (hi - lo) * 0.12 or max(abs(hi) * 0.1, 0.5)
        lo, hi = lo - pad, hi + pad
    else:
        lo, hi = 0.0, 1.0

    def y(v: float) -> float:
        return y1 - (v - lo) / (hi - lo) * (y1 - y0)

    out = _open(chart.id, height, chart.title, chart.description)
    out.append(el("rect", class_="plot", x=x0, y=y0, width=x1 - x0, height=y1 - y0))
    for band in chart.bands:
        top, bottom = min(hi, band.high), max(lo, band.low)
        if top <= bottom:
            continue
        colour, alpha = BAND_FILL[band.tone]
        box = {"x": x0, "y": y(top), "width": x1 - x0, "height": y(bottom) - y(top)}
        out.append(
            el(
                "rect",
                _tip(band.label),
                class_=f"band band-{band.tone}",
                fill=colour,
                fill_opacity=str(alpha),
                **box,
            )
        )
        out.append(
            el("text", str(escape(band.label)), class_="band-label", x=x1 + 4, y=(y(top) + y(bottom)) / 2 + 4)
        )
    for tick in _nice_ticks(lo, hi):
        out.append(el("line", class_="grid", x1=x0, y1=y(tick), x2=x1, y2=y(tick)))
        label = f"{tick:g}".replace("-", "−")
        out.append(el("text", str(escape(label)), class_="tick", x=x0 - 6, y=y(tick) + 4, text_anchor="end"))
    out += _axis(scale, y0, y1)
    out.append(el("text", str(escape(chart.unit)), class_="unit", x=x0 - 6, y=y0 - 8, text_anchor="end"))
    for line in chart.lines:
        if not lo <= line.value <= hi:
            continue
        cls = "ref-threshold" if line.kind == "threshold" else "ref-reference"
        out.append(el("line", _tip(line.label), class_=cls, x1=x0, y1=y(line.value), x2=x1, y2=y(line.value)))
        label = str(escape(line.label))
        out.append(el("text", label, class_=f"ref-label {cls}-label", x=x1 + 4, y=y(line.value) + 4))
    legend_x = float(x0)
    for series in chart.series:
        colour, shape, dash = SLOTS[series.style % len(SLOTS)]
        pts = [(scale.x(p.when), y(p.value), p) for p in series.points]
        if len(pts) > 1:
            path = " ".join(f"{'M' if i == 0 else 'L'}{_f(px)} {_f(py)}" for i, (px, py, _) in enumerate(pts))
            out.append(el("path", class_="series-line", d=path, stroke=colour, stroke_dasharray=dash or None))
        for px, py, p in pts:
            tip = _tip(f"{p.when.isoformat()}: {series.name} {p.text}")
            out.append(
                el(
                    "g",
                    tip + _marker(shape, px, py, colour, p.hollow),
                    class_="point",
                    data_series=series.name,
                )
            )
        if series.points:
            out.append(_marker(shape, legend_x + 5, 10, colour, False, 3.5))
            out.append(el("text", str(escape(series.name)), class_="legend", x=legend_x + 13, y=14.0))
            legend_x += 22 + 6.2 * len(series.name)
    if not chart.has_data:
        empty = str(escape(chart.empty or "no data"))
        out.append(el("text", empty, class_="empty", x=(x0 + x1) / 2, y=(y0 + y1) / 2, text_anchor="middle"))
    out.append("</svg>")
    return Markup("".join(out))


TIMELINE_ROWS = (
    ("imaging", "Spine imaging"),
    ("fracture", "Fractures"),
    ("glucocorticoid", "Glucocorticoids"),
    ("bone-therapy", "Bone therapy"),
)
ROW_HEIGHT = 26
EVENT_STYLE = {
    "imaging-normal": ("circle", GREEN, True),
    "imaging-vf": ("triangle", VERMILLION, False),
    "fracture-low": ("square", VERMILLION, False),
    "fracture-trauma": ("square", BLACK, True),
    "fracture-unconfirmed": ("diamond", BLACK, True),
}
EPISODE_COLOUR = {"glucocorticoid": ORANGE, "bone-therapy": BLUE}


def timeline_svg(line: Timeline, scale: TimeScale) -> Markup:
    top = 6
    height = top + ROW_HEIGHT * len(TIMELINE_ROWS) + BOTTOM
    y_bottom = height - BOTTOM
    x0, x1 = LEFT, WIDTH - RIGHT
    row_y = {key: top + ROW_HEIGHT * i + ROW_HEIGHT / 2 for i, (key, _) in enumerate(TIMELINE_ROWS)}
    title = "Time line: spine imaging, fractures, glucocorticoids, bone therapy"
    out = _open("timeline", height, title, line.description)
    out.append(el("rect", class_="plot", x=x0, y=top, width=x1 - x0, height=y_bottom - top))
    out += _axis(scale, top, y_bottom)
    for key, label in TIMELINE_ROWS:
        out.append(el("text", label, class_="row-label", x=x0 - 6, y=row_y[key] + 4, text_anchor="end"))
    for ep in line.episodes:
        a, b = scale.x(ep.start), scale.x(ep.end)
        yc = row_y[ep.row]
        colour = EPISODE_COLOUR[ep.row]
        bar = el(
            "rect",
            x=a,
            y=yc - 7,
            width=max(3.0, b - a),
            height="14",
            rx="3",
            fill=colour,
            fill_opacity="0.85" if ep.ongoing else "0.5",
            stroke=colour,
        )
        out.append(el("g", _tip(ep.text) + bar, class_=f"episode episode-{ep.row}"))
        name = ep.text.split(" from ")[0]
        width = 5.6 * len(name) + 8
        if b - a > width:  # inside the bar
            ink = "#ffffff" if ep.row == "bone-therapy" else "#000000"
            out.append(el("text", str(escape(name)), class_="episode-label", x=a + 4, y=yc + 4, fill=ink))
        elif a - x0 > width:  # before it
            label = str(escape(name))
            out.append(el("text", label, class_="episode-label", x=a - 4, y=yc + 4, text_anchor="end"))
    for ev in line.events:
        shape, colour, hollow = EVENT_STYLE[ev.kind]
        mark = _marker(shape, scale.x(ev.when), row_y[ev.row], colour, hollow, 5)
        out.append(el("g", _tip(f"{ev.when.isoformat()}: {ev.text}") + mark, class_=f"event event-{ev.kind}"))
    if not line.events and not line.episodes:
        note = "no spine imaging, fracture or treatment episode recorded"
        out.append(
            el("text", note, class_="empty", x=(x0 + x1) / 2, y=y_bottom / 2 + 4, text_anchor="middle")
        )
    out.append("</svg>")
    return Markup("".join(out))
