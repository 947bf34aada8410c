"""Nutrition: weight loss and BMI in adults (NUT-01..05), children (NUT-06, NUT-07), over-nutrition
(NUT-08) and the ALS gastrostomy window (NUT-09). Importing the package declares its rules."""

from service.rules.nutrition import bmi, children, gastrostomy, overnutrition, weight

__all__ = ["bmi", "children", "gastrostomy", "overnutrition", "weight"]
