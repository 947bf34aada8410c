"""Every code the service knows, by concept (clinical-knowledge.md §3). No code is written anywhere else.

Codes marked ``UNVERIFIED`` in comments were not confirmed in public material (§3 status column);
they are accepted as input but should be checked with a terminology server before relying on them.
"""

from __future__ import annotations

import re

from service.fhir.summary import ActionKind, Concept, DrugClass, Nmd, Site, Symptom

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
CPT = "http://www.ama-assn.org/go/cpt"
UCUM = "http://unitsofmeasure.org"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"

# ICD-10-CM and WHO ICD-10 share these codes; both systems are accepted for conditions.
ICD_SYSTEMS = frozenset({ICD10CM, ICD10, "urn:oid:2.16.840.1.113883.6.90"})

# --- §3.1 DXA (LOINC): (concept, site, laterality) ---------------------------------------------
DXA: dict[str, tuple[Concept, Site, str | None]] = {
    # lumbar spine
    "24966-4": (Concept.BMD, Site.LUMBAR_SPINE, None),
    "38267-1": (Concept.T_SCORE, Site.LUMBAR_SPINE, None),
    "85394-5": (Concept.Z_SCORE, Site.LUMBAR_SPINE, None),
    # total hip
    "38261-4": (Concept.BMD, Site.TOTAL_HIP, None),
    "38264-8": (Concept.T_SCORE, Site.TOTAL_HIP, None),
    "80933-5": (Concept.Z_SCORE, Site.TOTAL_HIP, None),
    "46278-8": (Concept.BMD, Site.TOTAL_HIP, "left"),
    "80946-7": (Concept.T_SCORE, Site.TOTAL_HIP, "left"),
    "80938-4": (Concept.Z_SCORE, Site.TOTAL_HIP, "left"),
    "46279-6": (Concept.BMD, Site.TOTAL_HIP, "right"),
    "80945-9": (Concept.T_SCORE, Site.TOTAL_HIP, "right"),
    "80937-6": (Concept.Z_SCORE, Site.TOTAL_HIP, "right"),
    # femur (femoral neck); no neck-specific LOINC exists
    "24701-5": (Concept.BMD, Site.FEMORAL_NECK, None),
    "38263-0": (Concept.T_SCORE, Site.FEMORAL_NECK, None),
    "80934-3": (Concept.Z_SCORE, Site.FEMORAL_NECK, None),
    "80954-1": (Concept.BMD, Site.FEMORAL_NECK, "left"),
    "80948-3": (Concept.T_SCORE, Site.FEMORAL_NECK, "left"),
    "80940-0": (Concept.Z_SCORE, Site.FEMORAL_NECK, "left"),
    "80953-3": (Concept.BMD, Site.FEMORAL_NECK, "right"),
    "80947-5": (Concept.T_SCORE, Site.FEMORAL_NECK, "right"),
    "80939-2": (Concept.Z_SCORE, Site.FEMORAL_NECK, "right"),
    # forearm / radius
    "24890-6": (Concept.BMD, Site.FOREARM, None),
    "38265-5": (Concept.T_SCORE, Site.FOREARM, None),
    "80932-7": (Concept.Z_SCORE, Site.FOREARM, None),
    "80952-5": (Concept.BMD, Site.FOREARM, "left"),
    "80944-2": (Concept.T_SCORE, Site.FOREARM, "left"),
    "80936-8": (Concept.Z_SCORE, Site.FOREARM, "left"),
    "80951-7": (Concept.BMD, Site.FOREARM, "right"),
    "80943-4": (Concept.T_SCORE, Site.FOREARM, "right"),
    "80935-0": (Concept.Z_SCORE, Site.FOREARM, "right"),
    # generic bone (whole body / TBLH arrive here with a bodySite)
    "46383-6": (Concept.BMD, Site.OTHER, None),
}
DXA_REPORT = "38269-7"  # DiagnosticReport.code "DXA Bone density"

# --- §3.2 body measurements, labs, respiratory (LOINC) -----------------------------------------
MEASUREMENTS: dict[str, Concept] = {
    "29463-7": Concept.WEIGHT,
    "3141-9": Concept.WEIGHT,  # UNVERIFIED display; accepted as a synonym of 29463-7
    "8302-2": Concept.HEIGHT,
    "39156-5": Concept.BMI,
    "59576-9": Concept.BMI_PERCENTILE,
    "77606-2": Concept.WEIGHT_FOR_LENGTH_PERCENTILE,
    "19870-5": Concept.FVC,
    "19868-9": Concept.FVC,
    "19876-2": Concept.FVC,
    "19869-7": Concept.FVC_PREDICTED,
    "19872-1": Concept.FVC_PCT_PREDICTED,
    "19867-1": Concept.VC,
    "19866-3": Concept.VC,
    "19865-5": Concept.VC_PREDICTED,
    "98088-8": Concept.VC_PCT_PREDICTED,
    "62292-8": Concept.VITAMIN_D_25OH,
    "1989-3": Concept.VITAMIN_D_25OH,  # D3 (mass); often labelled D2+D3 — accepted as total 25-OH D
    "14635-7": Concept.VITAMIN_D_25OH,  # D3 (moles), nmol/L
    "2160-0": Concept.CREATININE,
    "33863-2": Concept.CYSTATIN_C,
}
# A usual / pre-illness weight has no standard LOINC (§1.7): a local code with this text, or a weight
# Observation whose note or code text says "usual" / "pre-illness", is treated as usual weight.
USUAL_WEIGHT_TEXT = ("usual weight", "usual body weight", "pre-illness weight", "premorbid weight")
# Estimated height (ulna length, arm span, knee height): method text (edge case 14).
ESTIMATED_HEIGHT_TEXT = ("ulna", "arm span", "knee height", "estimated")

# SNOMED observables for FVC/VC (§3.5), accepted besides LOINC.
SNOMED_MEASUREMENTS: dict[str, Concept] = {
    "50834005": Concept.FVC,
    "310521000": Concept.FVC_PREDICTED,
    "445210000": Concept.FVC_PCT_PREDICTED,
    "83411002": Concept.VC,
    "445389005": Concept.VC_PCT_PREDICTED,
}

# Plausible ranges in canonical units (edge case 9: code is king, but check the unit/value).
PLAUSIBLE: dict[Concept, tuple[float, float]] = {
    Concept.T_SCORE: (-5.0, 5.0),
    Concept.Z_SCORE: (-5.0, 5.0),
    Concept.BMD: (0.2, 1.8),
}

# --- §3.3 conditions ---------------------------------------------------------------------------
NMD_SNOMED: dict[str, Nmd] = {
    "76670001": Nmd.DMD,
    "75068009": Nmd.BECKER,  # UNVERIFIED (single source that also mis-codes DMD)
    "73297009": Nmd.MUSCULAR_DYSTROPHY,
    "399091004": Nmd.MUSCULAR_DYSTROPHY,  # FSHD
    "5262007": Nmd.SMA,
    "80854005": Nmd.SMA,  # Werdnig-Hoffmann (SMA type I), single source
    "86044005": Nmd.ALS,
    "128188000": Nmd.CEREBRAL_PALSY,
}
NMD_ICD: dict[str, Nmd] = {  # prefix match on the dotted code
    "G71.01": Nmd.DMD,  # Duchenne or Becker: cannot be told apart
    "G71.00": Nmd.MUSCULAR_DYSTROPHY,
    "G71.02": Nmd.MUSCULAR_DYSTROPHY,
    "G71.09": Nmd.MUSCULAR_DYSTROPHY,
    "G71.0": Nmd.MUSCULAR_DYSTROPHY,
    "G12.0": Nmd.SMA,
    "G12.1": Nmd.SMA,
    "G12.9": Nmd.SMA,
    "G12.2": Nmd.ALS,  # G12.20 MND unspecified, G12.21 ALS, KCD variants: the ALS/MND family
    "G80": Nmd.CEREBRAL_PALSY,
}

# Fractures: (kind, low_trauma) — low_trauma None means the mechanism needs clinician confirmation.
FRACTURE_SNOMED: dict[str, tuple[str, bool | None]] = {
    "42942008": ("vertebral", True),  # compression fracture of vertebral column
    "443165006": ("any", True),  # pathological fracture due to osteoporosis
}
FRACTURE_ICD_PREFIX: dict[str, tuple[str, bool | None]] = {
    "M80.08": ("vertebral", True),
    "M80.88": ("vertebral", True),
    "M80.0": ("any", True),
    "M80.8": ("any", True),
    "M80": ("any", True),
    "M48.5": ("vertebral", True),  # collapsed vertebra
    "Z87.310": ("any", True),  # history of healed osteoporosis fracture
    "S22.0": ("vertebral", None),  # thoracic vertebra (traumatic code: confirm mechanism)
    "S32.0": ("vertebral", None),  # lumbar vertebra
    "S72": ("long_bone", None),  # femur
    # tibia/fibula: S82.1-S82.9 (S82.0 is the patella, not a long bone)
    **{f"S82.{d}": ("long_bone", None) for d in "123456789"},
    "S42.2": ("long_bone", None),  # proximal humerus
    "S42.3": ("long_bone", None),  # humerus shaft
    "S42.4": ("long_bone", None),  # distal humerus
    "S52": ("long_bone", None),  # radius/ulna
}
# Observation code for "vertebral fracture present" findings: the SNOMED VF code as Observation.code
# (value boolean / Genant grade) — no dedicated LOINC exists (UNVERIFIED convention).
VERTEBRAL_FRACTURE_OBSERVATION = {(SNOMED, "42942008")}

OSTEOPOROSIS_SNOMED = {"64859006", "203438009"}
OSTEOPOROSIS_ICD_PREFIX = ("M81",)

NON_AMBULATORY_SNOMED = {"282145008", "225612007", "105503008"}
NON_AMBULATORY_ICD = {"Z99.3", "Z74.09", "R26.2"}

SYMPTOM_SNOMED: dict[str, Symptom] = {
    "161891005": Symptom.BACK_PAIN,  # Backache (finding) — UNVERIFIED (not in §3)
    "279039007": Symptom.BACK_PAIN,  # Low back pain — UNVERIFIED (not in §3)
    "298382003": Symptom.SCOLIOSIS,
    "414564002": Symptom.KYPHOSIS,  # Kyphosis deformity of spine — UNVERIFIED (not in §3)
    "62744007": Symptom.ORTHOPNOEA,  # Orthopnea — UNVERIFIED (not in §3)
}
SYMPTOM_ICD_PREFIX: dict[str, Symptom] = {
    # Thoracic/lumbar back pain only: not M54.0 (panniculitis), M54.1 (radiculopathy), M54.2
    # (cervicalgia) or M54.81 (occipital neuralgia).
    "M54.3": Symptom.BACK_PAIN,  # sciatica
    "M54.4": Symptom.BACK_PAIN,  # lumbago with sciatica
    "M54.5": Symptom.BACK_PAIN,  # low back pain
    "M54.6": Symptom.BACK_PAIN,  # pain in thoracic spine
    "M54.89": Symptom.BACK_PAIN,  # other dorsalgia
    "M54.9": Symptom.BACK_PAIN,  # dorsalgia, unspecified
    "M41": Symptom.SCOLIOSIS,
    # Kyphosis only: M40.0 postural, M40.1 other secondary, M40.2 other/unspecified (M40.3 is
    # flatback, M40.4/M40.5 lordosis).
    "M40.0": Symptom.KYPHOSIS,
    "M40.1": Symptom.KYPHOSIS,
    "M40.2": Symptom.KYPHOSIS,
    "R06.01": Symptom.ORTHOPNOEA,
}
# Z98.1 "arthrodesis status" covers any joint: spinal fusion only when the code text or bodySite
# names the spine (word-start match: "rod" must not match "arthrodesis").
ARTHRODESIS_ICD = "Z98.1"
SPINE_TEXT = re.compile(r"\b(spin|vertebr|lumb|thora|scolio|rods?\b|harrington)")
GASTROSTOMY_ICD = {"Z93.1"}
TUBE_FEEDING_SNOMED = {"61420007"}
GASTROSTOMY_PROCEDURE_SNOMED = {"174163005", "55421001"}  # UNVERIFIED (not in §3): PEG / gastrostomy
VENTILATOR_DEPENDENCE_SNOMED = {"444932008"}

# --- §3.4 spine imaging / procedures ------------------------------------------------------------
# Adequate for VF detection on their own (§1.5): thoracolumbar radiograph (T4-L4) or DXA VFA.
SPINE_IMAGING_LATERAL_LOINC = {"24984-7", "24928-4"}  # T+L spine 2 views; spine AP + lateral
SPINE_IMAGING_SCOLIOSIS_LOINC = {"30716-5"}  # counts only when a VF read is reported; not an order
SPINE_IMAGING_VFA_CPT = {"77085", "77086"}
SPINE_IMAGING_XR_CPT = {"72080"}  # thoracolumbar spine, 2 views — UNVERIFIED
# A thoracic or a lumbar film covers only half of T4-L4: adequate only as a pair (within ± 30 days).
SPINE_THORACIC_LOINC = {"30756-1"}  # XR thoracic spine lateral
SPINE_LUMBAR_LOINC = {"24969-8", "24970-6"}  # XR lumbar spine lateral; AP + lateral
SPINE_THORACIC_CPT = {"72070", "72072", "72074"}
SPINE_LUMBAR_CPT = {"72100", "72110"}  # UNVERIFIED
SPINE_VIEW_PAIR_DAYS = 30
DXA_CPT = {"77080", "77081", "77085"}
DXA_LOINC_REPORT = {DXA_REPORT}

# --- §3.6 medications (RxNorm ingredient RxCUI; ATC class codes are recalled [R]) ---------------
# name -> (class, rxcuis, atc codes)
DRUGS: dict[str, tuple[DrugClass, frozenset[str], frozenset[str]]] = {
    "alendronate": (DrugClass.BISPHOSPHONATE_ORAL, frozenset({"46041"}), frozenset({"M05BA04", "M05BB03"})),
    "risedronate": (DrugClass.BISPHOSPHONATE_ORAL, frozenset({"73056"}), frozenset({"M05BA07"})),  # confirm
    "ibandronate": (DrugClass.BISPHOSPHONATE_ORAL, frozenset({"115264"}), frozenset({"M05BA06"})),  # confirm
    "pamidronate": (DrugClass.BISPHOSPHONATE_IV, frozenset({"11473"}), frozenset({"M05BA03"})),  # confirm
    "zoledronic acid": (DrugClass.BISPHOSPHONATE_IV, frozenset({"77655"}), frozenset({"M05BA08"})),
    "denosumab": (DrugClass.DENOSUMAB, frozenset({"993449"}), frozenset({"M05BX04"})),  # confirm
    "teriparatide": (DrugClass.ANABOLIC, frozenset(), frozenset({"H05AA02"})),  # RxCUI UNVERIFIED
    "abaloparatide": (DrugClass.ANABOLIC, frozenset(), frozenset({"H05AA04"})),  # RxCUI UNVERIFIED
    "romosozumab": (DrugClass.ANABOLIC, frozenset(), frozenset({"M05BX06"})),  # RxCUI UNVERIFIED
    "prednisone": (DrugClass.GLUCOCORTICOID, frozenset({"8640"}), frozenset({"H02AB07"})),
    "prednisolone": (DrugClass.GLUCOCORTICOID, frozenset({"8638"}), frozenset({"H02AB06"})),
    "deflazacort": (DrugClass.GLUCOCORTICOID, frozenset({"22396"}), frozenset({"H02AB13"})),
    "vamorolone": (DrugClass.GLUCOCORTICOID, frozenset({"2669799"}), frozenset()),  # dissociative steroid
    "methylprednisolone": (DrugClass.GLUCOCORTICOID, frozenset({"6902"}), frozenset({"H02AB04"})),
    "dexamethasone": (DrugClass.GLUCOCORTICOID, frozenset({"3264"}), frozenset({"H02AB02"})),
    "hydrocortisone": (DrugClass.GLUCOCORTICOID, frozenset({"5492"}), frozenset({"H02AB09"})),
}
# ATC class prefixes as a fallback when only a class code is sent.
ATC_CLASS_PREFIX: dict[str, DrugClass] = {
    "H02AB": DrugClass.GLUCOCORTICOID,
    "M05BA": DrugClass.BISPHOSPHONATE_ORAL,
}
# Routes that are not systemic glucocorticoid exposure (edge case 18).
NON_SYSTEMIC_ROUTE_TEXT = (
    "inhal",
    "topical",
    "cutaneous",
    "ophthalm",
    "nasal",
    "otic",
    "dermal",
    "eye",
    "skin",
)

# --- suggestion codes (what the cards order) -----------------------------------------------------
# action -> (system, code, display) of the ServiceRequest.code the service suggests.
SUGGESTION_CODES: dict[ActionKind, tuple[str, str, str]] = {
    ActionKind.SPINE_IMAGING: (LOINC, "24984-7", "XR Thoracic and Lumbar spine 2 Views"),
    ActionKind.DXA: (CPT, "77080", "DXA bone density study, axial skeleton (hips, spine)"),
    ActionKind.VITAMIN_D_TEST: (LOINC, "62292-8", "25-Hydroxyvitamin D2+D3 [Mass/volume] in Serum or Plasma"),
    ActionKind.SPIROMETRY: (LOINC, "19870-5", "Forced vital capacity [Volume] Respiratory system"),
    # Referrals: SNOMED procedure codes — UNVERIFIED (not in §3); text carries the meaning.
    ActionKind.DIETITIAN_REFERRAL: (SNOMED, "103699006", "Referral to dietitian"),
    ActionKind.BONE_SPECIALIST_REFERRAL: (
        SNOMED,
        "183515008",
        "Referral to physician (bone health specialist)",
    ),
    ActionKind.PULMONOLOGY_REFERRAL: (SNOMED, "183521006", "Referral to respiratory physician"),
    ActionKind.GASTROSTOMY: (SNOMED, "183528000", "Referral to gastroenterologist (gastrostomy discussion)"),
}
SUGGESTION_ALT_CODES: dict[ActionKind, tuple[tuple[str, str, str], ...]] = {
    ActionKind.SPINE_IMAGING: ((CPT, "77086", "Vertebral fracture assessment via DXA"),),
}
# Codes on ServiceRequest/Procedure that mean an action was ordered/done (suppression, §2.H).
ORDER_CODES: dict[ActionKind, frozenset[tuple[str, str]]] = {
    ActionKind.SPINE_IMAGING: frozenset(
        # Not the scoliosis series: ordering one does not promise a vertebral-fracture read.
        {(LOINC, c) for c in SPINE_IMAGING_LATERAL_LOINC | SPINE_THORACIC_LOINC | SPINE_LUMBAR_LOINC}
        | {(CPT, c) for c in SPINE_IMAGING_VFA_CPT | SPINE_IMAGING_XR_CPT}
        | {(CPT, c) for c in SPINE_THORACIC_CPT | SPINE_LUMBAR_CPT}
    ),
    ActionKind.DXA: frozenset({(CPT, c) for c in DXA_CPT} | {(LOINC, DXA_REPORT)}),
    ActionKind.VITAMIN_D_TEST: frozenset({(LOINC, c) for c in ("62292-8", "1989-3", "14635-7")}),
    ActionKind.SPIROMETRY: frozenset({(LOINC, c) for c in ("19870-5", "19868-9", "19867-1", "19866-3")}),
    ActionKind.DIETITIAN_REFERRAL: frozenset({(SNOMED, "103699006")}),
    ActionKind.BONE_SPECIALIST_REFERRAL: frozenset({(SNOMED, "183515008")}),
    ActionKind.PULMONOLOGY_REFERRAL: frozenset({(SNOMED, "183521006")}),
    ActionKind.GASTROSTOMY: frozenset(
        {(SNOMED, "183528000")} | {(SNOMED, c) for c in GASTROSTOMY_PROCEDURE_SNOMED}
    ),
}

# --- prefetch: every LOINC the Observation template asks for -------------------------------------
OBSERVATION_LOINCS: tuple[str, ...] = tuple(sorted(set(DXA) | set(MEASUREMENTS)))

# --- data-layer additions (issue 3) ---------------------------------------------------------------
# Observation status handling (§4 item 1): which statuses carry a usable value.
OBSERVATION_USABLE_STATUS = frozenset({"final", "amended", "corrected", "preliminary"})
# Laterality in bodySite (SNOMED qualifier values; 7771000 as in the FHIR bmd example).
LATERALITY_SNOMED = {"7771000": "left", "24028007": "right"}
# Site hints in bodySite / code text for generic DXA codes (46383-6) and distal femur.
SITE_TEXT: tuple[tuple[str, Site], ...] = (
    ("distal femur", Site.DISTAL_FEMUR),
    ("total body", Site.TOTAL_BODY),
    ("whole body", Site.TOTAL_BODY),
    ("tblh", Site.TOTAL_BODY),
    ("lumbar", Site.LUMBAR_SPINE),
    ("total hip", Site.TOTAL_HIP),
    ("femoral neck", Site.FEMORAL_NECK),
    ("radius", Site.FOREARM),
    ("forearm", Site.FOREARM),
)
# Height-adjusted Z-scores (HAZ / BMAD) are named in code text or method (ISCD paediatric).
HEIGHT_ADJUSTED_TEXT = ("height-adjusted", "height adjusted", "haz", "bmad")

# Vertebral fracture findings (§4 items 3-4): presence / absence values and Genant grade components.
PRESENT_SNOMED = {"52101004"}  # Present (qualifier value)
ABSENT_SNOMED = {"2667000", "272519000"}  # Absent; Absence of (qualifier) — UNVERIFIED (not in §3)
ABSENT_TEXT = ("absent", "not present", "no fracture", "negative", "none", "no evidence")
NORMAL_INTERPRETATION = {"N", "NEG", "ND"}  # v3 ObservationInterpretation: normal / negative / not detected
# Yes/No answers (UNVERIFIED, not in §3): SNOMED qualifier values, LOINC answers, HL7 v2 table 0136.
YES_NO_V2 = "http://terminology.hl7.org/CodeSystem/v2-0136"
NO_ANSWER = {(SNOMED, "373067005"), (LOINC, "LA32-8"), (YES_NO_V2, "N")}
YES_ANSWER = {(SNOMED, "373066001"), (LOINC, "LA33-6"), (YES_NO_V2, "Y")}
# Whole-answer texts (a substring test would read "no" in "normal" or "none" in "nonetheless").
NO_TEXT = frozenset({"no", "n", "false", "denies", "denied"})
YES_TEXT = frozenset({"yes", "y", "true"})
GENANT_TEXT = ("genant", "grade")
# Genant grade below which a deformity is not a fracture (§1.4: 0.5 = borderline, not a VF).
GENANT_FRACTURE_MIN = 1.0
LONG_BONE_TEXT = ("femur", "femoral", "tibia", "fibula", "humerus", "humeral", "radius", "ulna")
VERTEBRAL_TEXT = ("vertebra", "spine", "spinal", "thoracic", "lumbar")

# Status / symptoms by text where §3 has no code (matched only on Condition/Observation code text).
SYMPTOM_TEXT: dict[str, Symptom] = {
    "height loss": Symptom.HEIGHT_LOSS,
    "loss of height": Symptom.HEIGHT_LOSS,
    "spinal fusion": Symptom.SPINAL_FUSION,
}
WEIGHT_MANAGEMENT_TEXT = ("weight management", "weight loss plan", "weight reduction")

# Medications by display text (last resort, §3.6): lower-case names and brand names [R] → ingredient.
DRUG_TEXT: dict[str, str] = {
    **{name: name for name in DRUGS},
    "zoledronate": "zoledronic acid",
    "alendronic acid": "alendronate",
    "risedronic acid": "risedronate",
    "ibandronic acid": "ibandronate",
    "pamidronic acid": "pamidronate",
    "fosamax": "alendronate",
    "actonel": "risedronate",
    "boniva": "ibandronate",
    "aredia": "pamidronate",
    "reclast": "zoledronic acid",
    "zometa": "zoledronic acid",
    "aclasta": "zoledronic acid",
    "prolia": "denosumab",
    "xgeva": "denosumab",
    "forteo": "teriparatide",
    "tymlos": "abaloparatide",
    "evenity": "romosozumab",
    "emflaza": "deflazacort",
    "agamree": "vamorolone",
}
# Physical sanity bounds (canonical units) beyond §4 item 9: values outside are unit/code errors.
PLAUSIBLE.update(
    {
        Concept.WEIGHT: (0.2, 400.0),
        Concept.USUAL_WEIGHT: (0.2, 400.0),
        Concept.HEIGHT: (20.0, 260.0),
        Concept.BMI: (5.0, 100.0),
        Concept.BMI_PERCENTILE: (0.0, 100.0),
        Concept.WEIGHT_FOR_LENGTH_PERCENTILE: (0.0, 100.0),
        Concept.FVC: (0.0, 10.0),
        Concept.FVC_PREDICTED: (0.0, 10.0),
        Concept.VC: (0.0, 10.0),
        Concept.VC_PREDICTED: (0.0, 10.0),
        Concept.FVC_PCT_PREDICTED: (0.0, 250.0),
        Concept.VC_PCT_PREDICTED: (0.0, 250.0),
        Concept.VITAMIN_D_25OH: (0.0, 300.0),
        Concept.CREATININE: (0.0, 30.0),
        Concept.CYSTATIN_C: (0.0, 20.0),
    }
)
# Long-bone name per traumatic ICD-10-CM prefix (fracture level for long bones, §1.6).
FRACTURE_BONE_ICD: dict[str, str] = {
    "S72": "femur",
    "S82": "tibia/fibula",
    "S42.2": "humerus",
    "S42.3": "humerus",
    "S42.4": "humerus",
    "S52": "radius/ulna",
}
# Local Observation codes for vertebral-fracture findings are recognised by this text (no LOINC).
VF_OBSERVATION_TEXT = ("vertebral fracture", "vertebral compression fracture")
