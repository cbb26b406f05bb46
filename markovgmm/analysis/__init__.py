"""Analyses of a built chain, grouped by family (MODEL.md 3-4)."""

from .absorption import (
    AbsorptionResult,
    absorb,
    absorption_probabilities,
    absorption_time_distribution,
    reachable_states,
)
from .classes import ClassStructure, ClosedClass, closed_classes

__all__ = [
    "AbsorptionResult",
    "ClassStructure",
    "ClosedClass",
    "absorb",
    "absorption_probabilities",
    "absorption_time_distribution",
    "closed_classes",
    "reachable_states",
]
