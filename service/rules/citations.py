"""The guidelines and papers the rules cite, once each (clinical-knowledge.md §0)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Citation:
    key: str
    label: str  # short human reference shown in the card
    url: str  # absolute URL of the guideline / paper


SEED_REVIEW_2026 = Citation(
    "S000",
    "Moretti, Liguori, Iolascon 2026 – bone health in neuromuscular disorders (review)",
    "https://hdl.handle.net/11591/588924",
)
SEED_BONE_MUSCLE_CROSSTALK = Citation(
    "S002",
    "Editorial: bone–muscle crosstalk in secondary osteoporosis (creatinine/cystatin C)",
    "https://pubmed.ncbi.nlm.nih.gov/?term=bone+muscle+crosstalk+secondary+osteoporosis",
)
SEED_ALS_NUTRITION = Citation(
    "S004",
    "Management of muscular atrophy (SMA, ALS): weight loss, VC < 1.1 L, MIP/MEP",
    "https://pubmed.ncbi.nlm.nih.gov/?term=ALS+weight+loss+mortality",
)
DMD_CC_2018 = Citation(
    "DMD-CC-2018",
    "Birnkrant et al. DMD care considerations, Lancet Neurol 2018;17:251-267, 347-361",
    "https://doi.org/10.1016/S1474-4422(18)30025-5",
)
WARD_2018 = Citation(
    "WARD-2018",
    "Ward et al. Bone health and osteoporosis management in DMD, Pediatrics 2018;142(S2):S34",
    "https://pmc.ncbi.nlm.nih.gov/articles/PMC6442478/",
)
BUCKNER_2015 = Citation(
    "BUCKNER-2015",
    "Buckner et al. Optimizing bone health in DMD, Int J Endocrinol 2015:928385",
    "https://doi.org/10.1155/2015/928385",
)
PPMD = Citation(
    "PPMD",
    "Parent Project MD care pages: DEXA and lateral spine X-rays",
    "https://www.parentprojectmd.org/care/care-guidelines/",
)
SCOTTISH_MUSCLE_NETWORK = Citation(
    "SMN",
    "Scottish Muscle Network DMD skeletal guideline",
    "https://www.smn.scot.nhs.uk/",
)
SMA_SOC_2018 = Citation(
    "SMA-SOC-2018",
    "Mercuri, Finkel et al. SMA standards of care, Neuromuscul Disord 2018;28:103-115, 197-207",
    "https://doi.org/10.1016/j.nmd.2017.11.005",
)
ISCD_ADULT = Citation(
    "ISCD-ADULT",
    "ISCD Official Positions – Adult",
    "https://iscd.org/learn/official-positions/adult-positions/",
)
ISCD_PEDIATRIC = Citation(
    "ISCD-PED",
    "ISCD Official Positions – Pediatric (2013, 2019)",
    "https://iscd.org/learn/official-positions/pediatric-positions/",
)
GENANT_1993 = Citation(
    "GENANT-1993",
    "Genant et al. Vertebral fracture assessment using a semiquantitative technique, JBMR 1993",
    "https://doi.org/10.1002/jbmr.5650080915",
)
ACR_GIOP_2022 = Citation(
    "ACR-2022",
    "Humphrey et al. 2022 ACR guideline for glucocorticoid-induced osteoporosis",
    "https://doi.org/10.1002/art.42646",
)
BHOF_2022 = Citation(
    "BHOF-2022",
    "LeBoff et al. Clinician's guide to prevention and treatment of osteoporosis (BHOF 2022)",
    "https://pmc.ncbi.nlm.nih.gov/articles/PMC9546973/",
)
AAN_ALS_2009 = Citation(
    "AAN-2009",
    "Miller et al. AAN practice parameter update: care of the patient with ALS, Neurology 2009;73:1218",
    "https://pmc.ncbi.nlm.nih.gov/articles/PMC2764727/",
)
EFNS_ALS_2012 = Citation(
    "EFNS-2012",
    "Andersen et al. EFNS guidelines on the clinical management of ALS, Eur J Neurol 2012;19:360",
    "https://doi.org/10.1111/j.1468-1331.2011.03501.x",
)
GLIM_2019 = Citation(
    "GLIM-2019",
    "GLIM criteria for the diagnosis of malnutrition (Cederholm et al. 2019)",
    "https://doi.org/10.1016/j.clnu.2018.08.002",
)
ASPEN_2014 = Citation(
    "ASPEN-2014",
    "ASPEN/AND consensus: indicators of pediatric malnutrition (Becker et al. 2014)",
    "https://doi.org/10.1016/j.jand.2014.01.006",
)
ENDOCRINE_SOCIETY_2011 = Citation(
    "ES-2011",
    "Holick et al. Endocrine Society vitamin D guideline 2011",
    "https://doi.org/10.1210/jc.2011-0385",
)
MDSTARNET_2016 = Citation(
    "MDSTARNET-2016",
    "MD STARnet: adherence to DMD respiratory care guidelines (2016)",
    "https://www.cdc.gov/ncbddd/musculardystrophy/",
)
CDC_GROWTH = Citation(
    "CDC-BMI",
    "CDC BMI-for-age growth reference (2000)",
    "https://www.cdc.gov/growthcharts/",
)

ALL: tuple[Citation, ...] = tuple(v for v in list(globals().values()) if isinstance(v, Citation))
BY_KEY: dict[str, Citation] = {c.key: c for c in ALL}
