"""One report over a family of systems: claims A1-A3 and bounds LB1-LB3 (MODEL.md 4).

For every system of a family (a small built-in one by default, or a list of
system descriptions), build the chain, run
:func:`~markovgmm.analysis.claims.claims_report` (A1 one-step identity, A2
iterated identity, A3 limit of ``E||D_t||_F``) and
:func:`~markovgmm.analysis.bounds.bounds_report` (LB1 horizon bounds, LB2
path bounds, LB3 closed forms) from the system's start state, and collect one
row per system: what holds, what fails, and how tight each bound is.  The
report also says where seed 002's Appendix A argument breaks: whenever
``lim E||D_t||_F > 0`` (A3 under ``support`` ownership with positive
P(polarisation)), with the exact limit, taken from the claims results.
"""

from __future__ import annotations

from fractions import Fraction

from ..errors import InputError
from ..numbers import fraction_str
from ..system import System, balanced_counts, parse_start, state_text

__all__ = ["DEFAULT_FAMILY", "system_from_dict", "verify_family"]

#: The built-in family: small (each chain has at most 64 states), covering
#: sync/async, complete/path graphs, K = 2 and 3, support and open ownership.
DEFAULT_FAMILY = (
    {"agents": 2, "components": 2, "memory": 4, "start": "2,2;2,2"},
    {"agents": 2, "components": 2, "memory": 4, "start": "3,1;2,2"},
    {"agents": 2, "components": 2, "memory": 4, "schedule": "async", "start": "3,1;1,3"},
    {"agents": 2, "components": 2, "memory": 4, "ownership": "open", "start": "3,1;1,3"},
    {"agents": 3, "components": 2, "memory": 3, "start": "2,1;2,1;1,2"},
    {"agents": 3, "components": 2, "memory": 3, "graph": "path", "start": "2,1;1,2;2,1"},
    {"agents": 2, "components": 3, "memory": 3, "start": "1,1,1;2,1,0"},
)

_SYSTEM_KEYS = (
    "agents", "components", "memory", "replace", "schedule", "ownership", "prune",
    "means", "covariance", "graph", "reading", "closed_neighbourhood",
)
_KEYS = _SYSTEM_KEYS + ("start", "exact")


def system_from_dict(entry, where="system"):
    """A :class:`System`, its start state and arithmetic from one family entry.

    ``entry`` holds :class:`System` parameters (``agents``, ``components``,
    ``memory``, ``replace``, ``schedule``, ``ownership``, ``prune``,
    ``means``, ``covariance``, ``graph`` as a name, ``reading``,
    ``closed_neighbourhood``), optionally ``start`` (``"c11,c12;c21,c22"`` or
    a list of count lists; default the most balanced counts) and ``exact``
    (default True).

    >>> system, start, exact = system_from_dict({"agents": 2, "components": 2, "memory": 3})
    >>> system.describe(), start, exact
    ('m=2, K=2, N=3, r=1, sync, support, graph=complete', ((2, 1), (2, 1)), True)
    """
    if not isinstance(entry, dict):
        raise InputError(f"{where}: expected an object of system parameters, got {type(entry).__name__}")
    unknown = sorted(set(entry) - set(_KEYS))
    if unknown:
        raise InputError(f"{where}: unknown key {unknown[0]!r}; allowed keys are {', '.join(_KEYS)}")
    for key in ("agents", "components", "memory"):
        if key not in entry:
            raise InputError(f"{where}: missing {key!r}")
    params = {k: entry[k] for k in _SYSTEM_KEYS if k in entry}
    try:
        system = System(**params)
    except InputError as err:
        raise InputError(f"{where}: {err}") from None
    start = entry.get("start")
    try:
        if start is None:
            start = tuple(balanced_counts(system.memory, system.components) for _ in range(system.agents))
        elif isinstance(start, str):
            start = parse_start(start, system.agents, system.components, system.memory)
        else:
            start = tuple(tuple(c) for c in start)
        start = system.check_state(start)
    except (InputError, TypeError) as err:
        # the parsers already name the parameter ("start: ..."); a TypeError does not
        text = str(err)
        raise InputError(f"{where}: {text if text.startswith('start') else 'start: ' + text}") from None
    exact = entry.get("exact", True)
    if not isinstance(exact, bool):
        raise InputError(f"{where}: exact must be true or false, got {exact!r}")
    return system, start, exact


def _number(value):
    if value is None:
        return None
    return float(value)


def verify_family(family=None, horizon=20, paths=5, epsilon=Fraction(1, 2), progress=None):
    """Run A1-A3 and LB1-LB3 over a family of systems.

    Parameters
    ----------
    family : list of dict, optional
        System descriptions (see :func:`system_from_dict`); default
        :data:`DEFAULT_FAMILY`.
    horizon : int
        Horizon of the A2 series and of the LB1 bounds.
    paths : int
        ``k`` of the LB2 path bound.
    epsilon : rational
        The ``eps`` of A3's Markov bound.
    progress : callable, optional
        Called with the number of systems done.

    Returns
    -------
    dict
        ``horizon``, ``paths``, ``rows`` (one per system: ``system``,
        ``start``, ``arithmetic``, ``polarization``, ``A1_holds``,
        ``A1_failing``, ``A2_first_failure``, ``A3_limit``,
        ``A3_limit_float``, ``A3_holds``, ``LB1_lower``, ``LB1_upper`` (at
        ``T = horizon``), ``ratio`` (each bound over the exact value, see
        :func:`~markovgmm.analysis.bounds.bounds_report`), ``bounds_hold``
        (every exact comparison holds; None on the float path)),
        ``appendix_breaks`` (one plain sentence per system where
        ``lim E||D_t||_F > 0``), ``all_bounds_hold`` and ``claims``,
        ``bounds`` (the full reports, by row).

    Notes
    -----
    A3 "holds" when ``lim E||D_t||_F = 0`` (seed 002, eq. (5) in
    expectation).  Where it does not, seed 002's Appendix A step from
    ``E[pi_i^t - pi_j^t] -> 0`` to ``E||D_t||_F -> 0`` fails; the size of the
    failure is the limit itself (MODEL.md 4, A3), ``2 P(polarisation)`` for
    ``m = 2, K = 2``.  Cost: one exact absorption solve and two propagations
    of ``horizon`` steps per system.

    Examples
    --------
    >>> report = verify_family([{"agents": 2, "components": 2, "memory": 2, "start": "1,1;1,1"}], horizon=3)
    >>> row = report["rows"][0]
    >>> row["polarization"], row["A3_limit"], row["bounds_hold"]
    (Fraction(1, 3), Fraction(2, 3), True)
    """
    from ..chain.build import build_chain
    from .bounds import bounds_report
    from .claims import claims_report
    from .classes import closed_classes

    family = list(DEFAULT_FAMILY if family is None else family)
    if not family:
        raise InputError("family: needs at least one system")
    prepared = [system_from_dict(entry, where=f"system {i}") for i, entry in enumerate(family)]
    rows, breaks, claims_all, bounds_all = [], [], [], []
    for done, (system, start_state, exact) in enumerate(prepared, 1):
        chain = build_chain(system, exact=exact)
        start = chain.index(start_state)
        structure = closed_classes(chain)
        claims = claims_report(chain, start, horizon=horizon, epsilon=epsilon)
        bounds = bounds_report(chain, start, horizon=horizon, paths=paths, structure=structure)
        a1, a2, a3 = claims["A1"], claims["A2"], claims["A3"]
        limit = a3["limit_expected_frobenius"]
        limit_float = a3.get("limit_expected_frobenius_float", _number(limit) if not isinstance(limit, str) else None)
        a3_holds = a3.get("holds", limit == 0)
        row = {
            "system": system.describe(),
            "start": start_state,
            "arithmetic": "exact" if exact else "float",
            "polarization": bounds["polarization"],
            "A1_holds": a1["holds"],
            "A1_failing": len(a1["failing_states"]) if a1.get("n_failing") is None else a1["n_failing"],
            "A2_first_failure": a2["first_failure"],
            "A3_limit": limit,
            "A3_limit_float": limit_float,
            "A3_holds": a3_holds,
            "LB1_lower": bounds["horizon"]["lower"][-1],
            "LB1_upper": bounds["horizon"]["upper"][-1],
            "ratio": bounds["ratio"],
            "bounds_hold": None if bounds["checks"] is None else bounds["checks"]["all"],
        }
        rows.append(row)
        claims_all.append(claims)
        bounds_all.append(bounds)
        if not a3_holds:
            shown = fraction_str(limit) if isinstance(limit, Fraction) else str(limit)
            polar = bounds["polarization"]
            breaks.append(
                f"{row['system']}, start {state_text(start_state)}: seed 002 Appendix A breaks at A3 "
                f"(the step from the signed E[pi_i^t - pi_j^t] to E||D_t||_F): lim E||D_t||_F = {shown} "
                f"(about {limit_float:.6g}), not 0, "
                + (
                    f"because P(polarisation) = {_value_text(polar)} > 0 and a polarised state keeps ||D||_F > 0 forever"
                    if polar
                    else "because closed classes that are not consensus (kind 'other') keep ||D||_F > 0"
                )
                + (" (the limit is 2 P(polarisation) for m=2, K=2)" if system.agents == 2 and system.components == 2 else "")
                + "; so ||D_t||_F -> 0 in probability fails as well"
            )
        if progress is not None:
            progress(done)
    holds = [r["bounds_hold"] for r in rows if r["bounds_hold"] is not None]
    return {
        "horizon": int(horizon),
        "paths": int(paths),
        "rows": rows,
        "appendix_breaks": breaks,
        "all_bounds_hold": all(holds) if holds else None,
        "claims": claims_all,
        "bounds": bounds_all,
    }


def _value_text(value):
    if isinstance(value, Fraction):
        text = fraction_str(value)
        return text if len(text) <= 30 else f"{float(value):.6g}"
    return f"{value:.6g}"
