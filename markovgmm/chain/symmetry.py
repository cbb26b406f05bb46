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

With ``components=True`` (:func:`symmetry_group`, opt-in) the group also
contains the component relabellings ``tau`` that fix the ownership rule
(pool) or the geometry's farthest rule (mirror), decided exactly on the
model's tables (:func:`component_symmetries`): the direct product ``A x T``
acting by ``((sigma, tau) s)_{sigma(i)} = tau c_i``.  Such a group carries
``component_permutations`` (``(T, K)``) and ``local_permutations``
(``(T, L)``: the local rank of ``tau c``); a group of agent permutations has
``component_permutations = None`` (``has_components`` is False).  Canonical
form: the smallest, over ``tau``, of the agent-canonical forms of ``tau s``.

A state is given as its local ranks, one per agent (``(..., m)`` arrays, see
:mod:`markovgmm.chain.states`); every function works on arrays of states.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations_with_replacement, permutations
from math import comb, factorial

import numpy as np

from .states import all_states, global_index, rank_counts

__all__ = [
    "AgentGroup",
    "agent_group",
    "symmetry_group",
    "component_symmetries",
    "local_permutation",
    "group_images",
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
    component_permutations: np.ndarray | None = field(default=None, repr=False, compare=False)
    local_permutations: np.ndarray | None = field(default=None, repr=False, compare=False)
    component_name: str | None = None

    @property
    def trivial(self):
        """True when the only symmetry is the identity."""
        return self.order == 1

    @property
    def has_components(self):
        """True when the group also relabels components (a product ``A x T``,
        :func:`symmetry_group`); False for a group of agent permutations only."""
        return self.component_permutations is not None

    @property
    def agent_order(self):
        """Order of the agent part ``A``."""
        return self.order // (1 if self.component_permutations is None else len(self.component_permutations))

    def agent_part(self):
        """The agent part ``A`` alone, as a group of agent permutations."""
        if not self.has_components:
            return self
        return AgentGroup(self.agents, self.symmetric, self.agent_order, self.permutations)

    def describe(self):
        """Short name: ``"S_3"``, ``"trivial"``, ``"order 10"``, or with a
        component part ``"S_3 x S_2 (components)"`` (``"D_4 (components)"``
        when the agent part is trivial)."""
        if self.trivial:
            return "trivial"
        if self.symmetric:
            agents = f"S_{self.agents}"
        else:
            agents = "trivial" if self.agent_order == 1 else f"order {self.agent_order}"
        if not self.has_components:
            return agents
        if self.agent_order == 1:
            return f"{self.component_name} (components)"
        return f"{agents} x {self.component_name} (components)"


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
    import networkx as nx

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
    if group.has_components:
        # In blocks, so that the |T| images of a chunk of successors stay within a few hundred MB.
        flat = ranks.reshape(-1, ranks.shape[-1])
        out = np.empty_like(flat)
        step = max(1, _COMPONENT_BLOCK // len(group.component_permutations))
        for first in range(0, len(flat), step):
            images, index = _component_images(flat[first : first + step], group, L)
            best = np.argmin(index, axis=0)  # the relabelling whose agent-canonical image is smallest
            out[first : first + step] = np.take_along_axis(images, best[None, :, None], axis=0)[0]
        return out.reshape(ranks.shape)
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
    if group.has_components:
        # The G-orbit is the union of the A-orbits of the relabelled states tau s; they all have the
        # size of the A-orbit of s (tau commutes with A and is injective on memories), and two are
        # either equal or disjoint: count the distinct ones by their A-canonical forms.
        flat = ranks.reshape(-1, ranks.shape[-1])
        distinct = np.empty(len(flat), dtype=np.int64)
        step = max(1, _COMPONENT_BLOCK // len(group.component_permutations))
        for first in range(0, len(flat), step):
            _images, index = _component_images(flat[first : first + step], group, L)
            index = np.sort(index, axis=0)
            distinct[first : first + step] = 1 + (np.diff(index, axis=0) != 0).sum(axis=0)
        return orbit_sizes(ranks, group.agent_part(), L) * distinct.reshape(ranks.shape[:-1])
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
    if group.has_components:
        return _burnside_product(group, L)
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
    if group.has_components:
        # Agent-orbit representatives that are also smallest over the component relabellings.
        reps = orbit_representatives(group.agent_part(), L, chunk)
        step = max(1, chunk // max(1, len(group.component_permutations)))
        kept = []
        for first in range(0, len(reps), step):
            block = reps[first : first + step]
            kept.append(block[global_index(canonical_ranks(block, group, L), L) == global_index(block, L)])
        return np.concatenate(kept, axis=0) if kept else reps[:0]
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


# ---------------------------------------------------------------------------
# Component symmetries (proofs/lumpability.md, "Component symmetries")
# ---------------------------------------------------------------------------

#: States relabelled at once (times |T|) in canonical forms and orbit sizes under a component part.
_COMPONENT_BLOCK = 1 << 21
#: Components up to which every permutation of the components is tried; above, only the dihedral candidates.
_MAX_BRUTE_COMPONENTS = 7


def local_permutation(counts, tau):
    """Local rank of ``tau c`` for every local state ``c`` (rows of ``counts``),
    where ``(tau c)[tau(k)] = c[k]``: the memory with every label ``k``
    renamed ``tau(k)``.

    >>> from .states import local_states
    >>> local_permutation(local_states(2, 2), [1, 0]).tolist()  # (2,0) <-> (0,2)
    [2, 1, 0]
    """
    counts = np.asarray(counts, dtype=np.int64)
    moved = np.empty_like(counts)
    moved[:, np.asarray(tau, dtype=np.int64)] = counts
    return rank_counts(moved, int(counts[0].sum()))


def _component_images(ranks, group, L):
    # The agent-canonical form of tau s for every component relabelling tau: (T, ..., m) ranks and
    # (T, ...) global indices.
    images = canonical_ranks(group.local_permutations[:, ranks], group.agent_part(), L)
    return images, global_index(images, L)


def _partitions(m, largest=None):
    largest = m if largest is None else largest
    if m == 0:
        yield ()
        return
    for part in range(min(m, largest), 0, -1):
        for rest in _partitions(m - part, part):
            yield (part,) + rest


def _burnside_product(group, L):
    """Number of orbits of ``A x T`` on the ``L^m`` states, exactly (Burnside):
    ``(sigma, tau)`` fixes ``s`` iff along every cycle of ``sigma`` of length
    ``l`` the memory is fixed by ``tau^l``, so the fixed points number
    ``prod_cycles fix(tau^l)``."""
    m = group.agents
    lp = group.local_permutations
    T = len(lp)
    identity = np.arange(L)
    fixed = np.zeros((T, m + 1), dtype=object)  # fixed[t, l] = #{c : tau_t^l c = c}
    for t in range(T):
        power = identity.copy()
        for length in range(1, m + 1):
            power = lp[t][power]
            fixed[t, length] = int((power == identity).sum())
    total = 0
    if group.symmetric:
        for parts in _partitions(m):
            # Number of permutations of cycle type `parts`: m! / prod(l^{a_l} a_l!).
            count = factorial(m)
            for length in set(parts):
                a = parts.count(length)
                count //= length**a * factorial(a)
            for t in range(T):
                term = count
                for length in parts:
                    term *= fixed[t, length]
                total += term
    else:
        for sigma in group.permutations.tolist():
            seen, lengths = set(), []
            for i in range(m):
                if i not in seen:
                    length = 0
                    while i not in seen:
                        seen.add(i)
                        i = sigma[i]
                        length += 1
                    lengths.append(length)
            for t in range(T):
                term = 1
                for length in lengths:
                    term *= fixed[t, length]
                total += term
    assert total % group.order == 0
    return int(total // group.order)


def _table_equivariant(table, lp, tau):
    """The pool model's replacement (+ pruning) table satisfies
    ``coef[tau c, tau c'', tau A] = coef[c, c'', A]`` (checked exactly)."""
    L, E, nA = table.numerators.shape
    monomials = table.monomials
    moved = np.empty_like(monomials)
    moved[:, tau] = monomials
    where = {tuple(a): i for i, a in enumerate(monomials.tolist())}
    amap = np.array([where[tuple(a)] for a in moved.tolist()], dtype=np.int64)
    c, e, a = np.nonzero(table.numerators != 0)
    t = table.successors[c, e]
    values = table.numerators[c, e, a]
    key = (c * L + t) * nA + a
    image = (lp[c] * L + lp[t]) * nA + amap[a]
    o1, o2 = np.argsort(key), np.argsort(image)
    return bool(np.array_equal(key[o1], image[o2]) and (values[o1] == values[o2]).all())


def _mahalanobis_table(system):
    from .laws import _mahalanobis_sq

    K = system.components
    return [[_mahalanobis_sq(system.means, system.covariance, a, b) for b in range(K)] for a in range(K)]


def _is_component_symmetry(system, table, tau, kernel=None, dist=None):
    tau = np.asarray(tau, dtype=np.int64)
    lp = local_permutation(table.counts, tau)
    if system.model == "mirror":
        # MODEL.md 6.2: the farthest rule and the partner's answer law are the only component-dependent
        # tables; the partner law depends on the memories through |c_i - c_j|^2 and the clipped
        # correction, both invariant under every relabelling (proofs/lumpability.md).
        return bool(
            np.array_equal(table.farthest[lp][:, tau][:, :, tau], table.farthest)
            and np.array_equal(table.answer[lp][:, tau][:, :, tau], table.answer)
        )
    if not _table_equivariant(table, lp, tau):
        return False
    if system.ownership == "gaussian":
        # An exact isometry of the Mahalanobis metric maps the means onto themselves iff tau keeps every
        # pairwise Mahalanobis distance (finite distance-preserving maps extend to isometries).
        K = system.components
        return all(dist[tau[a]][tau[b]] == dist[a][b] for a in range(K) for b in range(K))
    # support / open: the labelling kernel itself, exactly: O[tau c, tau k, tau k'] = O[c, k, k'].
    return bool(np.array_equal(kernel[lp][:, tau][:, :, tau], kernel))


def _closure(generators, K):
    identity = tuple(range(K))
    seen = {identity}
    frontier = [identity]
    while frontier:
        new = []
        for g in frontier:
            for h in generators:
                composed = tuple(h[g[k]] for k in range(K))
                if composed not in seen:
                    seen.add(composed)
                    new.append(composed)
        frontier = new
    return sorted(seen)


def component_symmetries(system, table=None):
    """Component permutations ``tau`` under which ``system``'s per-agent law is
    equivariant, decided exactly on the model's tables.

    ``tau`` is kept when relabelling every component ``k`` as ``tau(k)`` maps
    the chain onto itself (``P(tau s, tau t) = P(s, t)``,
    ``proofs/lumpability.md``):

    - pool model, ``support`` / ``open``: the labelling kernel (nearest mean,
      ties to the lowest index) satisfies ``O[tau c, tau k, tau k'] = O[c,
      k, k']`` for every local state, checked entry by entry -- the means'
      geometry alone does not decide it (``mu = 0, 1, 2``: the reversal maps
      distances onto distances but not the tie of component 1 between 0 and
      2, which goes to 0 both ways); and the replacement/pruning table is
      equivariant (it always is; checked anyway);
    - pool model, ``gaussian``: ``tau`` keeps every Mahalanobis distance
      between means (then an isometry maps ``mu_k`` to ``mu_{tau k}``);
    - mirror model: the farthest rule and the answer table are equivariant
      (line: the reversal; simplex: all of ``S_K``; circle: the dihedral
      group).

    With ``K <= 7`` every permutation is tried (the set found is a group:
    the condition is kept by composition and inverses); with more
    components only the closure of the rotation and the reflection that
    pass (a subgroup, which lumps exactly as well).

    Returns
    -------
    (T, K) int array
        Row ``t`` is ``[tau(0), ..., tau(K-1)]``; row 0 is the identity.

    Examples
    --------
    >>> from markovgmm.system import System
    >>> component_symmetries(System(agents=2, components=2, memory=3)).tolist()
    [[0, 1], [1, 0]]
    >>> component_symmetries(System(agents=2, components=3, memory=2)).tolist()  # the tie of 1 breaks the reversal
    [[0, 1, 2]]
    >>> component_symmetries(System(agents=2, components=3, memory=2, means=(0, 1, 3))).tolist()
    [[0, 1, 2]]
    >>> len(component_symmetries(System(agents=2, components=3, memory=2, ownership="open")))
    6
    >>> s = System(model="mirror", agents=3, components=4, memory=2, geometry="circle")
    >>> len(component_symmetries(s)), len(component_symmetries(System(model="mirror", agents=3, components=4, memory=2)))
    (8, 2)
    """
    from .assembly import local_table

    table = table if table is not None else local_table(system)
    K = system.components
    kernel = dist = None
    if system.model == "pool":
        if system.ownership == "gaussian":
            dist = _mahalanobis_table(system)
        else:
            from .laws import labelling_kernel

            kernel = labelling_kernel(system, table.counts)
    if K <= _MAX_BRUTE_COMPONENTS:
        kept = [tau for tau in permutations(range(K)) if _is_component_symmetry(system, table, tau, kernel, dist)]
    else:
        rotation = tuple((k + 1) % K for k in range(K))
        reflection = tuple((K - 1 - k) for k in range(K))
        generators = [g for g in (rotation, reflection) if _is_component_symmetry(system, table, g, kernel, dist)]
        kept = _closure(generators, K)
    return np.array(sorted(kept), dtype=np.int64).reshape(-1, K)


def _component_group_name(perms, K):
    T = len(perms)
    if T == factorial(K):
        return f"S_{K}"
    if T == 2:
        return "Z_2"
    if T == 2 * K:
        return f"D_{K}"
    return f"order {T}"


def symmetry_group(system, components=True, table=None):
    """The symmetry group used to lump ``system``'s chain: agent permutations
    fixing ``W`` (:func:`agent_group`) times, with ``components=True``, the
    component permutations fixing the ownership rule
    (:func:`component_symmetries`).  The two parts act on different things
    (agent positions, labels) and commute, so the group is the direct
    product ``A x T`` acting by ``((sigma, tau) s)_{sigma(i)} = tau c_i``.

    When ``T`` is trivial (or ``components=False``) this is exactly
    :func:`agent_group` (``component_permutations`` is None), so every
    result is the agent-only lumping's.

    Examples
    --------
    >>> from markovgmm.system import System
    >>> g = symmetry_group(System(agents=3, components=2, memory=10))
    >>> g.describe(), g.order, g.has_components, g.component_permutations.tolist()
    ('S_3 x S_2 (components)', 12, True, [[0, 1], [1, 0]])
    >>> symmetry_group(System(agents=3, components=3, memory=2)).describe()  # ties to the lowest index
    'S_3'
    >>> symmetry_group(System(model="mirror", agents=3, components=3, memory=2, geometry="simplex")).describe()
    'S_3 x S_3 (components)'
    """
    agents = agent_group(system)
    if not components:
        return agents
    from .assembly import local_table

    table = table if table is not None else local_table(system)
    perms = component_symmetries(system, table)
    if len(perms) == 1:
        return agents
    lp = np.stack([local_permutation(table.counts, tau) for tau in perms])
    return AgentGroup(
        agents.agents,
        agents.symmetric,
        agents.order * len(perms),
        agents.permutations,
        component_permutations=perms,
        local_permutations=lp,
        component_name=_component_group_name(perms, system.components),
    )


def group_images(ranks, group):
    """Images of the state ``ranks`` (``(m,)`` local ranks) under every element
    of ``group``, as a ``(order, m)`` array (with repetitions), in the form
    ``s -> tau s[sigma]``; None when the agent part is too large to list.

    >>> g = AgentGroup(2, True, 2, np.array([[0, 1], [1, 0]]))
    >>> group_images(np.array([0, 2]), g).tolist()
    [[0, 2], [2, 0]]
    """
    if group.permutations is None:
        return None
    ranks = np.asarray(ranks, dtype=np.int64)
    moved = ranks[group.permutations]  # (A, m)
    if not group.has_components:
        return moved
    return group.local_permutations[:, moved].reshape(-1, group.agents)
