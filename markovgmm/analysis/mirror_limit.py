"""The well-separated limit, checked: the continuous mirroring system of
MODEL.md 6.1 against the mirroring chain of MODEL.md 6.2.

As ``delta / sigma -> infinity`` the continuous system becomes the chain
(MODEL.md 6.2).  This module runs the continuous system from the chain's
state (stores of exactly the chain's compositions,
:func:`~markovgmm.simulate.mirror.simulate_mirror` with ``start_counts``)
and compares, at a finite separation, what the chain computes exactly:

- P(polarisation) and P(consensus): the frequencies of runs that reach an
  absorbing all-vertex state with two or more silos / one silo, with
  Clopper-Pearson intervals at ``level``;
- the expected absorption time: the mean over runs of the first step at
  which the continuous state *is* an absorbing state of the chain (every
  agent's weights within ``1e-6`` of a vertex, and the vertex pattern
  absorbing: every silo has at least ``k + 1`` agents, or ``p = 1``, or
  ``r = 1``; proofs/mirror_closed_classes.md), with a normal interval
  ``mean +- z * s.e.`` at ``level``.

A run not absorbed by the horizon is reported (``unabsorbed``) and widens the
frequency intervals (it could end either way); it is never dropped.
"""

from __future__ import annotations

from math import sqrt

import numpy as np
from scipy.stats import norm

from ..errors import InputError

__all__ = ["continuous_absorption", "well_separated_check", "absorption_time_curve"]

#: Weights within this distance of a vertex count as the vertex.
VERTEX_TOLERANCE = 1e-6


def continuous_absorption(weights, memory, neighbours, mirror):
    """First absorption step, kind and number of silos of each continuous run.

    Parameters
    ----------
    weights : (R, T+1, n, K) array
        Weights of the continuous runs.
    memory, neighbours, mirror
        ``r``, ``k``, ``p`` of the chain.

    Returns
    -------
    steps : (R,) int array
        First ``t`` at which the run sits at an absorbing all-vertex state, -1 if none.
    silos : (R,) int array
        Number of silos there (0 for an unabsorbed run).

    Examples
    --------
    >>> w = np.array([[[[0.6, 0.4], [0, 1]], [[1, 0], [0, 1]], [[1, 0], [1, 0]]]], dtype=float)
    >>> continuous_absorption(w, memory=2, neighbours=1, mirror=0.5)
    (array([2]), array([1]))
    """
    weights = np.asarray(weights)
    R, T1, n, K = weights.shape
    at_vertex = (weights.max(axis=-1) >= 1 - VERTEX_TOLERANCE).all(axis=-1)  # (R, T+1)
    labels = weights.argmax(axis=-1)  # (R, T+1, n)
    sizes = np.zeros((R, T1, K), dtype=np.int64)
    np.add.at(sizes, (np.arange(R)[:, None, None], np.arange(T1)[None, :, None], labels), 1)
    frozen = (sizes == 0) | (sizes >= neighbours + 1)
    absorbing = at_vertex & (frozen.all(axis=-1) | (mirror == 1) | (memory == 1))
    hit = absorbing.any(axis=1)
    first = np.where(hit, absorbing.argmax(axis=1), -1)
    silos = np.where(hit, (sizes[np.arange(R), np.maximum(first, 0)] > 0).sum(axis=-1), 0)
    return first, silos


def well_separated_check(system, start, separation=40.0, replicates=1500, steps=200, seed=0, level=0.999, chain_report=None):
    """Continuous runs at ``delta / sigma = separation`` against the exact chain.

    Parameters
    ----------
    system : System
        A ``System(model="mirror", ...)``; its geometry, ``r``, ``k``, ``p``
        are used by both sides, ``sigma = 1`` and ``delta = separation``.
    start : tuple of count tuples
        The chain state both start from.
    separation : float
    replicates, steps, seed : int
        Continuous runs, their horizon and the seed.
    level : float
        Confidence level of the intervals.
    chain_report : dict, optional
        ``absorb(...)`` of the chain from ``start`` if already computed.

    Returns
    -------
    dict
        ``separation``, ``replicates``, ``unabsorbed``, and for each of
        ``polarization``, ``consensus``: ``exact`` (Fraction), ``frequency``,
        ``interval``, ``inside``; ``expected_steps``: ``exact``, ``mean``,
        ``standard_error``, ``interval``, ``inside``; ``agrees`` (all inside).

    Examples
    --------
    >>> from markovgmm import System
    >>> s = System(model="mirror", agents=2, components=2, memory=2, neighbours=1, mirror="1/2")
    >>> out = well_separated_check(s, ((1, 1), (2, 0)), replicates=200, steps=60, seed=1)
    >>> out["polarization"]["exact"], out["agrees"]
    (Fraction(0, 1), True)
    """
    from ..chain.build import build_chain
    from ..simulate.chain_mc import binomial_interval
    from ..simulate.mirror import simulate_mirror
    from .absorption import absorb

    if system.model != "mirror":
        raise InputError("system: the well-separated limit is a statement about model=mirror (MODEL.md 6.2)")
    start = system.check_state(start)
    if chain_report is None:
        chain_report = absorb(build_chain(system, exact=True, lump=True), start)
    run = simulate_mirror(
        agents=system.agents, components=system.components, memory=system.memory, neighbours=system.neighbours,
        mirror=float(system.mirror), geometry=system.geometry, delta=float(separation), sigma=1.0,
        eps=float(system.eps), steps=steps, replicates=replicates, seed=seed, start_counts=np.array(start),
    )
    first, silos = continuous_absorption(run.weights, system.memory, system.neighbours, float(system.mirror))
    absorbed = first >= 0
    unabsorbed = int((~absorbed).sum())
    out = {"separation": float(separation), "replicates": int(replicates), "steps": int(steps), "unabsorbed": unabsorbed}
    for name, hits, exact in (
        ("polarization", int((silos >= 2).sum()), chain_report["polarization"]),
        ("consensus", int((silos == 1).sum()), chain_report["consensus"]),
    ):
        low, high = binomial_interval(hits, replicates, level=level)
        high = min(1.0, high + unabsorbed / replicates)  # an unabsorbed run could still end this way
        out[name] = {"exact": exact, "frequency": hits / replicates, "interval": [low, high], "inside": bool(low <= float(exact) <= high)}
    times = first[absorbed].astype(float)
    mean = float(times.mean()) if len(times) else float("nan")
    se = float(times.std(ddof=1) / sqrt(len(times))) if len(times) > 1 else float("inf")
    z = float(norm.ppf(0.5 + level / 2))
    exact_steps = chain_report["expected_steps"]
    out["expected_steps"] = {
        "exact": exact_steps,
        "mean": mean,
        "standard_error": se,
        "interval": [mean - z * se, mean + z * se],
        "inside": bool(unabsorbed == 0 and mean - z * se <= float(exact_steps) <= mean + z * se),
    }
    out["agrees"] = all(out[key]["inside"] for key in ("polarization", "consensus", "expected_steps"))
    return out


def absorption_time_curve(system, start, separations, replicates=300, steps=400, seed=0):
    """Mean absorption step of the continuous system against ``delta / sigma``,
    beside the chain's exact expected absorption time (its limit).

    Returns a dict with ``geometry``, ``separations``, ``mean``,
    ``standard_error``, ``unabsorbed`` (per separation; a run not absorbed by
    ``steps`` is left out of the mean and counted here) and ``chain`` (the
    exact expected steps, a Fraction).  MODEL.md 6.1-6.2.

    >>> from markovgmm import System
    >>> s = System(model="mirror", agents=2, components=2, memory=2, neighbours=1, mirror="1/2")
    >>> out = absorption_time_curve(s, ((1, 1), (2, 0)), [40], replicates=50, steps=60)
    >>> out["chain"], len(out["mean"])
    (Fraction(103, 34), 1)
    """
    from ..chain.build import build_chain
    from ..simulate.mirror import simulate_mirror
    from .absorption import absorb

    start = system.check_state(start)
    chain = absorb(build_chain(system, exact=True, lump=True), start)["expected_steps"]
    means, errors, lost = [], [], []
    for separation in separations:
        run = simulate_mirror(
            agents=system.agents, components=system.components, memory=system.memory, neighbours=system.neighbours,
            mirror=float(system.mirror), geometry=system.geometry, delta=float(separation), sigma=1.0,
            eps=float(system.eps), steps=steps, replicates=replicates, seed=seed, start_counts=np.array(start),
        )
        first, _ = continuous_absorption(run.weights, system.memory, system.neighbours, float(system.mirror))
        done = first[first >= 0].astype(float)
        means.append(float(done.mean()) if len(done) else float("nan"))
        errors.append(float(done.std(ddof=1) / sqrt(len(done))) if len(done) > 1 else float("nan"))
        lost.append(int((first < 0).sum()))
    return {
        "geometry": system.geometry,
        "separations": [float(x) for x in separations],
        "mean": means,
        "standard_error": errors,
        "unabsorbed": lost,
        "chain": chain,
    }
