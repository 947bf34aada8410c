"""Bone health: spine imaging (SI), bone density (BMD), bone-targeted therapy (BT), monitoring on therapy
(MON) and vitamin D (VD). Importing the package declares its rules."""

from service.rules.bone import density, monitoring, spine_imaging, therapy, vitamin_d

__all__ = ["density", "monitoring", "spine_imaging", "therapy", "vitamin_d"]
