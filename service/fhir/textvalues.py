"""Results sent as text (``valueString``, or the text of a ``valueCodeableConcept``), read conservatively
(as VD-04 reads a bound).

Only one shape is a value: an optional comparator, one number, an optional unit, nothing else —
"<10 ng/mL", "less than 10", "≤ 7.5 nmol/l", "-2.6", "176 lbs". The unit goes through the same
table as a Quantity's (aliases recorded). Anything else ("10-20", "10 (low)", "see report", "1,5") is
not a value and is dropped with a reason. A phrase meaning "below the detection limit" (value set
``below-detection``) is a bound when the caller supplies one for the concept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORDS = {
    "<": "<",
    "<=": "<=",
    "≤": "<=",
    ">": ">",
    ">=": ">=",
    "≥": ">=",
    "less than or equal to": "<=",
    "less than": "<",
    "lower than": "<",
    "below": "<",
    "under": "<",
    "greater than or equal to": ">=",
    "greater than": ">",
    "more than": ">",
    "higher than": ">",
    "above": ">",
}
_CMP = "|".join(re.escape(w) for w in sorted(_WORDS, key=len, reverse=True))
_VALUE = re.compile(rf"^(?P<cmp>{_CMP})?\s*(?P<num>[-+−]?\d+(?:\.\d+)?)\s*(?P<unit>\S.*)?$", re.IGNORECASE)


@dataclass(frozen=True)
class TextValue:
    comparator: str | None
    value: float
    unit: str | None  # as written, not yet resolved (None: no unit)


def parse(text: str) -> TextValue | None:
    """The value of a text result, or None when the text is not comparator-number-unit. The unit keeps
    its case (units are case-sensitive: "mL" and "ML" differ) and is resolved by the caller."""
    t = " ".join(text.split()) if isinstance(text, str) else ""
    if not t or len(t) > 60:
        return None
    m = _VALUE.match(t)
    if m is None:
        return None
    comparator = _WORDS[m["cmp"].lower()] if m["cmp"] else None
    return TextValue(comparator, float(m["num"].replace("−", "-")), m["unit"])
