"""Closed classes of a built chain and their kinds (MODEL.md 3).

Closed classes are the strongly connected components of the transition graph
with no edge leaving them; nothing assumes they are single states.  A closed
class is a *consensus* if in its states all agents sit at the same vertex
(memory holding one label), *polarised* if all agents sit at vertices and at
least two distinct vertices occur, and *other* otherwise.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

__all__ = ["ClosedClass", "ClassStructure", "closed_classes", "strong_components", "reachable_from", "small", "SMALL_STATES"]

#: Chains (or transient sets) of at most this many states are analysed without scipy: strong
#: components by :func:`strong_components`, reachability by :func:`reachable_from`, dense numpy
#: float solves and dense int64 exact products (``benchmarks/results_startup.md``: a small
#: ``absorb`` then never imports scipy, whose import costs ~0.33 s CPU).  Larger ones use
#: ``scipy.sparse``.  The same functions decide what is computed on either backend.
SMALL_STATES = 400


def small(n):
    """Whether ``n`` states are in the scipy-free (dense numpy) backend: ``n <= SMALL_STATES``."""
    return n <= SMALL_STATES


def strong_components(indptr, indices, n):
    """Strongly connected components of the graph with CSR arrays ``indptr, indices``
    on ``n`` nodes: ``(count, label)`` with ``label`` an (n,) int64 array.

    Iterative Tarjan (no recursion), ``O(n + edges)``; components are numbered
    in the order Tarjan completes them, i.e. every component is numbered
    after every component it reaches (a reverse topological order of the
    condensation).  The scipy-free backend of :func:`closed_classes`.

    >>> strong_components(np.array([0, 1, 2, 3, 3]), np.array([1, 0, 3]), 4)[1].tolist()
    [0, 0, 2, 1]
    """
    indptr = np.asarray(indptr).tolist()
    indices = np.asarray(indices).tolist()
    index = [-1] * n
    low = [0] * n
    on_stack = [False] * n
    label = [-1] * n
    stack, counter, count = [], 0, 0
    for root in range(n):
        if index[root] >= 0:
            continue
        work = [(root, indptr[root])]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        while work:
            v, edge = work[-1]
            end = indptr[v + 1]
            while edge < end:
                w = indices[edge]
                edge += 1
                if index[w] < 0:
                    work[-1] = (v, edge)
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack[w] = True
                    work.append((w, indptr[w]))
                    break
                if on_stack[w] and index[w] < low[v]:
                    low[v] = index[w]
            else:
                work.pop()
                if work:
                    u = work[-1][0]
                    if low[v] < low[u]:
                        low[u] = low[v]
                if low[v] == index[v]:
                    while True:
                        w = stack.pop()
                        on_stack[w] = False
                        label[w] = count
                        if w == v:
                            break
                    count += 1
    return count, np.array(label, dtype=np.int64)


def reachable_from(indptr, indices, start):
    """Sorted node numbers reachable from ``start`` (itself included) in the
    CSR graph ``indptr, indices``: breadth-first frontiers in numpy.

    >>> reachable_from(np.array([0, 1, 2, 2]), np.array([1, 2]), 0).tolist()
    [0, 1, 2]
    """
    indptr = np.asarray(indptr)
    indices = np.asarray(indices)
    seen = np.zeros(len(indptr) - 1, dtype=bool)
    seen[start] = True
    frontier = np.array([start], dtype=np.int64)
    while len(frontier):
        starts, ends = indptr[frontier], indptr[frontier + 1]
        lengths = ends - starts
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
        nxt = np.unique(indices[offsets])
        nxt = nxt[~seen[nxt]]
        seen[nxt] = True
        frontier = nxt
    return np.flatnonzero(seen)


@dataclass(frozen=True)
class ClosedClass:
    """One closed class.

    Attributes
    ----------
    states : tuple of int
        State numbers in the class.
    kind : str
        ``"consensus"``, ``"polarised"`` or ``"other"``.
    component : int or None
        The shared vertex of a consensus.
    camps : dict or None
        ``{label: number of agents}`` for a class of one all-vertex state.
    """

    states: tuple
    kind: str
    component: int | None
    camps: dict | None

    @property
    def camp_sizes(self):
        """Camp sizes, largest first (``None`` unless the camps are known)."""
        return None if self.camps is None else tuple(sorted(self.camps.values(), reverse=True))


@dataclass(frozen=True)
class ClassStructure:
    """Closed classes of a chain.

    Attributes
    ----------
    classes : list of ClosedClass
    class_of : (n,) int array
        Index into ``classes`` of each state's closed class, -1 if transient.
    """

    classes: list
    class_of: np.ndarray

    @property
    def transient(self):
        return np.flatnonzero(self.class_of < 0)

    def kinds(self):
        return [c.kind for c in self.classes]


def closed_classes(chain):
    """Closed classes of ``chain``, from the transition graph.

    Notes
    -----
    Strongly connected components by ``scipy.sparse.csgraph`` (Tarjan / Pearce),
    or by :func:`strong_components` on the chain's own CSR arrays for at most
    :data:`SMALL_STATES` states (no scipy import), ``O(states + transitions)``
    either way.  Classes are ordered by their smallest state, so they do not
    depend on how the components are numbered.

    Examples
    --------
    >>> from markovgmm import System, build_chain
    >>> cs = closed_classes(build_chain(System(agents=2, components=2, memory=2)))
    >>> [(c.kind, c.component, c.camps) for c in cs.classes]
    [('consensus', 0, {0: 2}), ('polarised', None, {0: 1, 1: 1}), ('polarised', None, {1: 1, 0: 1}), ('consensus', 1, {1: 2})]
    """
    if small(chain.n_states):
        _, scc = strong_components(chain.indptr, chain.indices, chain.n_states)
    else:
        from scipy.sparse.csgraph import connected_components

        _, scc = connected_components(chain.structure(), directed=True, connection="strong")
    rows = np.repeat(np.arange(chain.n_states), np.diff(chain.indptr))
    leaving = scc[rows] != scc[chain.indices]
    open_components = np.zeros(scc.max() + 1, dtype=bool)
    open_components[scc[rows[leaving]]] = True
    closed_states = np.flatnonzero(~open_components[scc])
    labels = chain.vertex_labels()
    classes = []
    class_of = np.full(chain.n_states, -1, dtype=np.int64)
    seen = {}
    for state in closed_states:  # increasing, so classes are ordered by smallest state
        component = scc[state]
        if component not in seen:
            seen[component] = len(classes)
            members = np.flatnonzero(scc == component)
            classes.append(members)
        class_of[state] = seen[component]
    return ClassStructure([_classify(members, labels) for members in classes], class_of)


def _classify(members, labels):
    vertex = labels[members]  # (size, m)
    all_vertex = bool((vertex >= 0).all())
    distinct = [set(row.tolist()) for row in vertex]
    camps = dict(Counter(vertex[0].tolist())) if len(members) == 1 and all_vertex else None
    if all_vertex and all(len(d) == 1 for d in distinct) and len({min(d) for d in distinct}) == 1:
        return ClosedClass(tuple(members.tolist()), "consensus", int(vertex[0, 0]), camps)
    if all_vertex and all(len(d) >= 2 for d in distinct):
        return ClosedClass(tuple(members.tolist()), "polarised", None, camps)
    return ClosedClass(tuple(members.tolist()), "other", None, camps)
