"""Agent symmetries of the memory-replacement chain: the automorphism group of
the reading matrix, canonical orbit representatives and orbit sizes (MODEL.md 2).

A permutation ``sigma`` of the agents is a *symmetry* of a system when
``W[sigma(i), sigma(j)] = W[i, j]`` for all ``i, j``.  Every other ingredient
of the per-agent law (components, means, covariance, ownership rule, ``r``,
``tau``, the schedule) is shared by all agents, so such a ``sigma`` maps the
chain onto itself: ``P(sigma s, sigma t) = P(s, t)`` where
``(sigma s)_{sigma(i)} = s_i`` (agent ``sigma(i)`` of ``sigma s`` holds the
memory agent ``i`` holds in ``s``).  The proof, and why this makes the chain
strongly lumpable on orbits, is in ``proofs/lumpability.md``.

The group is found with networkx's VF2 matcher
(:class:`networkx.algorithms.isomorphism.DiGraphMatcher`) on the weighted
digraph of ``W`` (edge weights and self-loop weights must match exactly, as
rationals).  When ``W`` is invariant under a transposition and an ``m``-cycle
the group is the full symmetric group ``S_m`` (they generate it) and no
search is needed: the canonical representative of a state is then its sorted
tuple of local ranks.  For any other group the canonical representative is
the lexicographically smallest image (smallest global index) over the group.

A state is given as its local ranks, one per agent (``(..., m)`` arrays, see
:mod:`markovgmm.chain.states`); every function works on arrays of states.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations_with_replacement, permutations
from math import comb, factorial

import networkx as nx
import numpy as np

from .states import all_states, global_index

__all__ = [
    "AgentGroup",
    "agent_group",
    "is_symmetry",
    "canonical_ranks",
    "orbit_sizes",
    "orbit_representatives",
    "n_orbits",
    "orbit_numbers",
]

#: Largest group whose permutations are listed explicitly for the full symmetric group.
_MAX_LISTED = 40320


@dataclass(frozen=True)
class AgentGroup:
    """A group of agent permutations that leave ``W`` invariant.

    Attributes
    ----------
    agents : int
        ``m``.
    symmetric : bool
        True when the group is all of ``S_m`` (canonical form = sorting).
    order : int
        Number of elements.
    permutations : (order, m) int array or None
        Row ``g`` is ``sigma_g`` as the array ``[sigma(0), ..., sigma(m-1)]``;
        None only for a full symmetric group too large to list
        (``m! > 40320``), which never needs the list.
    """

    agents: int
    symmetric: bool
    order: int
    permutations: np.ndarray | None = field(repr=False, compare=False)

    @property
    def trivial(self):
        """True when the only symmetry is the identity."""
        return self.order == 1

    def describe(self):
        """Short name: ``"S_3"``, ``"trivial"`` or ``"order 10"``."""
        if self.trivial:
            return "trivial"
        if self.symmetric:
            return f"S_{self.agents}"
        return f"order {self.order}"


def is_symmetry(W, sigma):
    """True when ``W[sigma(i), sigma(j)] == W[i, j]`` for all ``i, j`` (exactly).

    >>> from fractions import Fraction as F
    >>> W = [[F(1, 2), F(1, 2), 0], [F(1, 3), F(1, 3), F(1, 3)], [0, F(1, 2), F(1, 2)]]
    >>> is_symmetry(W, [2, 1, 0]), is_symmetry(W, [1, 0, 2])
    (True, False)
    """
    m = len(W)
    return all(W[sigma[i]][sigma[j]] == W[i][j] for i in range(m) for j in range(m))


def agent_group(system):
    """The automorphism group of the reading matrix ``W`` of ``system``.

    Parameters
    ----------
    system : System

    Returns
    -------
    AgentGroup

    Notes
    -----
    If ``W`` is invariant under the transposition ``(0 1)`` and the cycle
    ``(0 1 ... m-1)`` it is invariant under ``S_m`` (these two generate
    ``S_m``), which covers the complete graph at no search cost.  Otherwise
    every automorphism is enumerated by VF2 on the digraph with an edge
    ``i -> j`` of weight ``W[i, j]`` for each nonzero off-diagonal entry and
    node weight ``W[i, i]``; matching weights exactly makes an isomorphism of
    the digraph exactly a permutation with ``W[sigma i, sigma j] = W[i, j]``.
    All agents share every other parameter (MODEL.md 2), so this is the
    symmetry group of the chain's law.

    Examples
    --------
    >>> from markovgmm.system import System
    >>> agent_group(System(agents=3, components=2, memory=2)).describe()
    'S_3'
    >>> g = agent_group(System(agents=4, components=2, memory=2, graph="ring"))
    >>> g.describe(), g.permutations.tolist()[:2]
    ('order 8', [[0, 1, 2, 3], [0, 3, 2, 1]])
    >>> agent_group(System(agents=3, components=2, memory=2, graph="path")).permutations.tolist()
    [[0, 1, 2], [2, 1, 0]]
    """
    W = system.W
    m = system.agents
    if system.model == "mirror":
        # The partner rule of MODEL.md 6.2 ranks agents by their memories only: every permutation is a symmetry.
        order = factorial(m)
        perms = np.array(list(permutations(range(m))), dtype=np.int64) if order <= _MAX_LISTED else None
        return AgentGroup(m, True, order, perms)
    if m == 1:
        return AgentGroup(1, True, 1, np.zeros((1, 1), dtype=np.int64))
    swap = [1, 0] + list(range(2, m))
    cycle = list(range(1, m)) + [0]
    if is_symmetry(W, swap) and is_symmetry(W, cycle):
        order = factorial(m)
        perms = np.array(list(permutations(range(m))), dtype=np.int64) if order <= _MAX_LISTED else None
        return AgentGroup(m, True, order, perms)
    graph = nx.DiGraph()
    for i in range(m):
        graph.add_node(i, loop=W[i][i])
    for i in range(m):
        for j in range(m):
            if i != j and W[i][j] != 0:
                graph.add_edge(i, j, weight=W[i][j])
    matcher = nx.algorithms.isomorphism.DiGraphMatcher(
        graph,
        graph,
        node_match=lambda a, b: a["loop"] == b["loop"],
        edge_match=lambda a, b: a["weight"] == b["weight"],
    )
    perms = sorted(tuple(mapping[i] for i in range(m)) for mapping in matcher.isomorphisms_iter())
    perms = np.array(perms, dtype=np.int64)
    return AgentGroup(m, False, len(perms), perms)


def _image_indices(ranks, group, L):
    # Images of each state under every group element: (sigma s)_{sigma(i)} = s_i, i.e.
    # (sigma s) = s[sigma^{-1}]; over the whole group the inverses are the group itself.
    images = ranks[..., group.permutations]  # (..., g, m)
    return global_index(images, L)


def canonical_ranks(ranks, group, L):
    """Canonical representative of the orbit of each state.

    Parameters
    ----------
    ranks : (..., m) int array
        Local ranks of the states.
    group : AgentGroup
    L : int
        Number of local states (``system.n_local_states``).

    Returns
    -------
    (..., m) int array
        The lexicographically smallest image of each state over the group
        (for ``S_m``: its ranks sorted in non-decreasing order).

    Examples
    --------
    >>> g = AgentGroup(3, False, 2, np.array([[0, 1, 2], [2, 1, 0]]))
    >>> canonical_ranks(np.array([[4, 0, 1], [1, 0, 4]]), g, 5).tolist()
    [[1, 0, 4], [1, 0, 4]]
    """
    ranks = np.asarray(ranks, dtype=np.int64)
    if group.symmetric:
        return np.sort(ranks, axis=-1)
    if group.trivial:
        return ranks.copy()
    index = _image_indices(ranks, group, L)
    best = np.argmin(index, axis=-1)
    chosen = group.permutations[best]  # (..., m): the element whose image is smallest
    return np.take_along_axis(ranks, chosen, axis=-1)


def orbit_numbers(group, representatives, ranks, L):
    """Orbit number of each state ``ranks`` (``(..., m)`` local ranks) among
    the orbits whose canonical representatives have the increasing global
    indices ``representatives``.

    >>> g = AgentGroup(2, True, 2, None)
    >>> orbit_numbers(g, global_index(orbit_representatives(g, 3), 3), np.array([[2, 0], [1, 1]]), 3).tolist()
    [2, 3]
    """
    canonical = canonical_ranks(np.asarray(ranks, dtype=np.int64), group, L)
    return np.searchsorted(representatives, global_index(canonical, L))


def orbit_sizes(ranks, group, L):
    """Number of states in the orbit of each state (``|G| / |stabiliser|``).

    Examples
    --------
    >>> g = AgentGroup(3, True, 6, None)
    >>> orbit_sizes(np.array([[0, 0, 0], [0, 0, 2], [0, 1, 2]]), g, 3).tolist()
    [1, 3, 6]
    """
    ranks = np.asarray(ranks, dtype=np.int64)
    if group.trivial:
        return np.ones(ranks.shape[:-1], dtype=np.int64)
    if group.symmetric:
        # m! / prod(multiplicity!) over the runs of the sorted ranks.
        ordered = np.sort(ranks, axis=-1)
        m = ordered.shape[-1]
        size = np.full(ordered.shape[:-1], factorial(m), dtype=np.int64)
        run = np.ones(ordered.shape[:-1], dtype=np.int64)
        for i in range(1, m):
            same = ordered[..., i] == ordered[..., i - 1]
            run = np.where(same, run + 1, 1)
            size //= np.where(same, run, 1)
        return size
    index = np.sort(_image_indices(ranks, group, L), axis=-1)
    return 1 + (np.diff(index, axis=-1) != 0).sum(axis=-1)


def n_orbits(group, L):
    """Number of orbits of the group on the ``L^m`` states (Burnside for
    non-symmetric groups: the mean number of fixed points).

    >>> n_orbits(AgentGroup(3, True, 6, None), 41)
    12341
    """
    m = group.agents
    if group.symmetric:
        return comb(L + m - 1, m)
    total = 0
    for sigma in group.permutations.tolist():
        seen, cycles = set(), 0
        for i in range(m):
            if i not in seen:
                cycles += 1
                while i not in seen:
                    seen.add(i)
                    i = sigma[i]
        total += L**cycles
    return total // group.order


def orbit_representatives(group, L, chunk=1 << 20):
    """Canonical representatives of all orbits, in increasing global index.

    For ``S_m`` these are the non-decreasing rank tuples, enumerated directly
    (``C(L+m-1, m)`` of them).  For any other group the states are scanned in
    chunks of global indices and those equal to their canonical form kept
    (``O(L^m |G|)`` time, ``O(chunk |G| m)`` memory; no transition is built).

    Returns
    -------
    (n_orbits, m) int array of local ranks.

    Examples
    --------
    >>> orbit_representatives(AgentGroup(2, True, 2, None), 3).tolist()
    [[0, 0], [0, 1], [0, 2], [1, 1], [1, 2], [2, 2]]
    """
    m = group.agents
    if group.symmetric:
        count = comb(L + m - 1, m)
        flat = np.fromiter(
            (r for combo in combinations_with_replacement(range(L), m) for r in combo), dtype=np.int64, count=count * m
        )
        return flat.reshape(count, m)
    total = L**m
    if group.trivial:
        return all_states(L, m)
    from .states import local_ranks

    kept = []
    for first in range(0, total, chunk):
        ranks = local_ranks(np.arange(first, min(total, first + chunk), dtype=np.int64), L, m)
        index = _image_indices(ranks, group, L)
        kept.append(ranks[index.min(axis=-1) == global_index(ranks, L)])
    return np.concatenate(kept, axis=0)
