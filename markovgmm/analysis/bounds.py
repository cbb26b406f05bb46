"""Lower (and upper) bounds on P(polarisation): LB1-LB3 (MODEL.md 4).

Three bounds, each cheaper than the exact linear solve of
:mod:`markovgmm.analysis.absorption` and each proven in ``proofs/``:

* **LB1, horizon bounds** (:func:`horizon_bounds`, ``proofs/LB1_horizon.md``):
  push the start distribution forward (:mod:`markovgmm.analysis.propagation`)
  and read, for every ``T``, ``P(in a polarised class at step T)`` (a lower
  bound, non-decreasing in ``T``) and ``1 - P(in a non-polarised closed class
  at step T)`` (an upper bound, non-increasing).  Both tend to the exact value.
* **LB2, path bounds** (:func:`path_bounds`, ``proofs/LB2_paths.md``): the most
  probable first-passage path into the polarised set (Dijkstra on ``-log p``)
  and the sum over the ``k`` most probable distinct simple first-passage paths
  (Yen's algorithm, :func:`networkx.shortest_simple_paths`); distinct
  first-passage paths are disjoint events, so their probabilities add up to a
  lower bound.  Probabilities are exact rational products on the exact path.
* **LB3, closed form** (:func:`closed_form_bound`,
  :func:`closed_form_two_phase`, ``proofs/LB3_closed_form.md``): for ``K=2,
  r=1``, ``sync``, complete reading, ``support`` ownership, no pruning, the
  divergence path (for ``m=2``: one agent gains a label while the other loses
  it, keeping the pool frequency ``q`` fixed) has an explicit product (rising
  factorials for ``m=2``); once all agents but one are frozen on one label
  the rest is a birth-death chain solved exactly.  ``m >= 3`` agents: one
  lone agent moves to one label and all others to the other.

:func:`bounds_report` runs the three, the exact solve, and compares every
bound with the exact value, exactly (rationals) on the exact path.
"""

from __future__ import annotations

import math
from fractions import Fraction
from itertools import islice
from math import comb

import numpy as np

from ..errors import InputError
from .absorption import polarization_probability, reachable_states
from .classes import closed_classes

__all__ = [
    "horizon_bounds",
    "path_bounds",
    "closed_form_bound",
    "closed_form_two_phase",
    "closed_form_applies",
    "divergence_path",
    "frozen_polarization",
    "bounds_report",
]


# ---------------------------------------------------------------------------
# helpers


def _kind_masks(chain, structure):
    """Boolean masks over all states: in a polarised class; in another closed class."""
    polarised = np.zeros(chain.n_states, dtype=bool)
    other_closed = np.zeros(chain.n_states, dtype=bool)
    for cls in structure.classes:
        (polarised if cls.kind == "polarised" else other_closed)[list(cls.states)] = True
    return polarised, other_closed


def _check_start(chain, start):
    from ._start import start_number

    return start_number(chain, start)


def _ratio(bound, exact):
    """``bound / exact`` (a Fraction when both are exact), None if undefined."""
    if bound is None or exact is None or exact == 0:
        return None
    if isinstance(bound, Fraction) and isinstance(exact, Fraction):
        return bound / exact
    return float(bound) / float(exact)


# ---------------------------------------------------------------------------
# LB1


def horizon_bounds(chain, start, horizon, structure=None, progress=None):
    """LB1: horizon lower and upper bounds on P(polarisation) for ``T = 0..horizon``.

    Parameters
    ----------
    chain : Chain
        Exact or float chain.
    start : int or tuple
        Start state (number or count vectors).
    horizon : int
        Largest ``T``.
    structure : ClassStructure, optional
        Closed classes, if already computed.
    progress : callable, optional
        Passed on to :func:`~markovgmm.analysis.propagation.propagate`.

    Returns
    -------
    dict
        ``lower`` and ``upper``: lists of length ``horizon + 1`` (Fractions on
        an exact chain, floats otherwise).

    Notes
    -----
    With ``p_T = p_0 P^T`` (MODEL.md 4, LB1), ``A`` the union of polarised
    closed classes and ``B`` the union of the other closed classes,

    ``lower(T) = p_T(A) = P(X_T in A)`` and ``upper(T) = 1 - p_T(B)``.

    Closed sets are never left, so ``{X_T in A}`` increases in ``T`` to the
    event of polarisation (absorption happens almost surely in a finite
    chain): ``lower`` is non-decreasing with limit P(polarisation), ``upper``
    non-increasing with the same limit, and ``lower(T) <= P <= upper(T)`` for
    every ``T`` (``proofs/LB1_horizon.md``).  ``upper(T) - lower(T)`` is the
    probability of not being absorbed by ``T``.  Cost: ``horizon`` sparse
    vector-matrix products over the reachable states (exact integers over
    ``d^T`` on the exact path).

    Examples
    --------
    >>> from markovgmm import System, build_chain
    >>> chain = build_chain(System(agents=2, components=2, memory=2))
    >>> b = horizon_bounds(chain, ((1, 1), (1, 1)), 2)
    >>> [str(x) for x in b["lower"]], [str(x) for x in b["upper"]]
    (['0', '1/8', '7/32'], ['1', '7/8', '21/32'])
    """
    from .propagation import propagate

    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 0:
        raise InputError(f"horizon must be a nonnegative integer, got {horizon!r}")
    start = _check_start(chain, start)
    structure = structure if structure is not None else closed_classes(chain)
    polarised, other_closed = _kind_masks(chain, structure)
    one = Fraction(1) if chain.exact else 1.0
    lower, upper = [], []
    for dist in propagate(chain, start, int(horizon), progress=progress):
        lower.append(dist.mass(polarised))
        upper.append(one - dist.mass(other_closed))
    return {"lower": lower, "upper": upper}


# ---------------------------------------------------------------------------
# LB2

_SINK = -1  # the polarised set, collapsed to one node


def _first_passage_graph(chain, start, structure):
    """DiGraph of first-passage moves from ``start`` into the polarised set.

    Nodes: transient states reachable from ``start`` that can reach the
    polarised set, plus ``_SINK``.  Edges: the chain's transitions between
    them without self-loops, and one edge ``s -> _SINK`` carrying
    ``P(s, polarised set)``.  Edge attributes: ``value`` (numerator over
    ``chain.denominator``, or float) and ``weight = -log P``.
    """
    import networkx as nx

    polarised, other_closed = _kind_masks(chain, structure)
    closed = polarised | other_closed
    reach = reachable_states(chain, start)
    inside = np.zeros(chain.n_states, dtype=bool)
    inside[reach[~closed[reach]]] = True
    counts = np.diff(chain.indptr)
    rows = np.repeat(np.arange(chain.n_states), counts)
    keep = inside[rows]
    rows, cols, vals = rows[keep], chain.indices[keep], chain.values[keep]
    moving = inside[cols] & (rows != cols)
    into = polarised[cols]
    # Aggregate P(s, polarised set) per source s.
    sink_rows = rows[into]
    sink_vals = vals[into]
    if len(sink_rows):
        order = np.argsort(sink_rows, kind="stable")
        sink_rows, sink_vals = sink_rows[order], sink_vals[order]
        heads = np.flatnonzero(np.r_[True, sink_rows[1:] != sink_rows[:-1]])
        sink_vals = np.add.reduceat(sink_vals, heads)
        sink_rows = sink_rows[heads]
    src = np.concatenate([rows[moving], sink_rows])
    dst = np.concatenate([cols[moving], np.full(len(sink_rows), _SINK, dtype=np.int64)])
    val = np.concatenate([vals[moving], sink_vals])
    if chain.exact:
        log_den = math.log(int(chain.denominator))
        weights = [log_den - math.log(int(v)) for v in val.tolist()]
    else:
        weights = (-np.log(val.astype(np.float64))).tolist()
    graph = nx.DiGraph()
    graph.add_node(int(start))
    graph.add_node(_SINK)
    graph.add_edges_from(
        (int(s), int(t), {"value": v, "weight": max(w, 0.0)})
        for s, t, v, w in zip(src.tolist(), dst.tolist(), val.tolist(), weights)
    )
    # Keep only what can reach the sink (speeds up Yen's algorithm).
    useful = nx.ancestors(graph, _SINK) | {_SINK}
    return graph.subgraph(useful | {int(start)}).copy()


def _path_probability(chain, graph, path):
    edges = list(zip(path[:-1], path[1:]))
    if chain.exact:
        numerator = 1
        for s, t in edges:
            numerator *= int(graph.edges[s, t]["value"])
        return Fraction(numerator, int(chain.denominator) ** len(edges))
    value = 1.0
    for s, t in edges:
        value *= float(graph.edges[s, t]["value"])
    return value


def path_bounds(chain, start, k=5, structure=None):
    """LB2: most probable first-passage path(s) into the polarised set.

    Parameters
    ----------
    chain : Chain
    start : int or tuple
        Start state (number or count vectors).
    k : int
        Number of most probable distinct paths to sum (``k >= 1``).
    structure : ClassStructure, optional

    Returns
    -------
    dict
        ``best`` (probability of the most probable path), ``best_steps``,
        ``best_path`` (count vectors of the states before the polarised set;
        the last step goes into the set), ``top_k`` (sum over the paths
        found), ``k``, ``found`` (number of paths found, ``<= k``) and
        ``paths`` (``probability`` and ``steps`` of each, most probable
        first).  Probabilities are Fractions on an exact chain.

    Notes
    -----
    A first-passage path is a sequence ``s_0 = start, s_1, ..., s_n`` of
    non-polarised states followed by one step into the polarised set ``A``;
    its probability is ``prod_i P(s_i, s_{i+1}) * P(s_n, A)``.  Two distinct
    such sequences are disjoint events (the trajectory up to its first visit
    to ``A`` determines the sequence), so the sum over any set of them is a
    lower bound on P(polarisation) (MODEL.md 4, LB2; ``proofs/LB2_paths.md``).

    The graph has the transient states reachable from ``start``, the states
    of ``A`` collapsed to one sink, and weights ``-log P``; the best path is
    the shortest one (Dijkstra), the ``k`` best are the ``k`` shortest simple
    paths (Yen's algorithm, :func:`networkx.shortest_simple_paths`).
    Self-loops are left out: a path that stays in a state for some steps is a
    different (also disjoint) event, and leaving such paths out of the sum
    only lowers it, so it stays a lower bound; the single most probable path
    never repeats a state (cutting out a cycle multiplies the probability by
    ``1 / (cycle product) >= 1``).  The order of paths is decided on float
    weights (ties or near-ties may come out in either order); the
    probabilities of the chosen paths are exact rational products.
    Cost: Dijkstra ``O(E log V)``, Yen ``O(k V (E + V log V))``.

    Examples
    --------
    >>> from markovgmm import System, build_chain
    >>> chain = build_chain(System(agents=2, components=2, memory=2))
    >>> b = path_bounds(chain, ((1, 1), (1, 1)), k=3)
    >>> b["best"], b["best_steps"], b["found"], b["top_k"]
    (Fraction(1, 8), 1, 3, Fraction(5, 32))
    """
    import networkx as nx

    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"paths (k) must be a positive integer, got {k!r}")
    start = _check_start(chain, start)
    structure = structure if structure is not None else closed_classes(chain)
    polarised, _ = _kind_masks(chain, structure)
    one, zero = (Fraction(1), Fraction(0)) if chain.exact else (1.0, 0.0)
    empty = {"best": zero, "best_steps": None, "best_path": None, "top_k": zero, "k": int(k), "found": 0, "paths": []}
    if polarised[start]:
        return {**empty, "best": one, "best_steps": 0, "best_path": [], "top_k": one, "found": 1,
                "paths": [{"probability": one, "steps": 0}]}
    if structure.class_of[start] >= 0:
        return empty
    graph = _first_passage_graph(chain, start, structure)
    if _SINK not in graph or not nx.has_path(graph, start, _SINK):
        return empty
    paths = list(islice(nx.shortest_simple_paths(graph, start, _SINK, weight="weight"), int(k)))
    probabilities = [_path_probability(chain, graph, p) for p in paths]
    best = paths[0]
    return {
        "best": probabilities[0],
        "best_steps": len(best) - 1,
        "best_path": [chain.counts(s) for s in best[:-1]],
        "top_k": sum(probabilities, zero),
        "k": int(k),
        "found": len(paths),
        "paths": [{"probability": p, "steps": len(path) - 1} for p, path in zip(probabilities, paths)],
    }


# ---------------------------------------------------------------------------
# LB3


def closed_form_applies(system):
    """Why LB3 does not apply to ``system`` (a string), or None if it does.

    LB3 needs ``K=2, r=1``, ``sync``, ``support`` ownership, no pruning, at
    least two agents and the complete reading matrix ``W = 1/m`` (for
    ``m = 2``: ``W = [[1/2, 1/2], [1/2, 1/2]]``).

    >>> from markovgmm import System
    >>> closed_form_applies(System(agents=2, components=2, memory=4)) is None
    True
    >>> closed_form_applies(System(agents=2, components=2, memory=4, schedule="async"))
    'needs schedule=sync'
    """
    checks = [
        (system.model == "pool", "LB3 is a bound on the pool chain (MODEL.md 4); the mirroring chain has mirror_closed_form"),
        (system.agents >= 2, "needs at least 2 agents"),
        (system.components == 2, "needs components=2"),
        (system.replace == 1, "needs replace=1"),
        (system.schedule == "sync", "needs schedule=sync"),
        (system.ownership == "support", "needs ownership=support"),
        (system.prune == 0, "needs prune=0"),
        (system.is_complete_reading, "needs the complete reading matrix W = 1/m (complete graph, closed neighbourhoods)"),
    ]
    for ok, reason in checks:
        if not ok:
            return reason
    return None


def frozen_polarization(N, y, agents=2):
    """Exact P(polarisation) once all agents but one are frozen on one label
    (birth-death lemma).

    With ``agents - 1`` agents frozen on a label ``L`` and the last one holding
    ``y`` items of ``L`` (``K=2, r=1``, complete reading ``W = 1/m``,
    ``support``, sync or async), the moving agent performs a birth-death chain
    on ``y`` with down/up ratio ``j / ((m-1) N + j)`` at ``j``, absorbed at 0
    (polarised) and ``N`` (consensus):

    ``P(polarisation) = sum_{k=y}^{N-1} 1/C((m-1)N+k, k) / sum_{k=0}^{N-1} 1/C((m-1)N+k, k)``

    (for ``m = 2``: ``1/C(N+k, k)``; MODEL.md 4, LB3;
    ``proofs/LB3_closed_form.md``).

    >>> frozen_polarization(4, 2), frozen_polarization(4, 0), frozen_polarization(4, 4)
    (Fraction(5, 68), Fraction(1, 1), Fraction(0, 1))
    """
    if not 0 <= y <= N:
        raise InputError(f"y must be an integer from 0 to memory={N}, got {y}")
    c = (agents - 1) * N
    terms = [Fraction(1, comb(c + k, k)) for k in range(N)]
    return sum(terms[y:], Fraction(0)) / sum(terms, Fraction(0))


def _walk(N, x, lone, two_phase):
    """Follow the divergence path from label-0 counts ``x``: agent ``lone``
    loses a label-0 item every step and every other agent gains one, each
    until it freezes (frozen agents stay, with probability 1).

    Returns ``(probability, states, value)``: the probability of the path,
    its states (label-0 count tuples) and the value it is multiplied by: with
    ``two_phase`` the walk stops at the first state whose frozen agents hold
    both labels (value 1) or where all agents but one are frozen on one label
    (value :func:`frozen_polarization`); otherwise it runs until every agent
    is frozen (value 1 if that state is polarised, else 0).
    """
    m = len(x)
    x = list(x)
    probability = Fraction(1)
    states = [tuple(x)]
    while True:
        frozen = [i for i in range(m) if x[i] in (0, N)]
        labels = {0 if x[i] == N else 1 for i in frozen}
        if len(frozen) == m:
            return probability, states, Fraction(int(len(labels) == 2))
        if two_phase:
            if len(labels) == 2:
                return probability, states, Fraction(1)
            if len(frozen) == m - 1:
                (moving,) = [i for i in range(m) if i not in frozen]
                y = x[moving] if labels == {0} else N - x[moving]  # items of the frozen label
                return probability, states, frozen_polarization(N, y, m)
        q = Fraction(sum(x), m * N)  # pool frequency of label 0, before the step
        step = Fraction(1)
        for i in range(m):
            if x[i] in (0, N):
                continue
            if i == lone:
                step *= Fraction(x[i], N) * (1 - q)
                x[i] -= 1
            else:
                step *= Fraction(N - x[i], N) * q
                x[i] += 1
        probability *= step
        states.append(tuple(x))


def _best_walk(system, start, two_phase):
    """The better of the two LB3 orientations: the agent with the fewest
    label-0 items (the last such on ties) goes to label 1 and the others to
    label 0, or the mirror image (labels swapped).  For ``m = 2`` both are the
    same path: the agent with more label-0 items (agent 0 on ties) moves up."""
    N = system.memory
    x = [c[0] for c in system.check_state(start)]
    m = len(x)
    lone = max(range(m), key=lambda i: (-x[i], i))
    best = _walk(N, x, lone, two_phase)
    mirror = [N - v for v in x]
    lone = max(range(m), key=lambda i: (-mirror[i], i))
    probability, states, value = _walk(N, mirror, lone, two_phase)
    if probability * value > best[0] * best[2]:
        best = (probability, [tuple(N - v for v in s) for s in states], value)
    return best


def divergence_path(system, start):
    """The LB3 path from ``start``: a list of count states, ending polarised.

    Every step, the lone agent loses one label-0 item and every other agent
    gains one, each until it freezes (see :func:`closed_form_bound` for the
    choice of the lone agent); for ``m = 2`` the agent holding more of label 0
    (agent 0 on ties) gains while the other loses.  None when LB3 does not
    apply or the path does not end polarised.

    >>> from markovgmm import System
    >>> divergence_path(System(agents=2, components=2, memory=4), ((2, 2), (2, 2)))
    [((2, 2), (2, 2)), ((3, 1), (1, 3)), ((4, 0), (0, 4))]
    """
    if closed_form_applies(system) is not None:
        return None
    probability, states, value = _best_walk(system, start, two_phase=False)
    if not value:
        return None
    N = system.memory
    return [tuple((v, N - v) for v in s) for s in states]


def closed_form_bound(system, start):
    """LB3: the probability of the divergence path, a lower bound on P(polarisation).

    Parameters
    ----------
    system : System
        ``K=2, r=1``, sync, support ownership, no pruning, complete reading
        (see :func:`closed_form_applies`); any number of agents ``m >= 2``.
    start : tuple
        Count state ``((x_1, N-x_1), ..., (x_m, N-x_m))``; ``x_i`` are the
        label-0 counts.

    Returns
    -------
    Fraction or None
        None where the bound does not apply.

    Notes
    -----
    ``m = 2``: let ``h >= l`` be the two label-0 counts (the agent with ``h``
    moves up, agent 0 on ties) and ``q = (h+l)/(2N)`` the pool frequency of
    label 0.  While both agents hold both labels, both keep every label they
    read, so "up agent gains a 0 and the other loses one" has probability
    ``(N-h)/N * q * l/N * (1-q)`` and leaves ``q`` unchanged.  After
    ``s = min(N-h, l)`` steps an agent freezes:

    ``P_1 = (N-h-s+1)^(s) (l-s+1)^(s) (q(1-q))^s / N^(2s)``

    with ``x^(s) = x (x+1) ... (x+s-1)`` the rising factorial.  The moving
    agent then holds ``y`` items of the frozen label (``y = h+l-N`` if the up
    agent froze, ``N-h-l`` otherwise) and the straight path to 0 has
    probability ``P_2 = 1^(y) (N-y)^(y) / (2N^2)^y``.  The bound is
    ``P_1 P_2`` (MODEL.md 4, LB3; ``proofs/LB3_closed_form.md``).

    ``m >= 3``: one *lone* agent moves to label 1 and all others to label 0,
    every unfrozen agent moving every step, with step probability
    ``prod_up (N-x_i)/N q_t * x_lone/N (1-q_t)``, ``q_t = sum_i x_i(t)/(mN)``
    (no longer constant), where both factors run over the interior agents
    ``0 < x_i(t) < N`` only (an agent at a vertex stays put with probability 1); the lone agent is the one with the fewest label-0
    items, or, mirrored, the one with the most goes to label 0 and the others
    to label 1, whichever path is more probable.  Each is a first-passage
    path into a polarised state, hence a lower bound.  Cost ``O(m N)``
    exact operations.

    Examples
    --------
    >>> from markovgmm import System
    >>> closed_form_bound(System(agents=2, components=2, memory=4), ((2, 2), (2, 2)))
    Fraction(1, 1024)
    """
    if closed_form_applies(system) is not None:
        return None
    probability, _, value = _best_walk(system, start, two_phase=False)
    return probability * value


def closed_form_two_phase(system, start):
    """LB3, two-phase: the divergence path until its frozen agents hold both
    labels or all agents but one are frozen on one label, times the exact
    polarisation probability from there.

    Returns
    -------
    Fraction or None
        ``P_1 * frozen_polarization(N, y, m)`` (or ``P_1`` when the frozen
        agents already hold both labels), None where LB3 does not apply.

    Notes
    -----
    The event "the divergence path is followed up to that state, then the
    chain polarises" is contained in polarisation, and by the Markov property
    its probability is ``P_1`` times the absorption value there: 1 when the
    frozen agents hold both labels (every closed class reachable is then
    polarised), ``h(y)`` from :func:`frozen_polarization` when all but one
    are frozen on one label.  The full path continues from the same state
    along one particular way to polarise, so this bound is never below
    :func:`closed_form_bound` (for each orientation, and so for the better
    one).  It can be below LB2's ``path.best`` (the most probable path over
    all paths): ``m = 2, N = 2`` from ``((1,1),(1,1))`` gives 1/16 against
    1/8.  For ``m = 2`` it stops when the first agent freezes.

    Examples
    --------
    >>> from markovgmm import System
    >>> closed_form_two_phase(System(agents=2, components=2, memory=4), ((2, 2), (2, 2)))
    Fraction(1, 1024)
    >>> closed_form_two_phase(System(agents=2, components=2, memory=4), ((3, 1), (2, 2)))
    Fraction(465, 69632)
    """
    if closed_form_applies(system) is not None:
        return None
    probability, _, value = _best_walk(system, start, two_phase=True)
    return probability * value


# ---------------------------------------------------------------------------
# report


def _leq(a, b):
    """``a <= b`` decided exactly (Fractions), None when either is missing."""
    if a is None or b is None:
        return None
    return bool(Fraction(a) <= Fraction(b))


def bounds_report(chain, start, horizon=50, paths=5, progress=None, structure=None):
    """LB1-LB3 and the exact value from one start state, as a plain dict.

    Parameters
    ----------
    chain : Chain
    start : int or tuple
    horizon : int
        Largest ``T`` of the horizon bounds (LB1).
    paths : int
        ``k`` of the path bound (LB2).
    progress : callable, optional
        Passed to the propagation.
    structure : ClassStructure, optional

    Returns
    -------
    dict
        ``system``, ``start``, ``arithmetic`` (``"exact"`` or ``"float"``),
        ``polarization`` (P(polarisation) from the linear solve),
        ``horizon`` (``T``, ``lower``, ``upper`` lists over ``T = 0..horizon``),
        ``path`` (see :func:`path_bounds`), ``closed_form``,
        ``closed_form_two_phase`` (None where LB3 does not apply),
        ``closed_form_applies`` (None or the reason it does not),
        ``ratio`` (each bound over ``polarization``: ``horizon.lower``,
        ``horizon.upper``, ``path.best``, ``path.top_k``, ``closed_form``,
        ``closed_form_two_phase``; ``horizon.*`` at ``T = horizon``) and
        ``checks`` (each ``bound <= exact`` / ``exact <= upper``, named by the
        exact ``polarization``, the
        monotonicity of LB1, ``closed_form <= path.best`` and
        ``closed_form <= closed_form_two_phase``, with ``all``).

    Notes
    -----
    On an exact chain every comparison in ``checks`` is an exact rational
    comparison.  On a float chain nothing here is certified (the float solve
    and the float propagation carry rounding errors without an enclosure), so
    ``checks`` is None; use the exact path to check the bounds.
    The closed forms (LB3) are computed exactly in both cases (and reported
    as floats on the float path).  ``closed_form <= path.best`` holds because
    the LB3 path is a simple first-passage path and ``path.best`` the most
    probable one; the path ranking uses float weights, so the check would
    report a misordering of paths whose probabilities agree to about 1e-15.

    Examples
    --------
    >>> from markovgmm import System, build_chain
    >>> chain = build_chain(System(agents=2, components=2, memory=4))
    >>> r = bounds_report(chain, ((2, 2), (2, 2)), horizon=5, paths=3)
    >>> r["polarization"], r["closed_form"], r["checks"]["all"]
    (Fraction(139813, 1630674), Fraction(1, 1024), True)
    """
    start = _check_start(chain, start)
    structure = structure if structure is not None else closed_classes(chain)
    exact = polarization_probability(chain, start)
    horizon_part = horizon_bounds(chain, start, horizon, structure=structure, progress=progress)
    path_part = path_bounds(chain, start, k=paths, structure=structure)
    system = chain.system
    state = chain.counts(start)
    closed = closed_form_bound(system, state)
    two_phase = closed_form_two_phase(system, state)
    if not chain.exact:
        closed_out = None if closed is None else float(closed)
        two_out = None if two_phase is None else float(two_phase)
    else:
        closed_out, two_out = closed, two_phase
    lower, upper = horizon_part["lower"], horizon_part["upper"]
    report = {
        "system": system.describe(),
        "start": state,
        "arithmetic": "exact" if chain.exact else "float",
        "polarization": exact,
        "horizon": {"T": int(horizon), "lower": lower, "upper": upper},
        "path": path_part,
        "closed_form": closed_out,
        "closed_form_two_phase": two_out,
        "closed_form_applies": closed_form_applies(system),
        "ratio": {
            "horizon.lower": _ratio(lower[-1], exact),
            "horizon.upper": _ratio(upper[-1], exact),
            "path.best": _ratio(path_part["best"], exact),
            "path.top_k": _ratio(path_part["top_k"], exact),
            "closed_form": _ratio(closed_out, exact),
            "closed_form_two_phase": _ratio(two_out, exact),
        },
        "checks": None,
    }
    if chain.exact:
        checks = {
            "horizon.lower <= exact": all(_leq(x, exact) for x in lower),
            "exact <= horizon.upper": all(_leq(exact, x) for x in upper),
            "horizon.lower non-decreasing": all(_leq(x, y) for x, y in zip(lower, lower[1:])),
            "horizon.upper non-increasing": all(_leq(y, x) for x, y in zip(upper, upper[1:])),
            "path.best <= path.top_k <= exact": _leq(path_part["best"], path_part["top_k"]) and _leq(path_part["top_k"], exact),
            "closed_form <= path.best": _leq(closed, path_part["best"]),
            "closed_form <= closed_form_two_phase": _leq(closed, two_phase),
            "closed_form_two_phase <= exact": _leq(two_phase, exact),
        }
        checks["all"] = all(v is not False for v in checks.values())
        report["checks"] = checks
    return report
