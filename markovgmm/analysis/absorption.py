"""Absorption, consensus and polarisation probabilities (MODEL.md 3).

With ``T`` the transient states and ``Q`` the chain restricted to them, the
probability of ending in closed class ``C`` from transient state ``t`` is
``h_C = (I - Q)^{-1} b_C`` with ``b_C(t) = P(t, C)``; the expected number of
steps to enter a closed class is ``(I - Q)^{-1} 1``; and
``P(absorbed by step t) = (P^t 1_closed)``.  P(polarisation) sums ``h_C`` over
polarised classes, P(consensus on k) over the consensus class at vertex
``k``, and P(other) the rest, so the three add to 1.

Time is counted in chain steps, self-loops included (MODEL.md 3).  Every
function works on exact chains (results are :class:`fractions.Fraction`) and
float chains (results are floats) alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..observables import silo_sizes, silos_of_weights
from .classes import closed_classes, reachable_from, small
from .linalg import solve_absorbing
from .propagation import propagate

__all__ = [
    "AbsorptionResult",
    "absorption_probabilities",
    "absorb",
    "absorption_time_distribution",
    "reachable_states",
    "polarization_probability",
]


@dataclass
class AbsorptionResult:
    """Absorption probabilities and times of a chain.

    Attributes
    ----------
    starts : (n_starts,) int array
        The start states the rows refer to.
    classes : list of ClosedClass
    class_probabilities : list of lists
        ``[start][class]``: probability of ending in each closed class.
    expected_steps : list
        Expected number of steps to enter a closed class, per start.
    exact : bool
    """

    starts: np.ndarray
    classes: list
    class_probabilities: list
    expected_steps: list
    exact: bool
    n_components: int

    def _sum(self, row, predicate):
        zero = Fraction(0) if self.exact else 0.0
        return sum((p for p, c in zip(self.class_probabilities[row], self.classes) if predicate(c)), zero)

    def polarization(self, row=0):
        """P(polarisation) from start ``row``."""
        return self._sum(row, lambda c: c.kind == "polarised")

    def consensus(self, row=0):
        """P(consensus on any component)."""
        return self._sum(row, lambda c: c.kind == "consensus")

    def other(self, row=0):
        """P(ending in a class that is neither consensus nor polarised)."""
        return self._sum(row, lambda c: c.kind == "other")

    def consensus_by_component(self, row=0):
        """``[P(consensus on k) for k in range(K)]``."""
        return [self._sum(row, lambda c, k=k: c.kind == "consensus" and c.component == k) for k in range(self.n_components)]

    def row_of(self, state):
        hits = np.flatnonzero(self.starts == state)
        if len(hits) == 0:
            raise KeyError(f"state {state} is not among the start states of this result")
        return int(hits[0])


def reachable_states(chain, start):
    """State numbers reachable from ``start`` (itself included), sorted.

    Breadth-first search: :func:`~markovgmm.analysis.classes.reachable_from`
    on the chain's CSR arrays for a small chain (no scipy), scipy's
    ``breadth_first_order`` otherwise.
    """
    if small(chain.n_states):
        return reachable_from(chain.indptr, chain.indices, int(start))
    from scipy.sparse.csgraph import breadth_first_order

    return np.sort(breadth_first_order(chain.structure(), start, directed=True, return_predecessors=False))


def absorption_probabilities(chain, start: int | np.integer | None = None, progress=None, structure=None) -> AbsorptionResult:
    """Probability of each closed class and expected absorption time.

    Parameters
    ----------
    chain : Chain
    start : int or None
        A start state number (only states reachable from it are solved), or
        None for every state at once.
    progress : callable, optional
        Called with the number of transient states solved so far.
    structure : ClassStructure, optional
        Closed classes, if already computed.

    Returns
    -------
    AbsorptionResult

    Notes
    -----
    One block-triangular solve of ``(I - Q) [H | t] = [B | 1]`` (see
    :mod:`markovgmm.analysis.linalg`) with one column per closed class plus
    one for the expected time.  MODEL.md 3.

    Examples
    --------
    >>> from markovgmm import System, build_chain
    >>> chain = build_chain(System(agents=2, components=2, memory=4))
    >>> result = absorption_probabilities(chain, chain.index(((2, 2), (2, 2))))
    >>> result.polarization()
    Fraction(139813, 1630674)
    """
    structure = structure if structure is not None else closed_classes(chain)
    classes = structure.classes
    class_of = structure.class_of
    if start is None:
        starts = np.arange(chain.n_states)
        transient = structure.transient
    else:
        from ._start import start_number

        start = start_number(chain, start)
        starts = np.array([start])
        transient = np.intersect1d(reachable_states(chain, start), structure.transient)
    n_classes = len(classes)
    # Right-hand sides: one-step probability into each closed class, and 1 (in numerator units) for the time.
    rows = np.repeat(np.arange(len(transient)), np.diff(chain.indptr)[transient])
    take = np.concatenate([np.arange(chain.indptr[t], chain.indptr[t + 1]) for t in transient]) if len(transient) else np.zeros(0, np.int64)
    target_class = class_of[chain.indices[take]]
    into = target_class >= 0
    dtype = chain.values.dtype if chain.exact else np.float64
    rhs = np.zeros((len(transient), n_classes + 1), dtype=object if dtype == object else dtype)
    np.add.at(rhs, (rows[into], target_class[into]), chain.values[take][into])
    rhs[:, n_classes] = chain.denominator
    solution = solve_absorbing(chain, transient, rhs, progress=progress)
    position = {int(t): k for k, t in enumerate(transient)}
    one, zero = (Fraction(1), Fraction(0)) if chain.exact else (1.0, 0.0)
    probabilities, times = [], []
    for state in starts.tolist():
        if class_of[state] >= 0:
            row = [zero] * n_classes
            row[class_of[state]] = one
            probabilities.append(row)
            times.append(zero)
        else:
            values = solution[position[state]]
            probabilities.append([v for v in values[:n_classes]] if chain.exact else [float(v) for v in values[:n_classes]])
            times.append(values[n_classes] if chain.exact else float(values[n_classes]))
    return AbsorptionResult(starts, classes, probabilities, times, chain.exact, chain.system.components)


def polarization_probability(chain, start):
    """P(polarisation) from state number ``start``, solved on orbits when it can be.

    On a full chain whose reading matrix has a nontrivial symmetry group the
    value is computed on the lumped chain
    (:func:`~markovgmm.chain.lumped.build_lumped_chain`), which gives the
    same number (strong lumpability, ``proofs/lumpability.md``) from far
    fewer states; otherwise on ``chain`` itself.  MODEL.md 3.

    Examples
    --------
    >>> from markovgmm import System, build_chain
    >>> chain = build_chain(System(agents=2, components=2, memory=4))
    >>> polarization_probability(chain, chain.index(((2, 2), (2, 2))))
    Fraction(139813, 1630674)
    """
    if not chain.lumped:
        from ..chain.lumped import build_lumped_chain
        from ..chain.symmetry import agent_group

        group = agent_group(chain.system)
        if not group.trivial:
            lumped = build_lumped_chain(chain.system, exact=chain.exact, group=group)
            return absorption_probabilities(lumped, lumped.index(chain.counts(start))).polarization()
    return absorption_probabilities(chain, start).polarization()


def absorption_time_distribution(chain, start, horizon, structure=None):
    """``[P(absorbed by step t) for t in 0..horizon]`` from state ``start``.

    Computed by pushing the start distribution forward, ``p_{t+1} = p_t P``
    (:func:`~markovgmm.analysis.propagation.propagate`: exact integers over a
    common denominator on the exact path), and summing its mass on
    closed-class states; the sequence is non-decreasing and tends to 1.

    Examples
    --------
    >>> from markovgmm import System, build_chain
    >>> chain = build_chain(System(agents=2, components=2, memory=2))
    >>> [str(x) for x in absorption_time_distribution(chain, chain.index(((1, 1), (1, 1))), 2)]
    ['0', '1/4', '9/16']
    """
    structure = structure if structure is not None else closed_classes(chain)
    closed = structure.class_of >= 0
    return [law.mass(closed) for law in propagate(chain, start, horizon)]


def absorb(chain, start: int | np.integer | tuple | list, horizon: int | None = None, progress=None) -> dict:
    """Everything MODEL.md 3 asks for from one start state, as a plain dict.

    Parameters
    ----------
    chain : Chain
        A full or a lumped chain (:func:`~markovgmm.chain.build.build_chain`).
    start : int or sequence of count vectors
        A state number, or the start state itself (one count vector per
        agent); on a lumped chain give the state itself, so that the full
        chain's closed classes can be recovered from its symmetry.
    horizon : int, optional
        Also report ``P(absorbed by step t)`` for ``t <= horizon``.
    progress : callable, optional

    Returns
    -------
    dict
        Keys: ``system``, ``start``, ``exact``, ``states`` and ``transient``
        (counted on the full chain), ``lumped_states`` and
        ``lumped_transient`` (orbits solved; None when not lumped),
        ``transitions`` (of the chain solved), ``polarization``,
        ``consensus``, ``consensus_by_component``, ``other``,
        ``expected_steps``, ``classes`` (each with ``kind``, ``states`` as
        count vectors, ``probability``, ``component``, ``camps``,
        ``camp_sizes``) and, with a ``horizon``, ``absorption_time_cdf``.
        For the mirror model (MODEL.md 6.2) every class also has ``silos``
        and ``silo_sizes``, and ``silos_law`` maps a number of silos to its
        probability at absorption.
        On a lumped chain the classes are the full chain's when the start's
        own symmetry fixes each one's share
        (:func:`~markovgmm.chain.lumped.split_closed_classes`); otherwise
        each stands for an orbit of classes and has ``full_states``.

    Examples
    --------
    >>> from markovgmm import System, build_chain
    >>> chain = build_chain(System(agents=2, components=2, memory=4))
    >>> report = absorb(chain, chain.index(((2, 2), (2, 2))))
    >>> report["polarization"], report["consensus_by_component"]
    (Fraction(139813, 1630674), [Fraction(1490861, 3261348), Fraction(1490861, 3261348)])
    >>> lumped = absorb(build_chain(System(agents=2, components=2, memory=4), lump=True), ((2, 2), (2, 2)))
    >>> lumped["polarization"], lumped["states"], lumped["lumped_states"], len(lumped["classes"])
    (Fraction(139813, 1630674), 25, 15, 4)
    """
    from ._start import parse_start

    start, start_state = parse_start(chain, start)
    structure = closed_classes(chain)
    result = absorption_probabilities(chain, start, progress=progress, structure=structure)
    probabilities = result.class_probabilities[0]
    classes = [
        {
            "kind": cls.kind,
            "states": [chain.counts(s) for s in cls.states],
            "probability": probability,
            "component": cls.component,
            "camps": cls.camps,
            "camp_sizes": cls.camp_sizes,
        }
        for cls, probability in zip(result.classes, probabilities)
    ]
    transient = int(len(structure.transient))
    if chain.lumped:
        classes = _full_classes(chain, start_state, structure, probabilities, classes)
    report = {
        "system": chain.system.describe(),
        "start": start_state if start_state is not None else chain.counts(start),
        "exact": chain.exact,
        "states": chain.n_full_states,
        "transient": int(chain.orbit_size[structure.transient].sum()) if chain.lumped else transient,
        "lumped_states": chain.n_states if chain.lumped else None,
        "lumped_transient": transient if chain.lumped else None,
        "transitions": chain.n_transitions,
        "polarization": result.polarization(),
        "consensus": result.consensus(),
        "consensus_by_component": _consensus_by_component(chain, result, start_state, structure, probabilities),
        "other": result.other(),
        "expected_steps": result.expected_steps[0],
        "classes": classes,
    }
    if chain.system.model == "mirror":
        _add_silos(report)
    if horizon is not None:
        report["absorption_time_cdf"] = absorption_time_distribution(chain, start, horizon, structure)
    return report


def _add_silos(report):
    """Silos of each closed class and the law of the number of silos at
    absorption (MODEL.md 6.2): an agent's silo is the argmax of its counts,
    the lowest index on ties; a class's silos are known when every state in
    it has the same silo sizes (else ``silos`` is None and the class's
    probability is reported under ``silos_law["varies"]``)."""
    law = {}
    for cls in report["classes"]:
        sizes = {silo_sizes(silos_of_weights(np.array(state))) for state in cls["states"]}
        known = len(sizes) == 1
        cls["silo_sizes"] = list(sizes.pop()) if known else None
        cls["silos"] = len(cls["silo_sizes"]) if known else None
        key = cls["silos"] if known else "varies"
        if cls["probability"]:  # the law lists the numbers of silos that occur
            law[key] = law.get(key, 0) + cls["probability"]
    report["silos_law"] = dict(sorted(law.items(), key=lambda item: (isinstance(item[0], str), item[0])))


def _full_classes(chain, start_state, structure, probabilities, classes):
    """The full chain's closed classes from a lumped chain's, when the start's
    symmetry fixes each share; else the lumped classes with ``full_states``."""
    from ..chain.lumped import full_class_labels, split_closed_classes
    from ..chain.states import rank_counts

    split = None
    if start_state is not None:
        split = split_closed_classes(chain, rank_counts(start_state, chain.system.memory), structure.classes, probabilities)
    if split is not None:
        return [
            {
                "kind": cls.kind,
                "states": [tuple(tuple(int(x) for x in chain.local_counts[r]) for r in ranks)],
                "probability": share,
                "component": labels[0],
                "camps": labels[1],
                "camp_sizes": cls.camp_sizes,
            }
            for ranks, cls, share in split
            for labels in [full_class_labels(chain, ranks, cls)]
        ]
    for cls, lumped_class in zip(classes, structure.classes):
        cls["full_states"] = int(chain.orbit_size[list(lumped_class.states)].sum())
    return classes


def _consensus_by_component(chain, result, start_state, structure, probabilities):
    """``[P(consensus on k)]``.  Under a component symmetry (a lumped chain
    whose group has a component part) it is not an orbit invariant: it is
    split back by :func:`~markovgmm.chain.lumped.consensus_split`, None when
    the start's stabiliser does not determine it (proofs/lumpability.md)."""
    if not (chain.lumped and getattr(chain.group, "has_components", False)):
        return result.consensus_by_component()
    from ..chain.lumped import consensus_split
    from ..chain.states import rank_counts

    if start_state is None:
        return None
    return consensus_split(chain, rank_counts(start_state, chain.system.memory), structure.classes, probabilities)
