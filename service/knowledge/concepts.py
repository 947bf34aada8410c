"""The named concepts the knowledge files map codes to, and the vocabulary of findings and cards.

Value sets (``valuesets/*.yaml``) say which codes mean which of these; the data layer builds facts
with them and the rules reason with them. Nothing here depends on FHIR or on any other module.
"""

from __future__ import annotations

from enum import StrEnum


class Concept(StrEnum):
    """What a measurement is. The canonical unit of each is fixed by the data layer."""

    WEIGHT = "weight"
    HEIGHT = "height"
    BMI = "bmi"
    BMI_PERCENTILE = "bmi_percentile"
    WEIGHT_FOR_LENGTH_PERCENTILE = "weight_for_length_percentile"
    USUAL_WEIGHT = "usual_weight"
    FVC = "fvc"  # litres
    FVC_PREDICTED = "fvc_predicted"  # litres
    FVC_PCT_PREDICTED = "fvc_pct_predicted"  # %
    VC = "vc"
    VC_PREDICTED = "vc_predicted"
    VC_PCT_PREDICTED = "vc_pct_predicted"
    MIP = "mip"  # cm[H2O], absolute value
    SNIP = "snip"  # cm[H2O]
    VITAMIN_D_25OH = "vitamin_d_25oh"  # ng/mL
    CREATININE = "creatinine"  # mg/dL
    CYSTATIN_C = "cystatin_c"  # mg/L
    CALCIUM = "calcium"  # mg/dL
    BMD = "bmd"  # g/cm2
    T_SCORE = "t_score"  # SD
    Z_SCORE = "z_score"  # SD (age-matched or height-adjusted, see Measurement.height_adjusted)


class Site(StrEnum):
    """Skeletal site of a DXA measurement."""

    LUMBAR_SPINE = "lumbar_spine"
    TOTAL_HIP = "total_hip"
    FEMORAL_NECK = "femoral_neck"  # LOINC "Femur" codes
    DISTAL_FEMUR = "distal_femur"  # lateral distal femur (bodySite/note)
    FOREARM = "forearm"  # radius/ulna, 33 % radius
    TOTAL_BODY = "total_body"  # total body less head
    OTHER = "other"


SITE_LABELS: dict[Site, str] = {
    Site.LUMBAR_SPINE: "lumbar spine",
    Site.TOTAL_HIP: "total hip",
    Site.FEMORAL_NECK: "femur",
    Site.DISTAL_FEMUR: "lateral distal femur",
    Site.FOREARM: "forearm",
    Site.TOTAL_BODY: "total body less head",
    Site.OTHER: "other site",
}


class Nmd(StrEnum):
    """In-scope neuromuscular disorders (the population gate), by the family the rules distinguish."""

    DMD = "dmd"  # Duchenne (ICD-10-CM G71.01 is shared with Becker)
    BECKER = "becker"
    MUSCULAR_DYSTROPHY = "muscular_dystrophy"  # other / unspecified dystrophies, FSHD, limb-girdle
    MYOTONIC = "myotonic"  # myotonic dystrophy and other myotonic disorders
    MYOPATHY = "myopathy"  # congenital, inflammatory, other and unspecified myopathies
    SMA = "sma"
    ALS = "als"  # ALS and the motor neuron disease family
    CEREBRAL_PALSY = "cerebral_palsy"  # out of scope unless configured


class DrugClass(StrEnum):
    GLUCOCORTICOID = "glucocorticoid"
    BISPHOSPHONATE_ORAL = "bisphosphonate_oral"
    BISPHOSPHONATE_IV = "bisphosphonate_iv"
    DENOSUMAB = "denosumab"
    ANABOLIC = "anabolic"  # teriparatide, abaloparatide, romosozumab

    @property
    def is_bone_therapy(self) -> bool:
        return self is not DrugClass.GLUCOCORTICOID


class ActionKind(StrEnum):
    """Things the rules ask for; open/recent orders and done procedures of each suppress repeats."""

    SPINE_IMAGING = "spine_imaging"
    DXA = "dxa"
    BONE_SPECIALIST_REFERRAL = "bone_specialist_referral"
    VITAMIN_D_TEST = "vitamin_d_test"
    DIETITIAN_REFERRAL = "dietitian_referral"
    GASTROSTOMY = "gastrostomy"  # discussion/referral or the procedure itself
    SPIROMETRY = "spirometry"
    PULMONOLOGY_REFERRAL = "pulmonology_referral"  # incl. NIV assessment


class Symptom(StrEnum):
    BACK_PAIN = "back_pain"
    HEIGHT_LOSS = "height_loss"  # documented height loss / growth arrest
    KYPHOSIS = "kyphosis"
    SCOLIOSIS = "scoliosis"
    SPINAL_FUSION = "spinal_fusion"  # rods: lumbar-spine DXA and VFA unreliable
    ORTHOPNOEA = "orthopnoea"
    OEDEMA = "oedema"
    POSTMENOPAUSAL = "postmenopausal"  # a coded status: WHO T-score classes apply


class FractureKind(StrEnum):
    VERTEBRAL = "vertebral"
    LONG_BONE = "long_bone"
    OTHER = "other"


class ImagingKind(StrEnum):
    LATERAL_SPINE_XR = "lateral_spine_xr"  # lateral thoracolumbar radiograph
    DXA_VFA = "dxa_vfa"  # DXA vertebral fracture assessment


class Topic(StrEnum):
    """Card topics (card.source.topic), the project's own CodeSystem."""

    SPINE_IMAGING = "spine-imaging"
    BONE_THERAPY = "bone-therapy"
    BONE_THERAPY_REVIEW = "bone-therapy-review"
    BMD_SITES = "bmd-sites"
    BMD_SURVEILLANCE = "bmd-surveillance"
    VITAMIN_D = "vitamin-d"
    NUTRITION_REFERRAL = "nutrition-referral"
    RESPIRATORY_REVIEW = "respiratory-review"


class Indicator(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Indicator.INFO: 0, Indicator.WARNING: 1, Indicator.CRITICAL: 2}
