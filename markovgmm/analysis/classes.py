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
from scipy.sparse.csgraph import connected_components

__all__ = ["ClosedClass", "ClassStructure", "closed_classes"]


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
    ``O(states + transitions)``.  Classes are ordered by their smallest state.

    Examples
    --------
    >>> from markovgmm import System, build_chain
    >>> cs = closed_classes(build_chain(System(agents=2, components=2, memory=2)))
    >>> [(c.kind, c.component, c.camps) for c in cs.classes]
    [('consensus', 0, {0: 2}), ('polarised', None, {0: 1, 1: 1}), ('polarised', None, {1: 1, 0: 1}), ('consensus', 1, {1: 2})]
    """
    structure = chain.structure()
    _, scc = connected_components(structure, directed=True, connection="strong")
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
