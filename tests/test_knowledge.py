"""The knowledge files and a site's file: valid ones load; a bad one refuses start-up naming the file,
the key and the problem; a site's thresholds and local codes take effect."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from service.app import create_app
from service.config import ConfigError
from service.knowledge import KnowledgeError, default_knowledge, load_knowledge
from service.knowledge.load import HERE

LOINC = "http://loinc.org"
LOCAL = "https://ehr.example.org/codes"


@pytest.mark.parametrize(
    "content, names",
    [
        ({"thresholds": {"bone.no_such_interval": 3}}, "thresholds/bone.no_such_interval"),
        ({"thresholds": {"nutrition.weight_loss_warning_pct": "five"}}, "nutrition.weight_loss_warning_pct"),
        ({"threshold": {}}, "threshold"),
        ({"thresholds": {"bone.z_low_sd": {"2027-13-01": -2}}}, "bone.z_low_sd"),
        (
            {
                "local_codes": [
                    {"system": LOCAL, "code": "WT", "same_as": {"system": "loinc", "code": "0000-0"}}
                ]
            },
            "WT",
        ),
        ({"local_codes": [{"system": LOCAL, "code": "X", "valueset": "no-such-set"}]}, "no-such-set"),
        (
            {
                "local_codes": [
                    {
                        "system": LOCAL,
                        "code": "X",
                        "valueset": "body-measurements",
                        "attributes": {"concept": "weightt"},
                    }
                ]
            },
            "concept",
        ),
        ("{not json", "not valid JSON"),
    ],
)
def test_bad_site_file_refuses_to_start_naming_file_and_key(tmp_path, settings, content, names):
    path = tmp_path / "site.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(ConfigError) as err:  # start-up refused, one line naming the setting, file and key
        create_app(settings.with_(site_file=str(path)))
    (line,) = err.value.lines()
    assert line.startswith("configuration error: NMD_CDS_SITE_FILE: ")
    assert names in line and str(path) in line


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "knowledge"
    shutil.copytree(HERE, root, ignore=shutil.ignore_patterns("*.py", "__pycache__", "schemas"))
    return root


@pytest.mark.parametrize(
    "file, old, new, names",
    [
        (
            "thresholds/bone.yaml",
            "cites: [iscd_pediatric, iscd_adult]",
            "cites: [iscd_paediatric]",
            "bone.yaml",
        ),
        ("thresholds/bone.yaml", "age_dxa_min_years:", "age_dxa_minimum_years:", "age_dxa_min_years"),
        ("thresholds/respiratory.yaml", "values: {2025-01-01: 1.1}", "values: {2025-01-01: one}", "vc_low_l"),
        ("valuesets/observations.yaml", "concept: weight,", "concept: wieght,", "body-measurements"),
        ("valuesets/conditions.yaml", "disorder: dmd,", "disease: dmd,", "disease"),
        ("rules.yaml", "{bone.si_gc_info_months}", "{bone.si_gc_info}", "SI-02"),
        ("rules.yaml", "topic: vitamin-d\n", "topic: vitamins\n", "VD-01"),
        ("citations.yaml", "url: https://doi.org/10.1155/2015/928385", "url: doi.org/x", "buckner_2015"),
    ],
)
def test_bad_knowledge_file_refuses_to_load_naming_file_and_key(tmp_path, file, old, new, names):
    root = _copy(tmp_path)
    text = (root / file).read_text()
    assert old in text, f"the test's anchor {old!r} moved"
    (root / file).write_text(text.replace(old, new, 1))
    with pytest.raises(KnowledgeError) as err:
        load_knowledge(None, root)
    assert names in str(err.value) and Path(file).name in str(err.value)


def test_the_knowledge_files_load_and_every_threshold_has_unit_sources_and_a_value():
    k = default_knowledge()
    assert len(k.catalogue.rules) >= 40 and len(k.specs) >= 100
    for spec in k.specs.values():
        assert spec.unit and spec.citations and spec.description and spec.values


def test_a_plain_override_replaces_the_value_at_every_date_and_is_marked(tmp_path):
    path = tmp_path / "site.yaml"
    path.write_text("comment: signed off 2026-11\nthresholds:\n  nutrition.weight_loss_warning_pct: 4.5\n")
    k = load_knowledge(path)
    for when in (date(2019, 1, 1), date(2026, 11, 21)):
        t = k.thresholds(when).nutrition.weight_loss_warning_pct
        assert t.value == Decimal("4.5") and t.overridden and t.text == "4.5 %"
    assert not default_knowledge().thresholds(date(2026, 11, 21)).nutrition.weight_loss_warning_pct.overridden


def test_dated_override_takes_effect_from_its_date(tmp_path):
    path = tmp_path / "site.json"
    path.write_text(json.dumps({"thresholds": {"bone.si_gc_info_months": {"2027-01-01": 18}}}))
    k = load_knowledge(path)
    assert k.thresholds(date(2026, 12, 31)).bone.si_gc_info_months == 12
    assert k.thresholds(date(2027, 1, 1)).bone.si_gc_info_months == 18


@pytest.mark.parametrize(
    "entry, valueset, attrs",
    [
        ({"same_as": {"system": "loinc", "code": "29463-7"}}, "body-measurements", {"concept": "weight"}),
        (
            {"same_as": {"system": LOINC, "code": "85394-5"}},
            "dxa",
            {"concept": "z_score", "site": "lumbar_spine"},
        ),
        (
            {"valueset": "body-measurements", "attributes": {"concept": "usual_weight"}},
            "body-measurements",
            {"concept": "usual_weight"},
        ),
        (
            {"same_as": {"system": "snomed", "code": "76670001"}},
            "neuromuscular-disorders",
            {"disorder": "dmd"},
        ),
    ],
)
def test_local_code_joins_the_value_sets_of_its_meaning(tmp_path, entry, valueset, attrs):
    path = tmp_path / "site.json"
    path.write_text(
        json.dumps({"local_codes": [{"system": LOCAL, "code": "L1", "display": "local", **entry}]})
    )
    k = load_knowledge(path)
    code = k.vocabulary.lookup(valueset, LOCAL, "L1")
    assert code is not None and dict(code.attrs) == attrs and code.status == "local"
    assert default_knowledge().vocabulary.lookup(valueset, LOCAL, "L1") is None


@pytest.mark.parametrize(
    "system, code, disorder",
    [
        ("http://hl7.org/fhir/sid/icd-10-cm", "G71.11", "myotonic"),  # myotonic dystrophy, by hierarchy
        ("http://hl7.org/fhir/sid/icd-10-cm", "G7111", "myotonic"),  # written without its dot
        ("http://hl7.org/fhir/sid/icd-10", "G12.21", "als"),  # WHO ICD-10 URI: the same system
        ("http://hl7.org/fhir/sid/icd-10-cm", "G12.23", "als"),  # primary lateral sclerosis: MND family
        ("http://hl7.org/fhir/sid/icd-10-cm", "G71.01", "dmd"),  # the longest matching code wins
        ("http://hl7.org/fhir/sid/icd-10-cm", "G72.41", "myopathy"),  # inclusion body myositis
        ("http://hl7.org/fhir/sid/icd-10-cm", "G71.2", "myopathy"),  # congenital myopathies
        ("http://snomed.info/sct", "37340000", "als"),  # motor neuron disease
        ("http://hl7.org/fhir/sid/icd-10-cm", "G72.0", None),  # drug-induced myopathy: not in the gate
        ("http://hl7.org/fhir/sid/icd-10-cm", "G7", None),
    ],
)
def test_population_gate_by_hierarchy(system, code, disorder):
    found = default_knowledge().vocabulary.lookup("neuromuscular-disorders", system, code)
    assert (found.get("disorder") if found else None) == disorder


def test_cli_reports_a_bad_file_without_a_traceback(tmp_path):
    path = tmp_path / "site.json"
    path.write_text(json.dumps({"thresholds": {"bone.unknown": 1}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("NMD_CDS_")}
    env["NMD_CDS_SITE_FILE"] = str(path)
    done = subprocess.run(
        [sys.executable, "-m", "service", "thresholds", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "bone.unknown" in done.stderr and "Traceback" not in done.stderr
