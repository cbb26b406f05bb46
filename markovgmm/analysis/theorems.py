"""Theorems a researcher comes to verify, one plain function per family (issue 11).

Every family returns a plain dict with at least ``theorem``, ``verdict``
(``"holds"``, ``"fails"`` or ``"open"``), ``checked`` (the systems, each with
its parameters) and ``max_deviation`` (an exact Fraction, or None), plus the
family's own data.  All comparisons are exact (Fractions on the exact chain);
floats appear only to *choose* a certificate that is then verified exactly.

Families (MODEL.md 2-4; proofs in ``proofs/``):

* ``voter`` (:func:`voter_martingale`, ``proofs/voter_martingale.md``): under
  ``open`` ownership ``M_t = sum_i v_i pi_ik(t)`` is a martingale for every
  ``v`` with ``v W = v``; hence ``sum_C P(C) f_k(C) = M_0`` over closed
  classes ``C`` (``f_k`` is constant on each), and P(consensus on k) = M_0
  whenever no non-consensus closed class is reachable: always under
  ``async`` or ``r < N``, and under ``sync`` with ``r = N`` iff the reading
  graph is aperiodic (W irreducible).  Under ``support`` the exact deviation
  from ``M_0`` is reported as the ownership distortion.
* ``graphs`` (:func:`graph_extremes`): P(polarisation) from the balanced
  start for every connected graph of networkx's atlas, exact (or certified
  intervals, never called exact); the conjecture "the complete graph
  minimises it" per (m, N), and the maximiser.  The full m = 2..5, N = 4..8
  grid is precomputed in ``docs/graphs_grid.json`` (:func:`read_graph_grid`).
* ``order`` (:func:`start_order`, ``proofs/start_order.md``): which order on
  start states P(polarisation) respects (measured), and the proven monotone
  coupling: P(consensus on 0) is non-decreasing in the product order of the
  label-0 counts (K = 2, r = 1).
* ``rate`` (:func:`lb1_rate`, ``proofs/LB1_rate.md``): a rational
  Collatz-Wielandt certificate ``Q x <= rho_hat x`` on the transient block
  gives ``upper(T) - lower(T) = P(tau > T) <= (x_s / min x) rho_hat^T`` for
  LB1 at every ``T``.
"""

from __future__ import annotations

import os
import time
from fractions import Fraction
from math import gcd

import networkx as nx
import numpy as np

from ..errors import InputError
from ..system import System, balanced_counts
from .absorption import absorb, absorption_probabilities, reachable_states
from .classes import closed_classes

__all__ = [
    "THEOREMS",
    "stationary_law",
    "reading_is_aperiodic",
    "voter_martingale",
    "voter_family",
    "VOTER_SYSTEMS",
    "graph_extremes",
    "complete_minimises",
    "graph_entry",
    "atlas_connected",
    "read_graph_grid",
    "GRAPHS_GRID",
    "start_order",
    "consensus_monotone",
    "polarization_table",
    "collatz_wielandt",
    "lb1_rate",
    "rate_family",
    "RATE_SYSTEMS",
    "run_theorem",
]

#: Every theorem family (issue 11); ``decay`` and ``camps`` live in their own modules.
THEOREMS = ("voter", "graphs", "order", "rate", "decay", "camps")


def _system_params(system):
    """The parameters of a system, JSON-ready."""
    out = {
        "agents": system.agents,
        "components": system.components,
        "memory": system.memory,
        "replace": system.replace,
        "schedule": system.schedule,
        "ownership": system.ownership,
        "graph": system.graph_name,
        "closed_neighbourhood": system.closed_neighbourhood,
        "W": [[str(x) for x in row] for row in system.W],
    }
    if system.prune:
        out["prune"] = system.prune
    return out


# ---------------------------------------------------------------------------
# exact linear algebra helpers


def stationary_law(W):
    """The stationary law ``v`` of a row-stochastic matrix (``v W = v``, ``sum v = 1``), exactly.

    Gaussian elimination over Fractions on ``(W^T - I) v = 0`` with the row
    ``sum v = 1`` appended.  Raises :class:`InputError` if the stationary law
    is not unique (``W`` has more than one closed class of agents).

    >>> from markovgmm.system import reading_matrix
    >>> [str(x) for x in stationary_law(reading_matrix(nx.star_graph(2)))]
    ['3/7', '2/7', '2/7']
    """
    m = len(W)
    rows = [[Fraction(W[j][i]) - (1 if i == j else 0) for j in range(m)] + [Fraction(0)] for i in range(m)]
    rows.append([Fraction(1)] * m + [Fraction(1)])
    pivots, r = [], 0
    for c in range(m):
        p = next((i for i in range(r, len(rows)) if rows[i][c] != 0), None)
        if p is None:
            continue
        rows[r], rows[p] = rows[p], rows[r]
        inv = 1 / rows[r][c]
        rows[r] = [x * inv for x in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][c] != 0:
                f = rows[i][c]
                rows[i] = [a - f * b for a, b in zip(rows[i], rows[r])]
        pivots.append(c)
        r += 1
    if len(pivots) < m:
        raise InputError("reading matrix: the stationary law is not unique (W is not irreducible on one class)")
    v = [Fraction(0)] * m
    for i, c in enumerate(pivots):
        v[c] = rows[i][m]
    return v


def _reading_digraph(W):
    g = nx.DiGraph()
    m = len(W)
    g.add_nodes_from(range(m))
    g.add_edges_from((j, i) for i in range(m) for j in range(m) if W[i][j] > 0)  # j -> i: i reads j
    return g


def reading_is_aperiodic(W):
    """Whether the reading graph (``j -> i`` when ``W[i][j] > 0``) is aperiodic.

    >>> from markovgmm.system import reading_matrix
    >>> reading_is_aperiodic(reading_matrix(nx.path_graph(2), closed=False))
    False
    >>> reading_is_aperiodic(reading_matrix(nx.path_graph(2)))
    True
    """
    return nx.is_aperiodic(_reading_digraph(W))


# ---------------------------------------------------------------------------
# 1. voter martingale


def voter_martingale(system, v=None, chain=None):
    """Check the voter-model martingale identity exactly on every start state.

    Parameters
    ----------
    system : System
        ``open`` or ``support`` ownership, no pruning, exact.
    v : sequence of Fractions, optional
        The weights of ``M_t = sum_i v_i pi_ik(t)``; default the stationary
        law of ``W`` (:func:`stationary_law`).  Pass a wrong one to see the
        check fail.
    chain : Chain, optional
        The built exact (unlumped) chain of ``system``.

    Returns
    -------
    dict
        ``system`` (parameters), ``v``, ``v_stationary`` (whether ``v W = v``),
        ``consensus_only`` (every closed class is a consensus),
        ``predicted_consensus_only`` (async, or ``r < N``, or an aperiodic
        reading graph), ``martingale_deviation`` (max over starts and ``k``
        of ``|sum_C P(C) f_k(C) - M_0(k)|``; 0 under ``open``),
        ``consensus_deviation`` (max of ``|P(consensus on k) - M_0(k)|``),
        ``worst_start``, ``class_value_constant`` (``f_k`` constant on each
        closed class), ``starts`` and ``verdict``.

    Notes
    -----
    MODEL.md 2: under ``open``, ``E[pi_i' | s] = (1 - a) pi_i + a (W pi)_i``
    with ``a = r/N`` (``sync``) or ``a = r/(N m)`` (``async``, the agent
    moves with probability ``1/m``).  If ``v W = v`` then ``v`` is fixed by
    ``(1 - a) I + a W`` too, so ``M_t(k) = sum_i v_i pi_ik(t)`` is a bounded
    martingale; it is harmonic, hence constant (``f_k(C)``) on every closed
    class, and optional stopping gives ``sum_C P(C) f_k(C) = M_0(k)``.  On a
    consensus on ``k``, ``f_k = 1`` and ``f_j = 0``; so P(consensus on k) =
    M_0(k) for all ``k`` iff no non-consensus class is reached.  Proof and the
    exact condition: ``proofs/voter_martingale.md``.  Under ``support`` the
    identity is not a theorem and the deviations measure ownership distortion
    (verdict ``holds`` there means only that the numbers were computed).

    Examples
    --------
    >>> s = System(agents=3, components=2, memory=2, graph="star", ownership="open")
    >>> r = voter_martingale(s)
    >>> r["verdict"], r["consensus_deviation"], [str(x) for x in r["v"]]
    ('holds', Fraction(0, 1), ['3/7', '2/7', '2/7'])
    >>> voter_martingale(s, v=[Fraction(1, 3)] * 3)["verdict"]
    'fails'
    """
    if system.ownership not in ("open", "support") or system.prune:
        raise InputError("voter: needs open or support ownership and no pruning")
    W = system.W
    m, K, N = system.agents, system.components, system.memory
    v = [Fraction(x) for x in (v if v is not None else stationary_law(W))]
    if len(v) != m:
        raise InputError(f"voter: v needs {m} entries")
    stationary = all(sum(v[j] * W[j][i] for j in range(m)) == v[i] for i in range(m)) and sum(v) == 1
    chain = chain if chain is not None else build_exact(system)
    structure = closed_classes(chain)
    result = absorption_probabilities(chain, structure=structure)
    counts = chain.local_counts[chain.agent_ranks]  # (n, m, K)

    def M(state):
        return [sum((v[i] * int(counts[state, i, k]) for i in range(m)), Fraction(0)) / N for k in range(K)]

    class_value, constant = [], True
    for cls in structure.classes:
        values = [M(s) for s in cls.states]
        constant = constant and all(val == values[0] for val in values)
        class_value.append(values[0])
    mart_dev, cons_dev, worst = Fraction(0), Fraction(0), None
    interior_dev, interior_worst = Fraction(0), None
    starts = []
    for row, state in enumerate(result.starts.tolist()):
        M0 = M(state)
        probs = result.class_probabilities[row]
        by_k = result.consensus_by_component(row)
        limit = [sum((p * class_value[c][k] for c, p in enumerate(probs)), Fraction(0)) for k in range(K)]
        d_mart = max(abs(limit[k] - M0[k]) for k in range(K))
        d_cons = max(abs(by_k[k] - M0[k]) for k in range(K))
        mart_dev = max(mart_dev, d_mart)
        if d_cons > cons_dev or worst is None:
            cons_dev = max(cons_dev, d_cons)
            worst = {"start": chain.counts(state), "M0": M0, "consensus_by_component": by_k}
        entry = {"start": chain.counts(state), "M0": M0, "consensus_by_component": by_k}
        if not any(int(counts[state, i].max()) == N for i in range(m)) and (interior_worst is None or d_cons > interior_dev):
            interior_dev, interior_worst = max(interior_dev, d_cons), entry
        starts.append(entry)
    consensus_only = all(c.kind == "consensus" for c in structure.classes)
    predicted = system.schedule == "async" or system.replace < N or reading_is_aperiodic(W)
    if system.ownership == "open":
        ok = mart_dev == 0 and constant and consensus_only == predicted
        if consensus_only:
            ok = ok and cons_dev == 0
        verdict = "holds" if ok else "fails"
    else:
        verdict = "measured"
    return {
        "system": _system_params(system),
        "v": v,
        "v_stationary": stationary,
        "consensus_only": consensus_only,
        "predicted_consensus_only": predicted,
        "class_value_constant": constant,
        "martingale_deviation": mart_dev,
        "consensus_deviation": cons_dev,
        "worst_start": worst,
        "interior_deviation": interior_dev,
        "interior_worst_start": interior_worst,
        "n_starts": len(starts),
        "verdict": verdict,
    }


def build_exact(system, lump=False):
    from ..chain.build import build_chain

    return build_chain(system, exact=True, lump=lump)


def _directed_example():
    g = nx.DiGraph()
    g.add_nodes_from(range(3))
    g.add_edges_from([(0, 1), (1, 2), (2, 0), (0, 2)])  # u -> v: v reads u; a 3-cycle with a chord
    return g


def _directed_cycle(m):
    g = nx.DiGraph()
    g.add_nodes_from(range(m))
    g.add_edges_from((i, (i + 1) % m) for i in range(m))
    return g


#: A weighted (non-symmetric) reading matrix on 3 agents.
WEIGHTED_W = (
    (Fraction(1, 2), Fraction(1, 2), Fraction(0)),
    (Fraction(1, 4), Fraction(1, 4), Fraction(1, 2)),
    (Fraction(0), Fraction(1, 3), Fraction(2, 3)),
)


def VOTER_SYSTEMS():
    """The systems of the ``voter`` family (each checked under ``open`` and ``support``).

    Path, star, a directed graph, a weighted matrix, K = 3, r > 1, sync and
    async, and the periodic ``sync, r = N`` cases where non-consensus closed
    classes exist (open neighbourhoods on a path; a directed 3-cycle).
    """
    return [
        dict(agents=3, components=2, memory=3, graph="path"),
        dict(agents=3, components=2, memory=2, graph="path", schedule="async"),
        dict(agents=4, components=2, memory=2, graph="star"),
        dict(agents=4, components=2, memory=2, graph="star", schedule="async"),
        dict(agents=3, components=2, memory=2, graph=_directed_example()),
        dict(agents=3, components=2, memory=2, graph=_directed_example(), schedule="async"),
        dict(agents=3, components=2, memory=2, reading=WEIGHTED_W),
        dict(agents=3, components=2, memory=2, reading=WEIGHTED_W, schedule="async", replace=2),
        dict(agents=2, components=3, memory=3, graph="path", replace=2),
        dict(agents=2, components=2, memory=2, replace=2, graph="path", closed_neighbourhood=False),
        dict(agents=2, components=2, memory=2, replace=2, graph="path", closed_neighbourhood=False, schedule="async"),
        dict(agents=2, components=2, memory=3, replace=2, graph="path", closed_neighbourhood=False),
        dict(agents=3, components=2, memory=2, replace=2, graph=_directed_cycle(3), closed_neighbourhood=False),
    ]


def voter_family(systems=None, v_override=None):
    """The ``voter`` theorem over a family: verdict, checked systems, deviations.

    ``v_override(system)`` may return a wrong ``v`` (to show the check fails).
    Verdict ``holds`` iff every ``open`` system holds; ``support`` systems
    contribute their distortion (``support_distortion``).

    >>> r = voter_family([dict(agents=2, components=2, memory=2, graph="path")])
    >>> d = r["support_distortion"][0]
    >>> r["verdict"], r["max_deviation"], str(d["consensus_deviation"]), str(d["interior_deviation"])
    ('holds', Fraction(0, 1), '1/2', '1/6')
    """
    systems = systems if systems is not None else VOTER_SYSTEMS()
    checked, support = [], []
    for params in systems:
        for ownership in ("open", "support"):
            system = System(**{**params, "ownership": ownership})
            v = v_override(system) if v_override else None
            res = voter_martingale(system, v=v)
            (checked if ownership == "open" else support).append(res)
    max_dev = max(max(r["martingale_deviation"], r["consensus_deviation"] if r["consensus_only"] else 0) for r in checked)
    verdict = "holds" if all(r["verdict"] == "holds" for r in checked) else "fails"
    return {
        "theorem": "voter",
        "statement": (
            "open ownership, no pruning, W irreducible with stationary law v: M_t = sum_i v_i pi_ik(t) is a martingale, "
            "sum_C P(C) f_k(C) = sum_i v_i pi_ik(0) over closed classes C (f_k constant on each), and "
            "P(consensus on k) = sum_i v_i pi_ik(0) from every start iff no non-consensus class is reachable: "
            "always under async or r < N, and under sync with r = N iff the reading graph is aperiodic"
        ),
        "verdict": verdict,
        "checked": [r["system"] for r in checked],
        "max_deviation": max_dev,
        "results": checked,
        "support_distortion": [
            {"system": r["system"], "consensus_deviation": r["consensus_deviation"], "worst_start": r["worst_start"],
             "interior_deviation": r["interior_deviation"], "interior_worst_start": r["interior_worst_start"]}
            for r in support
        ],
        "proof": "proofs/voter_martingale.md",
    }


# ---------------------------------------------------------------------------
# 2. graph extremes


def _atlas_graphs(max_agents, min_agents=2):
    for g in nx.graph_atlas_g():
        m = g.number_of_nodes()
        if min_agents <= m <= max_agents and nx.is_connected(g):
            yield g


def atlas_connected(max_agents, min_agents=2):
    """``(atlas index, graph)`` of every connected graph of networkx's atlas on ``min_agents..max_agents`` nodes.

    >>> [(i, g.number_of_edges()) for i, g in atlas_connected(3)]
    [(3, 1), (6, 2), (7, 3)]
    """
    return [(i, g) for i, g in enumerate(nx.graph_atlas_g())
            if min_agents <= g.number_of_nodes() <= max_agents and nx.is_connected(g)]


def _graph_name(g):
    m = g.number_of_nodes()
    if g.number_of_edges() == m * (m - 1) // 2:
        return "complete"
    degrees = sorted(d for _, d in g.degree())
    if m >= 3 and all(d == 2 for d in degrees):
        return "ring"
    if degrees == [1, 1] + [2] * (m - 2):
        return "path"
    if m >= 3 and degrees == [1] * (m - 1) + [m - 1]:
        return "star"
    return None


def graph_entry(g, N, arithmetic="exact", rtol=1e-12, atlas=None):
    """P(polarisation) from the balanced start on one graph, exact or certified.

    K = 2, r = 1, sync, ``support`` ownership, closed neighbourhoods
    (MODEL.md 2 defaults), solved on the chain lumped by the graph's
    automorphism group (``proofs/lumpability.md``).  ``arithmetic="exact"``
    gives ``polarization`` (a Fraction, MODEL.md 3); ``"certified"`` gives
    ``polarization_interval = (lower, upper)``, exact rationals with
    ``lower <= P <= upper`` (:func:`~markovgmm.analysis.certified.certified_absorption`,
    ``proofs/certified_enclosure.md``) and its ``relative_width``.

    >>> e = graph_entry(nx.path_graph(3), 2)
    >>> e["arithmetic"], str(e["polarization"])
    ('exact', '67/112')
    >>> c = graph_entry(nx.path_graph(3), 2, arithmetic="certified")
    >>> c["polarization_interval"][0] <= Fraction(67, 112) <= c["polarization_interval"][1]
    True
    """
    if arithmetic not in ("exact", "certified"):
        raise InputError(f"arithmetic must be 'exact' or 'certified', got {arithmetic!r}")
    m = g.number_of_nodes()
    g = nx.convert_node_labels_to_integers(g)
    system = System(agents=m, components=2, memory=N, graph=g)
    chain = build_exact(system, lump=True)
    start = tuple(balanced_counts(N, 2) for _ in range(m))
    entry = {"edges": sorted(tuple(sorted(e)) for e in g.edges()), "m": m, "N": N, "name": _graph_name(g)}
    if atlas is not None:
        entry["atlas"] = atlas
    entry["arithmetic"] = arithmetic
    if arithmetic == "exact":
        entry["polarization"] = absorb(chain, start)["polarization"]
    else:
        from .certified import certified_absorption

        box = certified_absorption(chain, start, rtol=rtol)
        entry["polarization_interval"] = (box.lower, box.upper)
        entry["relative_width"] = box.relative_width
    return entry


def graph_extremes(max_agents=4, memories=(4,), min_agents=2, progress=None, arithmetic="exact"):
    """P(polarisation) from the balanced start on every connected graph of the atlas; is the complete graph lowest?

    Parameters
    ----------
    max_agents : int
        Graphs on ``min_agents..max_agents`` nodes (networkx
        ``graph_atlas_g()`` holds every graph up to 7 nodes).
    memories : sequence of int
        Memory sizes ``N``.  K = 2, r = 1, sync, ``support`` ownership,
        closed neighbourhoods (MODEL.md 2 defaults).
    arithmetic : str or callable
        ``"exact"`` (default), ``"certified"``, or ``arithmetic(m, N)``
        returning one of them per ``(m, N)`` (:func:`graph_entry`).

    Returns
    -------
    dict
        As :func:`complete_minimises`: ``theorem``, ``verdict``, ``checked``,
        ``max_deviation``, ``graphs`` (one entry per graph and ``N``),
        ``ranking``, ``per_size``, ``maximisers`` and ``counterexamples``.

    Notes
    -----
    Cost grows fast (measured on the loaded 2-core machine,
    ``benchmarks/results_graphs_grid.md``): exact, m = 4 up to 26 s per
    graph at N = 6; m = 5, N = 4 from 0.5 s to over 15 minutes per graph;
    m = 5, N = 5 more than 5 minutes for the path.  Certified, m = 5, N = 8
    takes up to 90 s per graph.  ``benchmarks/run_graphs_grid.py`` computes
    the full grid m = 2..5, N = 4..8 into ``docs/graphs_grid.json``
    (:func:`read_graph_grid`).

    Examples
    --------
    >>> r = graph_extremes(max_agents=3, memories=(2,))
    >>> [(e["name"], str(e["polarization"])) for e in r["graphs"]]
    [('complete', '1/3'), ('path', '67/112'), ('complete', '71/126')]
    >>> r["verdict"]
    'holds'
    """
    choose = arithmetic if callable(arithmetic) else (lambda m, N: arithmetic)
    entries = []
    graphs = atlas_connected(max_agents, min_agents)
    done = 0
    for N in memories:
        for index, g in graphs:
            entries.append(graph_entry(g, N, arithmetic=choose(g.number_of_nodes(), N), atlas=index))
            done += 1
            if progress:
                progress(done)
    return complete_minimises(entries)


def _bounds(e):
    """``(lower, upper)`` of an entry: the exact value twice, or its certified interval."""
    if e.get("arithmetic", "exact") == "exact":
        return e["polarization"], e["polarization"]
    lo, hi = e["polarization_interval"]
    return Fraction(lo), Fraction(hi)


def _ranked(e):
    out = {k: e[k] for k in ("edges", "name", "arithmetic", "polarization", "polarization_interval") if k in e}
    out.setdefault("arithmetic", "exact")
    if "atlas" in e:
        out["atlas"] = e["atlas"]
    return out


def complete_minimises(entries):
    """The verdict of "the complete graph minimises P(polarisation)" on computed entries.

    ``entries`` as in :func:`graph_entry`: ``edges``, ``m``, ``N`` and either
    an exact ``polarization`` or a certified ``polarization_interval``
    (``arithmetic`` missing means exact).  Per ``(m, N)``: ``fails`` when some
    connected graph is certainly strictly below the complete graph (its upper
    bound below the complete graph's lower bound; exact values compared
    exactly), ``open`` when an interval overlaps the complete graph's and the
    order is not decided, ``holds`` otherwise (ties allowed).  Overall:
    ``fails`` if some ``(m, N)`` fails, else ``open`` if some is open, else
    ``holds``.  ``max_deviation`` is the largest certain amount by which a
    graph falls below the complete graph (exact for exact entries, a lower
    bound of it for certified ones; 0 if none).  ``ranking`` orders each
    ``(m, N)`` from least to most polarising, with ``certain`` telling
    whether every consecutive pair is separated (disjoint intervals or
    distinct exact values); ``maximisers`` names the most polarising graph
    and whether that is certain.

    >>> e = [{"edges": [(0, 1), (0, 2), (1, 2)], "m": 3, "N": 2, "name": "complete", "polarization": Fraction(1, 3)},
    ...      {"edges": [(0, 1), (1, 2)], "m": 3, "N": 2, "name": "path", "polarization": Fraction(1, 4)}]
    >>> r = complete_minimises(e)
    >>> r["verdict"], r["max_deviation"], r["counterexamples"][0]["name"], r["maximisers"][0]["name"]
    ('fails', Fraction(1, 12), 'path', 'complete')
    """
    groups = {}
    for e in entries:
        groups.setdefault((e["m"], e["N"]), []).append(e)
    ranking, per_size, maximisers, counterexamples, max_dev = [], [], [], [], Fraction(0)
    for (m, N), group in sorted(groups.items()):
        ordered = sorted(group, key=lambda e: _bounds(e))
        bounds = [_bounds(e) for e in ordered]
        separated = [bounds[i][1] < bounds[i + 1][0] or (bounds[i][0] == bounds[i][1] == bounds[i + 1][0] == bounds[i + 1][1])
                     for i in range(len(bounds) - 1)]
        ranking.append({"m": m, "N": N, "certain": all(separated), "order": [_ranked(e) for e in ordered]})
        top = ordered[-1]
        maximisers.append({"m": m, "N": N, **_ranked(top),
                           "certain": all(b[1] < bounds[-1][0] for b in bounds[:-1])})
        complete = [e for e in group if len(e["edges"]) == m * (m - 1) // 2]
        if not complete:
            per_size.append({"m": m, "N": N, "verdict": "open", "graphs": len(group), "why": "no complete graph"})
            continue
        c_lo, c_hi = _bounds(complete[0])
        verdict, undecided = "holds", []
        for e in group:
            if e is complete[0]:
                continue
            lo, hi = _bounds(e)
            if hi < c_lo:
                counterexamples.append({"m": m, "N": N, **_ranked(e), "complete": _ranked(complete[0])})
                max_dev = max(max_dev, c_lo - hi)
                verdict = "fails"
            elif lo < c_hi:  # overlapping, or exact and equal to the complete graph (a tie) when lo == hi == c_lo == c_hi
                if not (lo == hi == c_lo == c_hi):
                    undecided.append(e["edges"])
        if verdict == "holds" and undecided:
            verdict = "open"
        per_size.append({"m": m, "N": N, "verdict": verdict, "graphs": len(group), "undecided": undecided,
                         "arithmetic": sorted({e.get("arithmetic", "exact") for e in group})})
    verdicts = {p["verdict"] for p in per_size}
    verdict = "fails" if "fails" in verdicts else "open" if "open" in verdicts else "holds"
    return {
        "theorem": "graphs",
        "statement": ("conjecture: among connected graphs on m agents the complete graph minimises P(polarisation) "
                      "from the balanced start (K=2, r=1, sync, support, closed neighbourhoods)"),
        "verdict": verdict,
        "checked": [{"agents": m, "components": 2, "memory": N, "replace": 1, "schedule": "sync",
                     "ownership": "support", "graphs": len(groups[(m, N)])} for m, N in sorted(groups)],
        "max_deviation": max_dev,
        "graphs": entries,
        "ranking": ranking,
        "per_size": per_size,
        "maximisers": maximisers,
        "counterexamples": counterexamples,
    }


#: The precomputed grid of ``benchmarks/run_graphs_grid.py`` (m = 2..5, N = 4..8), in the source tree.
GRAPHS_GRID = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "docs",
                           "graphs_grid.json")


def _read_fraction(text):
    """``"p/q"`` of any length (Python's ``int()`` refuses more than 4,300 digits; flint does not)."""
    import flint

    p, _, q = str(text).partition("/")
    if not (p.lstrip("-").isdigit() and (q == "" or q.isdigit())):
        raise InputError(f"grid: a probability must be 'p/q', got {str(text)[:40]!r}")
    return Fraction(int(flint.fmpz(p)), int(flint.fmpz(q)) if q else 1)


def read_graph_grid(path=GRAPHS_GRID):
    """The entries of a precomputed grid file (``docs/graphs_grid.json``), values back as Fractions.

    Exact entries carry ``polarization`` (``"p/q"``), certified ones
    ``polarization_interval`` (two ``"p/q"``); anything else is an
    ``InputError``.  Feed the result to :func:`complete_minimises`.
    """
    import json

    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as err:
        raise InputError(f"grid: cannot read {path!r} ({err.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError(f"grid: {path!r} is not a JSON grid file") from None
    if not isinstance(data, dict) or not isinstance(data.get("graphs"), list):
        raise InputError(f"grid: {path!r} must be a JSON object with a 'graphs' list")
    entries = []
    for e in data["graphs"]:
        out = {"edges": [tuple(x) for x in e["edges"]], "m": e["m"], "N": e["N"], "name": e.get("name"),
               "atlas": e.get("atlas"), "arithmetic": e["arithmetic"]}
        if e["arithmetic"] == "exact":
            out["polarization"] = _read_fraction(e["polarization"])
        elif e["arithmetic"] == "certified":
            out["polarization_interval"] = tuple(_read_fraction(x) for x in e["polarization_interval"])
        else:
            raise InputError(f"grid: arithmetic must be 'exact' or 'certified', got {e['arithmetic']!r}")
        entries.append(out)
    return entries


# ---------------------------------------------------------------------------
# 3. order of starts


def polarization_table(N, schedule="sync", agents=2):
    """Exact P(polarisation) and P(consensus on 0) from every start (K = 2, r = 1, support, complete).

    Returns ``{x: (P(polarisation), P(consensus on 0))}`` keyed by the tuple
    ``x`` of label-0 counts, one per agent.

    >>> t = polarization_table(2)
    >>> [str(v) for v in t[(1, 1)]]
    ['1/3', '1/3']
    """
    system = System(agents=agents, components=2, memory=N, schedule=schedule)
    chain = build_exact(system)
    result = absorption_probabilities(chain)
    table = {}
    for row, state in enumerate(result.starts.tolist()):
        x = tuple(c[0] for c in chain.counts(state))
        table[x] = (result.polarization(row), result.consensus_by_component(row)[0])
    return table


def consensus_monotone(table):
    """Pairs ``x <= y`` (componentwise) with ``P(consensus on 0)(x) > P(consensus on 0)(y)``.

    The proven monotone coupling (``proofs/start_order.md``) says there are
    none; a non-empty answer is a counterexample.

    >>> t = {(0,): (0, Fraction(0)), (1,): (0, Fraction(1, 2)), (2,): (0, Fraction(1))}
    >>> consensus_monotone(t)
    []
    >>> consensus_monotone({**t, (1,): (0, Fraction(2))})
    [((1,), (2,))]
    """
    keys = list(table)
    return [(a, b) for a in keys for b in keys
            if a != b and all(p <= q for p, q in zip(a, b)) and table[a][1] > table[b][1]]


def _order_violations(table, N, le):
    keys = list(table)
    return [(a, b) for a in keys for b in keys if a != b and le(a, b) and table[a][0] > table[b][0]]


def start_order(memories=(2, 3, 4, 5, 6), schedules=("sync", "async"), table_hook=None):
    """Which order on starts P(polarisation) respects (m = 2, K = 2, r = 1, support, complete graph).

    For every ``N`` and schedule, the exact table of P(polarisation) and
    P(consensus on 0) over all ``(N+1)^2`` starts, tested against candidate
    orders on ``(x, y)`` (label-0 counts of the two agents):

    * ``disagreement``: ``|x - y|`` larger (a total preorder);
    * ``pool_majorisation``: same pool ``x + y`` and ``(x, y)`` more spread
      (majorisation);
    * ``pool_majorisation_interior``: the same, both starts with no agent at
      a vertex;
    * ``vertex_distance``: ``min(x, N-x) + min(y, N-y)`` smaller;
    * ``consensus_coupling`` (the proven one): ``x <= x'``, ``y <= y'``
      implies ``P(consensus on 0)`` does not decrease.

    Verdict ``holds`` iff the proven statement holds on every table (it is a
    theorem: a violation would be a bug) and, for the measured statement
    (pool majorisation among interior starts), no violation is found.
    ``table_hook(N, schedule, table)`` may return a modified table (to show
    the check failing).

    >>> r = start_order(memories=(3, 4), schedules=("sync",))
    >>> r["verdict"], r["candidates"]["disagreement"]["holds"], r["candidates"]["pool_majorisation"]["holds"]
    ('holds', False, True)
    """
    candidates = {
        "disagreement": lambda N: (lambda a, b: abs(a[0] - a[1]) < abs(b[0] - b[1])),
        "pool_majorisation": lambda N: (lambda a, b: sum(a) == sum(b) and abs(a[0] - a[1]) < abs(b[0] - b[1])),
        "pool_majorisation_interior": lambda N: (
            lambda a, b: sum(a) == sum(b) and abs(a[0] - a[1]) < abs(b[0] - b[1])
            and all(0 < z < N for z in a + b)
        ),
        "vertex_distance": lambda N: (
            lambda a, b: min(a[0], N - a[0]) + min(a[1], N - a[1]) > min(b[0], N - b[0]) + min(b[1], N - b[1])
        ),
    }
    found = {name: [] for name in candidates}
    coupling = []
    checked, tables = [], []
    for N in memories:
        for schedule in schedules:
            table = polarization_table(N, schedule)
            if table_hook:
                table = table_hook(N, schedule, table)
            checked.append({"agents": 2, "components": 2, "memory": N, "replace": 1, "schedule": schedule,
                            "ownership": "support", "graph": "complete", "starts": len(table)})
            for name, make in candidates.items():
                for a, b in _order_violations(table, N, make(N)):
                    found[name].append({"N": N, "schedule": schedule, "smaller": a, "larger": b,
                                        "P_smaller": table[a][0], "P_larger": table[b][0]})
            for a, b in consensus_monotone(table):
                coupling.append({"N": N, "schedule": schedule, "smaller": a, "larger": b,
                                 "C0_smaller": table[a][1], "C0_larger": table[b][1]})
            tables.append({"N": N, "schedule": schedule,
                           "polarization": {f"{a[0]},{a[1]}": table[a][0] for a in sorted(table)}})
    report = {
        name: {"holds": not found[name], "violations": len(found[name]), "first": found[name][:4]}
        for name in candidates
    }
    report["consensus_coupling"] = {"holds": not coupling, "violations": len(coupling), "first": coupling[:4]}
    max_dev = max([v["P_smaller"] - v["P_larger"] for v in found["pool_majorisation_interior"]]
                  + [v["C0_smaller"] - v["C0_larger"] for v in coupling] + [Fraction(0)])
    ok = not coupling and not found["pool_majorisation_interior"]
    return {
        "theorem": "order",
        "statement": (
            "proven: P(consensus on 0) is non-decreasing in the product order of the label-0 counts (monotone "
            "coupling; K=2, r=1, any graph, sync or async). measured: at a fixed pool x+y, P(polarisation) is "
            "non-decreasing in the spread |x-y| (majorisation) among starts with no agent at a vertex; it is not "
            "monotone in |x-y| alone nor in the distance to the vertices"
        ),
        "verdict": "holds" if ok else "fails",
        "checked": checked,
        "max_deviation": max_dev,
        "candidates": report,
        "tables": tables,
        "proof": "proofs/start_order.md",
    }


# ---------------------------------------------------------------------------
# 4. LB1 rate


def _transient_block(chain, start):
    structure = closed_classes(chain)
    reach = reachable_states(chain, start)
    transient = np.array([s for s in reach.tolist() if structure.class_of[s] < 0], dtype=np.int64)
    return structure, transient


def _block_rows(chain, transient):
    """``Q`` on the transient states as integer rows ``[(col, numerator), ...]`` over ``chain.denominator``."""
    position = {int(s): k for k, s in enumerate(transient.tolist())}
    rows = []
    for s in transient.tolist():
        lo, hi = chain.indptr[s], chain.indptr[s + 1]
        row = []
        for t, val in zip(chain.indices[lo:hi].tolist(), chain.values[lo:hi].tolist()):
            k = position.get(int(t))
            if k is not None:
                row.append((k, int(val)))
        rows.append(row)
    return rows


def collatz_wielandt(rows, denominator, x):
    """Exact Collatz-Wielandt ratios ``min_i (Qx)_i/x_i`` and ``max_i (Qx)_i/x_i`` for integer ``x > 0``.

    ``Q = rows / denominator``.  For any nonnegative ``Q`` and ``x > 0``,
    ``min <= rho(Q) <= max`` (``proofs/LB1_rate.md``).

    >>> collatz_wielandt([[(0, 1), (1, 1)], [(0, 1)]], 4, [1, 1])
    (Fraction(1, 4), Fraction(1, 2))
    """
    if any(int(xi) <= 0 for xi in x):
        raise InputError("collatz_wielandt: x must be positive")
    ratios = [Fraction(sum(v * int(x[k]) for k, v in row), int(denominator) * int(x[i])) for i, row in enumerate(rows)]
    return min(ratios), max(ratios)


def _float_certificates(chain, transient, rows):
    """Float-chosen positive integer vectors ``x`` with ``Q x <= sigma x`` for a few ``sigma`` above rho.

    ``x = (sigma I - Q)^{-1} 1`` gives ``Q x = sigma x - 1 < sigma x``.  A
    ``sigma`` close to rho gives a rate close to rho but a large constant
    ``x_s / min x`` (about ``1 / (sigma - rho)``); the caller keeps the best.
    """
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla

    n = len(rows)
    d = float(chain.denominator)
    data = [v / d for row in rows for _, v in row]
    ri = [i for i, row in enumerate(rows) for _ in row]
    ci = [k for row in rows for k, _ in row]
    Q = sp.csc_matrix((data, (ri, ci)), shape=(n, n))
    if n <= 1500:
        rho_f = float(max(abs(np.linalg.eigvals(Q.toarray()))))
    else:
        rho_f = float(abs(spla.eigs(Q, k=1, which="LM", return_eigenvectors=False)[0]))
    out = []
    for j in (1, 2, 3, 4, 6, 9):
        sigma = rho_f + max((1 - rho_f) * 10.0**-j, 1e-13)
        x = np.atleast_1d(spla.spsolve(sigma * sp.identity(n, format="csc") - Q, np.ones(n)))
        if not np.all(np.isfinite(x)) or x.min() <= 0:
            continue
        x = x / x.min()
        out.append([max(1, int(round(xi * 2**30))) for xi in x])
    return out, rho_f


def _steps(C, rho_hat, k):
    """Smallest ``T`` with ``C rho_hat^T <= 10^-k`` (exact comparison), None if ``rho_hat >= 1``."""
    import math

    if C == 0:
        return 0
    if not 0 < rho_hat < 1:
        return None
    T = max(0, math.ceil((math.log(float(C)) + k * math.log(10)) / -math.log(float(rho_hat))) - 2)
    while C * rho_hat**T > Fraction(1, 10**k):
        T += 1
    return T


def lb1_rate(chain, start, horizon=30, rho=None, x=None):
    """A proven geometric rate for LB1's gap: ``upper(T) - lower(T) <= C rho_hat^T``.

    Parameters
    ----------
    chain : Chain
        Exact chain (full or lumped).
    start : int or tuple
        Start state.
    horizon : int
        Compare with the exact gap of :func:`~markovgmm.analysis.bounds.horizon_bounds` for ``T <= horizon``.
    rho, x : optional
        A claimed bound and vector to certify (default: chosen from floats).
        A wrong ``rho`` (below ``max (Qx)_i/x_i``) makes the certificate,
        hence the verdict, fail.

    Returns
    -------
    dict
        ``rho_upper`` (``rho_hat``, proven ``>= rho(Q)``), ``rho_lower``
        (proven ``<= rho(Q)``, from the Collatz-Wielandt minimum on the
        transient class with the largest float spectral radius),
        ``rho_float``, ``C`` (``x_s / min_i x_i``), ``certificate_holds``
        (``Q x <= rho_hat x`` exactly), ``gap`` and ``gap_bound`` lists over
        ``T``, ``bound_holds`` (``gap(T) <= C rho_hat^T`` for every ``T``),
        ``steps_for`` (smallest ``T`` with ``C rho_hat^T <= 10^-k``,
        ``k = 3, 6, 9``), ``verdict``.

    Notes
    -----
    ``P(tau > T) = e_s Q^T 1`` (``proofs/LB1_horizon.md``).  If ``Q x <=
    rho_hat x`` with ``x > 0`` then ``Q^T x <= rho_hat^T x`` (``Q >= 0``) and
    ``1 <= x / min x``, so ``P(tau > T) <= rho_hat^T x_s / min x``.  The
    vector is ``x = (sigma I - Q)^{-1} 1`` in floats, rounded to integers; the
    inequality is then checked in exact integer arithmetic
    (``proofs/LB1_rate.md``).

    Examples
    --------
    >>> from markovgmm import build_chain
    >>> chain = build_chain(System(agents=2, components=2, memory=3))
    >>> r = lb1_rate(chain, ((2, 1), (1, 2)), horizon=10)
    >>> r["verdict"], r["rho_lower"] <= r["rho_upper"] < 1
    ('holds', True)
    >>> lb1_rate(chain, ((2, 1), (1, 2)), horizon=10, rho=r["rho_lower"] * Fraction(9, 10))["verdict"]
    'fails'
    """
    from .bounds import _check_start, horizon_bounds

    s = _check_start(chain, start)
    structure, transient = _transient_block(chain, s)
    hb = horizon_bounds(chain, s, horizon, structure=structure)
    gap = [u - lo for u, lo in zip(hb["upper"], hb["lower"])]
    base = {"system": _system_params(chain.system), "start": chain.counts(s), "horizon": horizon,
            "transient_states": int(len(transient))}
    if len(transient) == 0:
        ok = all(g == 0 for g in gap)
        return {**base, "rho_upper": Fraction(0), "rho_lower": Fraction(0), "rho_float": 0.0, "C": Fraction(0),
                "certificate_holds": True, "gap": gap, "gap_bound": [Fraction(0)] * len(gap),
                "bound_holds": ok, "max_deviation": Fraction(0), "steps_for": {}, "verdict": "holds" if ok else "fails"}
    rows = _block_rows(chain, transient)
    position = {int(t): k for k, t in enumerate(transient.tolist())}
    rho_f = None
    if x is None:
        candidates, rho_f = _float_certificates(chain, transient, rows)
        best = None
        for cand in candidates:
            _, cand_hi = collatz_wielandt(rows, chain.denominator, cand)
            cand_C = Fraction(int(cand[position[s]]), min(cand)) if s in position else Fraction(0)
            key = _steps(cand_C, cand_hi, 6)
            key = float("inf") if key is None else key
            if best is None or key < best[0]:
                best = (key, cand)
        x = best[1]
    lo_all, hi = collatz_wielandt(rows, chain.denominator, x)
    rho_hat = Fraction(rho) if rho is not None else hi
    certificate = all(
        sum(v * int(x[k]) for k, v in row) <= rho_hat * int(chain.denominator) * int(x[i]) for i, row in enumerate(rows)
    )
    rho_lower = _rho_lower(chain, rows)
    C = Fraction(int(x[position[s]]), min(int(xi) for xi in x)) if s in position else Fraction(0)
    bound = [C * rho_hat**T for T in range(horizon + 1)]
    holds = all(g <= b for g, b in zip(gap, bound))
    over = max([g - b for g, b in zip(gap, bound)] + [Fraction(0)])
    steps = {f"1e-{k}": _steps(C, rho_hat, k) for k in (3, 6, 9)}
    tight = [float(b) / float(g) if g else None for g, b in zip(gap, bound)]
    return {
        **base,
        "rho_upper": rho_hat,
        "rho_lower": rho_lower,
        "rho_float": rho_f,
        "C": C,
        "certificate_holds": certificate,
        "gap": gap,
        "gap_bound": bound,
        "bound_over_gap_float": tight,
        "bound_holds": holds,
        "max_deviation": over,
        "steps_for": steps,
        "verdict": "holds" if (certificate and holds and rho_lower <= rho_hat) else "fails",
    }


def _rho_lower(chain, rows):
    """A proven lower bound on rho(Q): Collatz-Wielandt minimum on one irreducible diagonal block.

    rho(Q) >= rho(Q_S) for a principal submatrix, and for irreducible Q_S
    with (float) Perron vector rounded to positive integers ``x``,
    ``rho(Q_S) >= min_i (Q_S x)_i / x_i``.
    """
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    n = len(rows)
    ri = [i for i, row in enumerate(rows) for _ in row]
    ci = [k for row in rows for k, _ in row]
    adj = sp.csr_matrix((np.ones(len(ri)), (ri, ci)), shape=(n, n))
    _, comp = connected_components(adj, directed=True, connection="strong")
    best, best_value = None, Fraction(0)
    for c in range(comp.max() + 1):
        members = np.flatnonzero(comp == c).tolist()
        index = {k: j for j, k in enumerate(members)}
        sub = [[(index[k], v) for k, v in rows[i] if k in index] for i in members]
        if not any(sub):
            continue
        if len(members) > 1500:
            continue
        d = float(chain.denominator)
        A = np.zeros((len(members), len(members)))
        for j, row in enumerate(sub):
            for k, v in row:
                A[j, k] += v / d
        w, V = np.linalg.eig(A)
        top = int(np.argmax(w.real))
        vec = np.abs(V[:, top].real)
        vec = vec / vec.max()
        xs = [max(1, int(round(z * 2**30))) for z in vec]
        lo, _ = collatz_wielandt(sub, chain.denominator, xs)
        if lo > best_value:
            best, best_value = c, lo
    return best_value


#: Systems and starts of the ``rate`` family.
RATE_SYSTEMS = (
    (dict(agents=2, components=2, memory=4), ((2, 2), (2, 2))),
    (dict(agents=2, components=2, memory=3, schedule="async"), ((2, 1), (2, 1))),
    (dict(agents=3, components=2, memory=2, graph="path"), ((1, 1), (1, 1), (2, 0))),
    (dict(agents=2, components=2, memory=3, ownership="open"), ((2, 1), (1, 2))),
    (dict(agents=2, components=3, memory=2), ((1, 1, 0), (0, 1, 1))),
    (dict(agents=2, components=2, memory=6), ((3, 3), (3, 3))),
)


def rate_family(systems=RATE_SYSTEMS, horizon=40, rho_override=None):
    """The ``rate`` theorem over a family (see :func:`lb1_rate`).

    >>> r = rate_family(systems=RATE_SYSTEMS[:1], horizon=5)
    >>> r["verdict"], r["max_deviation"]
    ('holds', Fraction(0, 1))
    """
    results, checked = [], []
    for params, start in systems:
        system = System(**params)
        chain = build_exact(system)
        rho = rho_override(system) if rho_override else None
        res = lb1_rate(chain, start, horizon=horizon, rho=rho)
        results.append(res)
        checked.append({**res["system"], "start": res["start"]})
    return {
        "theorem": "rate",
        "statement": ("LB1 gap: upper(T) - lower(T) = P(tau > T) <= C rho_hat^T with rho_hat = max_i (Qx)_i/x_i >= "
                      "rho(Q) (rational Collatz-Wielandt certificate, checked exactly) and C = x_s / min_i x_i"),
        "verdict": "holds" if all(r["verdict"] == "holds" for r in results) else "fails",
        "checked": checked,
        "max_deviation": max(r["max_deviation"] for r in results),
        "results": results,
        "proof": "proofs/LB1_rate.md",
    }


# ---------------------------------------------------------------------------
# dispatch


def run_theorem(name, **options):
    """Run one family by name; ``InputError`` for unknown names.

    ``decay`` is :func:`markovgmm.analysis.decay.decay_family` and ``camps``
    :func:`markovgmm.analysis.camps.camps_family` (their own modules; options
    are passed through).

    >>> run_theorem("decays")
    Traceback (most recent call last):
    ...
    markovgmm.errors.InputError: theorem must be one of voter, graphs, order, rate, decay, camps, got 'decays'
    """
    if name not in THEOREMS:
        raise InputError(f"theorem must be one of {', '.join(THEOREMS)}, got {name!r}")
    t0 = time.perf_counter()
    if name == "voter":
        out = voter_family()
    elif name == "graphs":
        if options.get("grid"):
            out = complete_minimises(read_graph_grid(options["grid"]))
            out["source"] = options["grid"]
        else:
            out = graph_extremes(max_agents=options.get("max_agents", 4), memories=options.get("memories", (4,)),
                                 progress=options.get("progress"), arithmetic=options.get("arithmetic", "exact"))
    elif name == "order":
        out = start_order(memories=options.get("memories", (2, 3, 4, 5, 6)))
    elif name == "decay":
        from .decay import decay_family

        out = decay_family(**{k: v for k, v in options.items() if k in ("agents", "memories", "rtol", "progress")})
    elif name == "camps":
        from .camps import camps_family

        out = camps_family(**{k: v for k, v in options.items() if k in ("agents", "memories", "progress")})
    else:
        out = rate_family(horizon=options.get("horizon", 40))
    out["seconds"] = round(time.perf_counter() - t0, 3)
    return out
