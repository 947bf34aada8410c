"""Simple Observations (one Quantity, no component) are read with a recipe shared by those with the same
code, text and unit: the result must be exactly what the long way gives, for every Observation of the
fixture kit, the EHR-shape corpus and generated variations, whatever was read before in the same call."""

from __future__ import annotations

import json
import random
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from service.fhir import observations
from service.fhir.intake import Intake
from service.fixtures.render import load_scenarios, render_scenario
from service.knowledge import default_knowledge
from tests.conftest import DATA

TODAY = date(2026, 11, 21)
TERMS = Intake("p", default_knowledge(), TODAY).terms
BELOW = {}


def _observations() -> list[dict]:
    found: list[dict] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("resourceType") == "Observation":
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for scenario in load_scenarios():
        walk(render_scenario(scenario, TODAY)["bundle"])
    for path in sorted((DATA / "ehr-shapes").glob("*.json")):
        walk(json.loads(path.read_text()))
    return found


CORPUS = _observations()


def _long(obs: dict) -> tuple:
    return observations.measurements(obs, "Observation/x", TERMS, BELOW)


def _shared(obs: dict, recipes: observations.Recipes) -> tuple:
    return observations.measurements(obs, "Observation/x", TERMS, BELOW, recipes)


def test_the_corpus_reads_the_same_with_shared_recipes_in_any_order() -> None:
    assert len(CORPUS) > 200
    for seed in range(3):
        order = CORPUS[:]
        random.Random(seed).shuffle(order)
        recipes: observations.Recipes = {}
        for obs in order:
            assert _shared(obs, recipes) == _long(obs), obs.get("id")
    assert recipes  # the shared path was taken


UNITS = [
    ("kg", "http://unitsofmeasure.org"),
    ("[lb_av]", "http://unitsofmeasure.org"),
    ("lbs", None),
    ("g", "http://unitsofmeasure.org"),
    ("kilos", None),
    ("%", "http://unitsofmeasure.org"),
    ("L", "http://unitsofmeasure.org"),
    ("mL", "http://unitsofmeasure.org"),
    ("{SD}", None),
    ("ng/mL", "http://unitsofmeasure.org"),
    ("nmol/L", "http://unitsofmeasure.org"),
    (None, None),
]
CODES = ["29463-7", "8302-2", "19868-9", "19870-5", "85394-5", "80933-5", "62292-8", "39156-5", "9999-9"]
TEXTS = [None, "usual weight", "HAZ", "estimated from ulna length", "left hip"]


@settings(max_examples=400, deadline=None)
@given(
    code=st.sampled_from(CODES),
    unit=st.sampled_from(UNITS),
    value=st.one_of(
        st.floats(-50, 500, allow_nan=False),
        st.integers(-5, 300),
        st.booleans(),
        st.text(max_size=3),
        st.none(),
    ),
    comparator=st.sampled_from([None, "<", ">=", "ad", "~"]),
    note=st.sampled_from(TEXTS),
    status=st.sampled_from(["final", "preliminary", "amended"]),
    earlier=st.lists(
        st.tuples(st.integers(0, 300), st.sampled_from(TEXTS), st.sampled_from(UNITS)), max_size=6
    ),
)
def test_generated_observations_read_the_same(code, unit, value, comparator, note, status, earlier) -> None:
    quantity = {
        k: v
        for k, v in {"value": value, "comparator": comparator, "code": unit[0], "system": unit[1]}.items()
        if v is not None
    }
    obs = {
        "resourceType": "Observation",
        "status": status,
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "effectiveDateTime": "2026-01-02",
        "valueQuantity": quantity,
    }
    if note:
        obs["note"] = [{"text": note}]
    recipes: observations.Recipes = {}
    for n, other_note, other_unit in earlier:  # the memo filled first by neighbours of this Observation
        unit_code = other_unit[0] if other_unit else unit[0]  # mostly this Observation's own unit
        neighbour = {**obs, "valueQuantity": {**quantity, "value": n, "code": unit_code}}
        neighbour["note"] = [{"text": other_note}] if other_note else []
        _shared(neighbour, recipes)
    assert _shared(obs, recipes) == _long(obs)
