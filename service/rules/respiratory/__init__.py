"""Respiratory follow-up, only where justified: NIV criteria and vital capacity in ALS (RESP-01,
RESP-02), spirometry due (RESP-03), FVC below the line in other neuromuscular disorders (RESP-04).
Importing the package declares its rules."""

from service.rules.respiratory import spirometry

__all__ = ["spirometry"]
