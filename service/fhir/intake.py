"""Admission and dispatch of raw resources: garbage, other patients, duplicates, superseded versions,
status and code pre-filters, then fhir.resources (R4B) validation of the survivors only.

Every resource ends either in ``used`` (it contributed to the summary) or in ``dropped`` with a reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import orjson
from fhir.resources.R4B import get_fhir_model_class

from service.fhir import conditions, fractures, imaging, medications, observations
from service.fhir.answers import presence
from service.fhir.conditions import ConditionFacts
from service.fhir.episodes import Exposure
from service.fhir.fastvalid import fast_valid
from service.fhir.fhirjson import (
    as_dict,
    as_list,
    codes_of,
    codings,
    concept_text,
    effective_date,
    parse_date,
    ref_id,
    reference,
    text,
)
from service.fhir.imaging import View
from service.fhir.links import Item, link
from service.fhir.summary import (
    ClinicalFinding,
    Concept,
    Dropped,
    Fracture,
    Measurement,
    Order,
    SpineImaging,
    Symptom,
)
from service.fhir.terms import Terms, terms_of
from service.fhir.whose import ANOTHER_PATIENT, Whose, target
from service.knowledge import Knowledge

HANDLED = {
    "Patient",
    "Observation",
    "Condition",
    "DiagnosticReport",
    "ImagingStudy",
    "Procedure",
    "ServiceRequest",
    "CarePlan",
    "Medication",
    "Device",
    "DeviceUseStatement",
    *medications.MED_TYPES,
}
_OBS_DEAD = {"entered-in-error", "cancelled"}  # ignore
# Observation status handling: which statuses carry a usable value.
OBSERVATION_USABLE_STATUS = frozenset({"final", "amended", "corrected", "preliminary"})
# Resources outside the service's scope are not "dropped" data: PatientSummary.dropped would drown in
# them (a patient has thousands of unrelated Observations); they are only counted (``Intake.ignored``).
OUT_OF_SCOPE = frozenset(
    {
        "resource type not used",
        "code not used",
        "medication not used",
        "care plan not used",
        "medication not referenced",
        "device not used",
        "external cause without a fracture",
    }
)
# Reasons that mean "no value set knows this resource's code": its codes are counted in
# ``Intake.unrecognised`` (the explain report lists what a site may want to map).
UNRECOGNISED = frozenset({"code not used", "medication not used"})
FUTURE = "dated in the future"
DONE = "\0already dropped"  # a reader's answer when it recorded its own Dropped entries
# (vertebral-fracture observation, measurement candidate, symptom finding, non-ambulatory status)
ObsKind = tuple[bool, bool, Symptom | None, bool]
_VERSIONED = {"Observation", "DiagnosticReport", "Condition"}  # amended versions share an identifier


@dataclass
class Facts:
    patient_id: str | None = None
    birth_date: date | None = None
    sex: str | None = None
    deceased: bool = False
    measurements: list[Measurement] = field(default_factory=list)
    fractures: list[Fracture] = field(default_factory=list)
    exposures: list[Exposure] = field(default_factory=list)
    imaging: list[SpineImaging] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    conditions: ConditionFacts = field(default_factory=ConditionFacts)
    weight_plan: bool = False
    spine_views: list[View] = field(default_factory=list)  # half-spine films, paired later


def _add_imaging(facts: Facts, found: list[imaging.Found]) -> None:
    for f in found:
        (facts.spine_views if isinstance(f, imaging.View) else facts.imaging).append(f)  # type: ignore[arg-type]


def _maybe_useful(obs: dict, terms: Terms) -> bool:
    """True unless this Observation certainly holds nothing the service reads (a few set lookups on
    the bare codes of the value sets, built once per knowledge; or a phrase in code.text)."""
    known = terms.observation_codes
    for key in ("code", "valueCodeableConcept"):
        if not known.isdisjoint(codes_of(obs.get(key))):
            return True
    for comp in as_list(obs.get("component")):
        if not known.isdisjoint(codes_of(as_dict(comp).get("code"))):
            return True
    words = concept_text(obs.get("code"))
    return any(t in words for t in terms.observation_text)


_NOT_READ = frozenset(
    {
        "text",
        "meta",
        "encounter",
        "performer",
        "referenceRange",
        "derivedFrom",
        "hasMember",
        "specimen",
        "device",
        "basedOn",
        "partOf",
        "extension",
    }
)


_UNKNOWN_TEXT = ("unknown", "not assessed", "not asked", "unable to assess", "declined")


def _asserts_finding(obs: dict, terms: Terms) -> bool:
    """Whether a symptom / mobility Observation says the patient has the finding.

    Negations ("Unable to walk: No", valueBoolean false, "absent", normal interpretation, a zero
    score), unknown answers and a dataAbsentReason do not. Choice: an Observation whose code is the
    finding itself and that has no value at all asserts it, exactly as a Condition with that code
    does (the existing reading of Condition-like findings); a value that is neither yes nor no (e.g.
    a severity "moderate", or the finding coded as the value) asserts it too.
    """
    present = presence(obs, terms)
    if present is not None:
        return present
    if "dataAbsentReason" in obs:  # no answer
        return False
    value = obs.get("valueCodeableConcept", obs.get("valueString"))
    words = concept_text(value) if isinstance(value, dict) else text(value).lower()
    if any(t in words for t in _UNKNOWN_TEXT):
        return False
    quantity = as_dict(obs.get("valueQuantity")).get("value", obs.get("valueInteger"))
    if isinstance(quantity, int | float) and not isinstance(quantity, bool):
        return quantity > 0  # a pain score of 0 is no pain
    return True


def _version_key(res: dict) -> tuple:
    """Later versions sort higher: meta.versionId (numeric), meta.lastUpdated, issued, amended status."""
    meta = as_dict(res.get("meta"))
    vid = text(meta.get("versionId"))
    return (
        int(vid) if vid.isdigit() else -1,
        text(meta.get("lastUpdated")),
        text(res.get("issued")) or text(res.get("recordedDate")),
        res.get("status") in ("amended", "corrected"),
    )


class Intake:
    """One patient's resources as of ``today``, read with the value sets and thresholds of ``knowledge``."""

    def __init__(self, patient_id: str | None, knowledge: Knowledge, today: date):
        self.patient_id = patient_id
        self.today = today
        self.terms = terms_of(knowledge)
        th = knowledge.thresholds(today)
        self.genant_min_grade = th.bone.genant_min_grade
        # VD-04: a 25-OH D "below detection" with no number is below the deficiency cut-off
        self.below_detection = {Concept.VITAMIN_D_25OH: float(th.bone.vitd_deficient_ng_ml)}
        self.dropped: list[Dropped] = []
        self.ignored: Counter[str] = Counter()
        self.unrecognised: Counter[tuple[str, str, str]] = Counter()  # (system, code, display)
        self.used: set[str] = set()
        self._pending: list[Item] = []  # admitted, not yet checked for ownership and duplicates
        self._containers: dict[str, list[str]] = {}  # panel / report source → its results' sources
        self._deferred: list[tuple[dict, str, str, dict]] = []  # containers not used themselves
        self._known: dict[tuple[str, str], bool] = {}  # (system, code) → in some value set, this call
        self._unknown: dict[bytes, list[tuple[str, str, str]]] = {}  # Observation code → its unknown codings
        self._kept: dict[str, tuple[dict, str]] = {}  # key → (resource, source)
        self._med_refs: set[str] = set()  # ids of Medication resources used through a reference
        self._devices: dict[str, dict] = {}  # Device resources by id, for DeviceUseStatement.device
        self._causes: list[fractures.Cause] = []  # external-cause Conditions
        self._cause_sources: set[str] = set()
        self._causes_used: set[str] = set()
        self._kinds: dict[bytes, ObsKind | None] = {}  # Observation code (JSON) → _obs_kind, this call only
        self._recipes: observations.Recipes = {}  # simple Observations' shared reading, this call only

    def drop(self, source: str, reason: str) -> None:
        if reason in OUT_OF_SCOPE:  # not the service's data: counted, not reported as dropped
            self.ignored[reason] += 1
        else:
            self.dropped.append(Dropped(source, reason))

    def admit(self, raw: object, index: int) -> None:
        """Garbage out; a Bundle's entries admitted with their fullUrl (a Bundle in a Bundle too)."""
        try:
            self._admit(raw, str(index), None, 0)
        except Exception:  # a bug safety net, as in read_all
            self.drop(f"input/#{index}", "unreadable resource")

    def _admit(self, raw: object, where: str, url: str | None, depth: int) -> None:
        if not isinstance(raw, dict):
            return self.drop(f"input/#{where}", "not a JSON object")
        rtype = raw.get("resourceType")
        if not isinstance(rtype, str) or not rtype:
            return self.drop(f"input/#{where}", "no resourceType")
        if rtype == "Bundle" and depth < 2:
            for n, entry in enumerate(as_list(raw.get("entry"))):
                entry = as_dict(entry)
                res = entry.get("resource")
                if as_dict(entry.get("search")).get("mode") == "outcome" or not isinstance(res, dict):
                    continue  # an OperationOutcome about the search, or no resource
                self._admit(res, f"{where}.{n}", text(entry.get("fullUrl")) or None, depth + 1)
            return None
        rid = raw.get("id")
        source = f"{rtype}/{rid}" if isinstance(rid, str) and rid else f"{rtype}/#{where}"
        if rtype not in HANDLED:
            return self.drop(source, "resource type not used")
        self._pending.append(Item(raw, source, url))
        return None

    def _settle(self) -> list[tuple[dict, str]]:
        """Ownership (whose data), results attached to their panels and reports, then duplicates and
        superseded versions out: the resources to read, each once."""
        linked = link(self._pending)
        self._containers = linked.parents
        whose = Whose(self.patient_id, ((i.res, i.url) for i in linked.items)) if self.patient_id else None
        for item in linked.items:
            reason = whose.reason(item.res, item.parent) if whose else None
            if reason is None and item.parent is not None and item.parent.get("status") in _OBS_DEAD:
                reason = f"in a panel or report {item.parent.get('status')}"
            if reason is not None:
                self.drop(item.source, reason)
            else:
                self._keep(item.res, item.source)
        for parent, _ref in linked.missing:
            if self._follows(parent.res) and (whose is None or whose.reason(parent.res) is None):
                self.drop(parent.source, "result not in the request")
        unique: dict[int, tuple[dict, str]] = {id(r): (r, s) for r, s in self._kept.values()}
        return list(unique.values())

    def missing(self) -> list[str]:
        """ "Observation/<id>" and "Medication/<id>" the patient's followed panels / reports and
        medication records refer to but the request lacks (for the prefetch layer to fetch)."""
        linked = link(self._pending)
        whose = Whose(self.patient_id, ((i.res, i.url) for i in linked.items)) if self.patient_id else None
        out: dict[str, None] = {}
        for parent, ref in linked.missing:
            found = target(ref)
            if found and found[0] == "Observation" and self._follows(parent.res):
                if whose is None or whose.reason(parent.res) is None:
                    out[f"Observation/{found[1]}"] = None
        have = {text(i.res.get("id")) for i in linked.items if i.res.get("resourceType") == "Medication"}
        for item in linked.items:
            if item.res.get("resourceType") not in medications.MED_TYPES:
                continue
            found = target(reference(item.res.get("medicationReference")))
            if found and found[0] == "Medication" and found[1] not in have:
                if whose is None or whose.reason(item.res) is None:
                    out[f"Medication/{found[1]}"] = None
        return list(out)

    def _follows(self, res: dict) -> bool:
        """A panel or report whose members / results the service reads (value sets ``result-panels``
        and ``dxa-report``): a reference it holds that the request lacks is reported."""
        return self.terms.find(res.get("code"), self.terms.result_panels, self.terms.dxa_report) is not None

    def _keep(self, raw: dict, source: str) -> None:
        """The latest version of each resource is kept (meta.versionId, lastUpdated, identifier)."""
        rtype = raw["resourceType"]
        keys = [source]
        if rtype in _VERSIONED:
            for ident in as_list(raw.get("identifier")):
                ident = as_dict(ident)
                if isinstance(ident.get("value"), str):
                    keys.append(f"{rtype}|{text(ident.get('system'))}|{ident['value']}")
        for key in keys:
            if key in self._kept:
                old, old_source = self._kept[key]
                if _version_key(raw) > _version_key(old):
                    self._forget(old)
                    self.drop(old_source, "superseded or duplicate")
                    break
                return self.drop(source, "superseded or duplicate")
        for key in keys:
            self._kept[key] = (raw, source)
        return None

    def _forget(self, old: dict) -> None:
        for k in [k for k, (r, _) in self._kept.items() if r is old]:
            del self._kept[k]

    def _cause(self, res: dict, source: str) -> fractures.Cause | None:
        """An external-cause Condition (not refuted, not itself a fracture code)."""
        if conditions.status_of(res.get("verificationStatus")) in ("refuted", "entered-in-error"):
            return None
        if fractures.classify(res.get("code"), self.terms) is not None:
            return None
        return fractures.external_cause(res, source, self.terms)

    def _future(self, when: date | None) -> bool:
        """A result dated after today (a mistyped year) is never the latest value."""
        return when is not None and when > self.today

    def _valid(self, res: dict, source: str) -> bool:
        """fhir.resources (R4B) validation of a survivor; failures are dropped, never raised.

        Elements the service never reads (narrative, meta, encounter …) are left out: a broken
        narrative must not discard a valid value, and skipping them saves ~25 % of validation time.
        """
        skip = _NOT_READ - {"device"} if res["resourceType"] == "DeviceUseStatement" else _NOT_READ
        trimmed = {k: v for k, v in res.items() if k not in skip}
        if fast_valid(trimmed):  # the same verdict, without a model per Observation (see fastvalid)
            return True
        try:
            get_fhir_model_class(res["resourceType"]).model_validate(trimmed)
        except Exception as exc:  # pydantic ValidationError and anything odd in the input
            loc = ""
            errors = getattr(exc, "errors", None)
            if callable(errors):
                try:
                    first = errors()[0].get("loc", ())
                    loc = f": {first[0]}" if first else ""
                except Exception:
                    loc = ""
            self.drop(source, f"failed FHIR validation{loc}")
            return False
        return True

    def read_all(self) -> Facts:
        facts = Facts()
        unique = self._settle()
        meds = medications.MedicationIndex()
        for res, source in unique:
            if res["resourceType"] == "Medication":
                meds.add(res)
            elif res["resourceType"] == "Condition" and (cause := self._cause(res, source)) is not None:
                self._causes.append(cause)
                self._cause_sources.add(source)
            elif res["resourceType"] == "Device" and isinstance(res.get("id"), str):
                self._devices[res["id"]] = res
        for res, source in unique:
            try:
                self._read(res, source, facts, meds.by_ref)
            except Exception:  # a bug safety net: one odd resource must not fail the request
                self.drop(source, "unreadable resource")
        facts.imaging.extend(imaging.pair_views(facts.spine_views))
        for source in self._cause_sources:  # an external-cause Condition is used by its fracture
            if source in self._causes_used:
                self.used.add(source)
            else:
                self.drop(source, "external cause without a fracture")
        for res, source, reason, by_ref in self._deferred:  # a panel or report holding a used result
            if any(child in self.used for child in self._containers[source]):
                self.used.add(source)
            else:
                if reason in UNRECOGNISED:
                    self._note_codes(res, by_ref)
                self.drop(source, reason)
        for res, source in unique:
            if res["resourceType"] == "Medication":
                if text(res.get("id")) in self._med_refs:
                    self.used.add(source)
                else:
                    self.drop(source, "medication not referenced")
        return facts

    def _read(self, res: dict, source: str, facts: Facts, meds: dict[str, dict]) -> None:
        rtype = res["resourceType"]
        reader = getattr(self, f"_read_{rtype}", None)
        if rtype == "Medication":
            return  # read through the resources that reference them
        if rtype in medications.MED_TYPES:
            reader = self._read_medication
        reason = reader(res, source, facts, meds) if reader else "resource type not used"
        if reason is None:
            self.used.add(source)
        elif reason in OUT_OF_SCOPE and source in self._containers:
            self._deferred.append((res, source, reason, meds))  # used if one of its results is
        elif reason != DONE:
            if reason in UNRECOGNISED:
                self._note_codes(res, meds)
            self.drop(source, reason)

    def _note_codes(self, res: dict, meds: dict[str, dict]) -> None:
        """Count the codes of a resource no value set knows (code, components, medication); the
        unknown codings of a simple Observation's code are worked out once per distinct code."""
        key = None
        if res["resourceType"] == "Observation" and "component" not in res:
            try:
                key = orjson.dumps(res.get("code"))
            except TypeError:
                key = None
            if key is not None and key in self._unknown:
                self.unrecognised.update(self._unknown[key])
                return
        if res["resourceType"] in medications.MED_TYPES:
            concepts = [medications.medication_concept(res, meds)]
        else:
            concepts = [res.get("code"), *(as_dict(c).get("code") for c in as_list(res.get("component")))]
        unknown = [c for concept in concepts for c in codings(concept) if not self._knows(c[0], c[1])]
        if key is not None:
            self._unknown[key] = unknown
        self.unrecognised.update(unknown)

    def _knows(self, system: str, code: str) -> bool:
        found = self._known.get((system, code))
        if found is None:
            found = self._known[(system, code)] = self.terms.knows(system, code)
        return found

    # --- per type: return a drop reason, or None when the resource was used ----------------------
    def _read_Patient(self, res: dict, source: str, facts: Facts, meds: dict) -> str | None:
        if facts.patient_id is not None and res.get("id") != facts.patient_id:
            return ANOTHER_PATIENT
        if not self._valid(res, source):
            return DONE
        facts.patient_id = text(res.get("id")) or None
        facts.birth_date = parse_date(res.get("birthDate"))
        facts.sex = res.get("gender") if res.get("gender") in ("male", "female") else None
        facts.deceased = res.get("deceasedBoolean") is True or bool(res.get("deceasedDateTime"))
        return None

    def _obs_kind(self, res: dict) -> ObsKind | None:
        """What an Observation may hold (None: certainly nothing). Memoised per distinct ``code`` for
        simple Observations (no valueCodeableConcept, no component), whose answer depends on ``code``
        alone: a long chart repeats a few dozen codes thousands of times."""
        key = None
        if "valueCodeableConcept" not in res and "component" not in res:
            try:
                key = orjson.dumps(res.get("code"))
            except TypeError:  # not JSON (a caller's odd object): classify without the memo
                key = None
            if key is not None and key in self._kinds:
                return self._kinds[key]
        kind: ObsKind | None = None
        terms = self.terms
        if _maybe_useful(res, terms):
            code, value = res.get("code"), res.get("valueCodeableConcept")
            kind = (
                fractures.is_vf_observation(res, terms),
                observations.is_candidate(res, terms),
                conditions.symptom_of(code, terms) or conditions.symptom_of(value, terms),
                conditions.is_non_ambulatory(code, terms) or conditions.is_non_ambulatory(value, terms),
            )
        if key is not None:
            self._kinds[key] = kind
        return kind

    def _read_Observation(self, res: dict, source: str, facts: Facts, meds: dict) -> str | None:
        kind = self._obs_kind(res)
        if kind is None:
            return "code not used"
        status = text(res.get("status"))
        if status not in OBSERVATION_USABLE_STATUS:
            return (
                f"status {status}" if status in _OBS_DEAD | {"registered", "unknown"} else "unusable status"
            )
        is_vf, is_measure, finding, immobile = kind
        if not (is_vf or is_measure or finding or immobile):
            return "code not used"
        when = effective_date(res)
        if self._future(when):
            return FUTURE
        if not self._valid(res, source):
            return DONE
        used = False
        if is_vf:
            found, reason = fractures.from_observation(res, source, self.terms, self.genant_min_grade)
            facts.fractures.extend(found)
            used = bool(found) or fractures.is_negation(reason)  # a negation is data
            if reason and not used:
                self.drop(source, reason)
        if is_measure:
            ms, dropped = observations.measurements(
                res, source, self.terms, self.below_detection, self._recipes, when
            )
            facts.measurements.extend(ms)
            self.dropped.extend(dropped)
            used = used or bool(ms)
        if finding or immobile:
            asserted = _asserts_finding(res, self.terms)
            if asserted:
                if finding:
                    facts.conditions.findings.append(ClinicalFinding(finding, when, source))
                if immobile:
                    facts.conditions.non_ambulatory_dates.append(when)
            if asserted or presence(res, self.terms) is False:  # as for fractures, a negation is data
                used = True
            elif not used:
                self.drop(source, "finding without a usable answer")
        return None if used else DONE

    def _read_Condition(self, res: dict, source: str, facts: Facts, meds: dict) -> str | None:
        is_fracture = fractures.classify(res.get("code"), self.terms) is not None
        if not is_fracture and source in self._cause_sources:
            return DONE  # used, or not, once every fracture has been read (read_all)
        if not (is_fracture or conditions.is_candidate(res, self.terms)):
            return "code not used"
        verification = conditions.status_of(res.get("verificationStatus"))
        if verification in ("refuted", "entered-in-error"):
            return f"verification {verification}"
        if not self._valid(res, source):
            return DONE
        fracture = fractures.from_condition(res, source, self.terms, self._causes)
        if fracture:
            facts.fractures.append(fracture)
            if fracture.cause:  # the external-cause Conditions that gave the mechanism are used
                self._causes_used.update(c.source for c in self._causes if c.code == fracture.cause)
        reason = conditions.add_condition(res, source, facts.conditions, self.terms)
        return None if fracture else reason

    def _read_DiagnosticReport(self, res: dict, source: str, facts: Facts, meds: dict) -> str | None:
        if not imaging.is_candidate(res, self.terms):
            return "code not used"
        if text(res.get("status")) in ("entered-in-error", "cancelled"):
            return f"status {res.get('status')}"
        if self._future(effective_date(res)):
            return FUTURE
        if not self._valid(res, source):
            return DONE
        found = fractures.from_report(res, source, self.terms)  # non-final reports: provisional fractures
        facts.fractures.extend(found)
        spine = imaging.from_report(res, source, bool(found), self.terms)
        if isinstance(spine, str):
            return spine
        _add_imaging(facts, spine)
        return None if (spine or found) else "code not used"

    def _read_ImagingStudy(self, res: dict, source: str, facts: Facts, meds: dict) -> str | None:
        if not imaging.is_candidate(res, self.terms):
            return "code not used"
        if self._future(parse_date(res.get("started"))):
            return FUTURE
        if not self._valid(res, source):
            return DONE
        found = imaging.from_study(res, source, self.terms)
        _add_imaging(facts, found)
        return None if found else "study not available or undated"

    def _read_Procedure(self, res: dict, source: str, facts: Facts, meds: dict) -> str | None:
        code = res.get("code")
        fusion = conditions.is_spinal_fusion(code, self.terms)
        gastrostomy = conditions.is_gastrostomy(code, self.terms)
        if not (fusion or gastrostomy or imaging.is_candidate(res, self.terms)):
            return "code not used"
        status = text(res.get("status"))
        if status in ("entered-in-error", "not-done"):
            return f"status {status}"
        if not self._valid(res, source):
            return DONE
        order, spine = imaging.from_procedure(res, source, self.terms)
        if order:
            facts.orders.append(order)
        _add_imaging(facts, spine)
        done = status == "completed"
        if done and gastrostomy:
            facts.conditions.gastrostomy = True
        if done and fusion:  # rods make the lumbar spine an invalid DXA site from then on
            facts.conditions.findings.append(
                ClinicalFinding(Symptom.SPINAL_FUSION, imaging.performed(res), source)
            )
        if order or spine or (done and (gastrostomy or fusion)):
            return None
        return "procedure not completed" if (gastrostomy or fusion) else "code not used"

    def _read_Device(self, res: dict, source: str, facts: Facts, meds: dict) -> str | None:
        """A gastrostomy tube on the patient (Device.patient) counts as a gastrostomy in place."""
        if not conditions.is_gastrostomy_device(res.get("type"), self.terms):
            return "device not used"
        if "patient" not in res:
            return "device not used"  # read through a DeviceUseStatement
        if text(res.get("status")) in ("inactive", "entered-in-error"):
            return f"status {res.get('status')}"
        if not self._valid(res, source):
            return DONE
        facts.conditions.gastrostomy = True
        return None

    def _read_DeviceUseStatement(self, res: dict, source: str, facts: Facts, meds: dict) -> str | None:
        """A statement that the patient uses a gastrostomy tube (the Device in the request, or named)."""
        ref = as_dict(res.get("device"))
        device = self._devices.get(text(ref.get("reference")).split("/")[-1], {})
        if not conditions.is_gastrostomy_device(
            device.get("type") or {"text": text(ref.get("display"))}, self.terms
        ):
            return "device not used"
        if text(res.get("status")) not in ("active", "completed"):
            return f"status {res.get('status')}"
        if not self._valid(res, source):
            return DONE
        facts.conditions.gastrostomy = True
        return None

    def _read_ServiceRequest(self, res: dict, source: str, facts: Facts, meds: dict) -> str | None:
        if res.get("status") == "entered-in-error":
            return "status entered-in-error"
        if imaging.action_of(res.get("code"), self.terms) is None:
            return "code not used"
        if not self._valid(res, source):
            return DONE
        order = imaging.from_service_request(res, source, self.terms)
        if order:
            facts.orders.append(order)
        return None if order else "code not used"

    def _read_CarePlan(self, res: dict, source: str, facts: Facts, meds: dict) -> str | None:
        words = " ".join([text(res.get("title")), text(res.get("description"))]).lower()
        words += " " + " ".join(concept_text(c) for c in as_list(res.get("category")))
        if res.get("status") != "active" or not self.terms.weight_management.match_text(words):
            return "care plan not used"
        if not self._valid(res, source):
            return DONE
        facts.weight_plan = True
        return None

    def _read_medication(self, res: dict, source: str, facts: Facts, meds: dict) -> str | None:
        found = medications.exposure(res, source, meds, self.terms)
        ref = reference(res.get("medicationReference"))
        if ref and not ref.startswith("#") and not isinstance(found, str):
            self._med_refs.add(ref_id(ref))
        if isinstance(found, str):
            return found
        if not self._valid(res, source):
            return DONE
        facts.exposures.append(found)
        return None
