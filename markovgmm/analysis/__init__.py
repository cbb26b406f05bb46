"""Analyses of a built chain, grouped by family (MODEL.md 3-4).

- :mod:`.classes`: closed classes and their kinds;
- :mod:`.absorption`: absorption, polarisation, consensus, absorption times;
- :mod:`.propagation`: the law ``p_t = p_0 P^t``;
- :mod:`.claims`: convergence claims A1-A3 (seed 002, Appendix A);
- :mod:`.bounds`: lower bounds LB1-LB3 on P(polarisation);
- :mod:`.certified`: certified enclosures of absorption probabilities;
- :mod:`.verify`: A1-A3 and LB1-LB3 over a family of systems;
- :mod:`.linalg`: the exact (verified p-adic) and float block solvers.
"""

_LAZY = {
    **dict.fromkeys(
        ["AbsorptionResult", "absorb", "absorption_probabilities", "absorption_time_distribution", "reachable_states"],
        "absorption",
    ),
    **dict.fromkeys(["bounds_report", "closed_form_bound", "closed_form_two_phase", "horizon_bounds", "path_bounds"], "bounds"),
    **dict.fromkeys(["certified_absorb", "certified_absorption", "certified_expected_time"], "certified"),
    "claims_report": "claims",
    **dict.fromkeys(["ClassStructure", "ClosedClass", "closed_classes"], "classes"),
    **dict.fromkeys(["Distribution", "propagate"], "propagation"),
}


def __getattr__(name):
    """The names of ``__all__``, imported from their module on first use
    (PEP 562): importing one analysis does not import all the others."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AbsorptionResult",
    "ClassStructure",
    "ClosedClass",
    "Distribution",
    "absorb",
    "absorption_probabilities",
    "absorption_time_distribution",
    "bounds_report",
    "certified_absorb",
    "certified_absorption",
    "certified_expected_time",
    "claims_report",
    "closed_classes",
    "closed_form_bound",
    "closed_form_two_phase",
    "horizon_bounds",
    "path_bounds",
    "propagate",
    "reachable_states",
]
