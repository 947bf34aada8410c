"""The clinic's report: per topic and rule set, cards issued, withheld, accepted, overridden (by
reason) and the acceptance rate, as an aligned text table or CSV.

Each card counts once, with its latest outcome (a card overridden then accepted counts as accepted).
The acceptance rate is accepted / issued (shown cards; ignored cards are never reported by EHRs).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from service.feedback import OVERRIDE_REASON_SYSTEM
from service.feedback.store import ReportRow

NO_REASON = "(no reason)"


@dataclass
class Line:
    topic: str
    rules: str
    issued: int = 0
    withheld: int = 0
    accepted: int = 0
    overridden: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)

    @property
    def acceptance_rate(self) -> float | None:
        return self.accepted / self.issued if self.issued else None


def reason_label(system: str | None, code: str | None) -> str:
    if code is None:
        return NO_REASON
    return code if system in (None, OVERRIDE_REASON_SYSTEM) else f"{system}|{code}"


def build(rows: Iterable[ReportRow]) -> list[Line]:
    """Lines sorted by topic and rule set, then a TOTAL line."""
    lines: dict[tuple[str, str], Line] = {}
    total = Line("TOTAL", "")
    for row in rows:
        rules = row.rule_ids.replace(",", "+")
        line = lines.setdefault((row.topic, rules), Line(row.topic, rules))
        for target in (line, total):
            if row.suppressed:
                target.withheld += 1
                continue
            target.issued += 1
            if row.outcome == "accepted":
                target.accepted += 1
            elif row.outcome == "overridden":
                target.overridden += 1
                target.by_reason[reason_label(row.reason_system, row.reason_code)] += 1
    return [lines[key] for key in sorted(lines)] + [total]


def _rate(line: Line) -> str:
    rate = line.acceptance_rate
    return "" if rate is None else f"{100 * rate:.1f}%"


def _reasons(lines: list[Line]) -> list[str]:
    return sorted({reason for line in lines for reason in line.by_reason})


def as_csv(lines: list[Line]) -> str:
    reasons = _reasons(lines)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "topic",
            "rules",
            "issued",
            "withheld",
            "accepted",
            "overridden",
            *[f"overridden:{r}" for r in reasons],
            "acceptance_rate",
        ]
    )
    for line in lines:
        rate = line.acceptance_rate
        writer.writerow(
            [
                line.topic,
                line.rules,
                line.issued,
                line.withheld,
                line.accepted,
                line.overridden,
                *[line.by_reason.get(r, 0) for r in reasons],
                "" if rate is None else f"{rate:.4f}",
            ]
        )
    return out.getvalue()


def as_text(lines: list[Line], period: str) -> str:
    header = [
        "Topic",
        "Rules",
        "Issued",
        "Withheld",
        "Accepted",
        "Overridden",
        "Override reasons",
        "Acceptance",
    ]
    table = [header] + [
        [
            line.topic,
            line.rules,
            str(line.issued),
            str(line.withheld),
            str(line.accepted),
            str(line.overridden),
            ", ".join(f"{r} {n}" for r, n in sorted(line.by_reason.items())) or "-",
            _rate(line) or "-",
        ]
        for line in lines
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    rendered = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in table
    ]
    rendered.insert(1, "  ".join("-" * w for w in widths))
    note = "Withheld: not shown because overridden earlier for the same patient with unchanged evidence."
    return f"Card feedback report, cards issued {period}\n\n" + "\n".join(rendered) + f"\n\n{note}\n"
