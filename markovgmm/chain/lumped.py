"""The memory-replacement chain lumped on orbits of the agents' symmetry group
(MODEL.md 2; strong lumpability proven in ``proofs/lumpability.md``).

When a group ``G`` of agent permutations leaves ``W`` invariant
(:func:`~markovgmm.chain.symmetry.agent_group`), the chain is *strongly
lumpable* on the orbits of ``G``: for states ``s`` and ``s'`` of one orbit
and any orbit ``O``, ``P(s, O) = P(s', O)``.  The lumped chain has one state
per orbit and ``P^(O, O') = P(rep(O), O')``.  It is built directly: only the
rows of the canonical representatives are computed (with the same per-agent
laws and the same sync/async assembly as the full chain,
:func:`~markovgmm.chain.build.assemble_rows`), and every successor is mapped
to the number of its orbit; the full chain is never built.

Every closed class of the full chain maps into one closed class of the
lumped chain, of the same kind (a permutation of the agents keeps "all
agents at one vertex" and "all at vertices, two vertices occur"), so
P(polarisation), P(consensus on k), P(other) and the expected absorption time
from a state equal those from its orbit in the lumped chain.  A lumped closed
class stands for the whole orbit of full classes (e.g. both "2 agents at 0, 1
at 1" classes of ``m=3`` are one lumped class).

Cost (sync, ``S_m``): ``C(L+m-1, m)`` rows of ``E^m`` expanded successors,
about ``m!`` times fewer than the full chain when ``L >> m``.
"""

from __future__ import annotations

import numpy as np

from . import population
from .assembly import Chain, assemble_rows, check_cost, local_table, sum_by_key
from .states import global_index, local_ranks
from .symmetry import (
    agent_group,
    canonical_ranks,
    group_images,
    orbit_numbers,
    orbit_representatives,
    orbit_sizes,
    symmetry_group,
)

__all__ = ["build_lumped_chain", "build_streamed_chain", "streaming_applies", "orbit_index", "lumping_map", "split_closed_classes", "consensus_split", "full_class_labels"]


def build_lumped_chain(
    system, exact=True, memory_limit=None, group=None, progress=None, table=None, kernel=None, components=False
):
    """Build the chain lumped by the agents' symmetry group, on orbits directly.

    Parameters
    ----------
    system : System
    exact : bool
        Exact integer numerators over one common denominator, or float64.
    memory_limit : int, optional
        As in :func:`~markovgmm.chain.build.build_chain` (estimated on orbits).
    group : AgentGroup, optional
        A group of symmetries of ``W`` (default: the whole automorphism
        group, :func:`~markovgmm.chain.symmetry.agent_group`).  Any subgroup
        gives an exact lumping too, and so does a product group with a
        component part (:func:`~markovgmm.chain.symmetry.symmetry_group`).
    components : bool
        Opt-in (default False): also lump by the component relabellings that
        fix the ownership rule, i.e. use
        :func:`~markovgmm.chain.symmetry.symmetry_group` instead of
        :func:`~markovgmm.chain.symmetry.agent_group` when ``group`` is not
        given.  P(polarisation), P(consensus) (the total), P(other), the
        expected absorption time, its distribution, camp and silo sizes are
        orbit invariants and come out exactly as on the full chain;
        P(consensus on ``k``) is not (a relabelling moves consensus on ``k``
        to consensus on ``tau(k)``): :func:`consensus_split` recovers it
        exactly when the start's stabiliser determines the split, and
        :func:`~markovgmm.analysis.absorption.absorb` reports None for
        ``consensus_by_component`` otherwise (``proofs/lumpability.md``).
    progress : callable, optional
        Called with the number of orbit rows assembled so far.
    table, kernel : optional
        The replacement table and a labelling kernel replacing the ownership
        rule's, as in :func:`~markovgmm.chain.build.assemble_rows`.

    Returns
    -------
    Chain
        With ``lumped=True``, ``group``, ``orbit_size`` and
        ``representatives``; ``agent_ranks`` are the canonical
        representatives, ``chain.index(state)`` the orbit of any state.

    Notes
    -----
    Row ``O`` is the row of the representative ``s = rep(O)`` with columns
    merged by orbit: ``P^(O, O') = sum_{t in O'} P(s, t)``.  Strong
    lumpability (``P(s, O')`` is the same for every ``s`` in ``O``) follows
    from ``P(sigma s, sigma t) = P(s, t)`` for every ``sigma`` in ``G``;
    see ``proofs/lumpability.md``.  The entries keep the full chain's common
    denominator, so exactness is untouched.

    Examples
    --------
    >>> from markovgmm.system import System
    >>> chain = build_lumped_chain(System(agents=3, components=2, memory=10))
    >>> chain.n_states, chain.n_full_states, chain.group.describe()
    (286, 1331, 'S_3')
    >>> chain.counts(chain.index(((7, 3), (2, 8), (5, 5))))
    ((7, 3), (5, 5), (2, 8))
    >>> int(chain.orbit_size.sum())
    1331
    >>> both = build_lumped_chain(System(agents=3, components=2, memory=10), components=True)
    >>> both.n_states, both.group.describe(), int(both.orbit_size.sum())
    (146, 'S_3 x S_2 (components)', 1331)
    """
    if table is None:
        table = local_table(system)
    if group is None:
        group = symmetry_group(system, table=table) if components else agent_group(system)
    check_cost(system, table, memory_limit, lumped=True, group=group)
    L = system.n_local_states
    reps = orbit_representatives(group, L)
    rep_index = global_index(reps, L)

    def to_orbit(cols):
        return _orbit_numbers(cols, group, L, system.agents, rep_index)

    if population.applies(system, group):  # S_m, sync: convolve move laws (markovgmm.chain.population)
        indptr, indices, values, denominator = population.population_rows(
            system, reps, rep_index, exact, table, progress=progress, kernel=kernel
        )
    elif group.has_components and population.applies(system, group.agent_part()):
        indptr, indices, values, denominator = _component_rows_from_population(
            system, group, reps, rep_index, exact, table, progress, kernel
        )
    else:
        indptr, indices, values, denominator = assemble_rows(
            system, reps, exact, table, column_map=to_orbit, progress=progress, kernel=kernel
        )
    return Chain(
        system,
        exact,
        reps,
        table.counts,
        indptr,
        indices,
        values,
        denominator,
        lumped=True,
        group=group,
        orbit_size=orbit_sizes(reps, group, L),
        representatives=rep_index,
    )


def streaming_applies(system):
    """True when :func:`build_streamed_chain` can build ``system``: exact
    probabilities, and the population build on the full symmetric group of
    the agents (``sync``; the complete-graph pool chain or the mirroring
    chain)."""
    return system.exact_supported and population.applies(system, agent_group(system))


def build_streamed_chain(system, memory_limit=None, progress=None, table=None):
    """The float lumped chain on ``S_m`` orbits, with its exact rows streamed.

    For many agents the exact numerators over ``D^m`` are too many to store
    (m = 12, N = 8: about 235 million Python integers, 23 GB).  This builds
    the float chain (what the float solver needs) and attaches
    ``chain.exact_rows`` (:class:`~markovgmm.chain.population.ExactRows`),
    which regenerates the *exact* rows chunk by chunk on demand.  The float
    entries and the exact numerators come from the same per-agent laws and
    the same convolution (:func:`~markovgmm.chain.population.population_chunks`).
    :func:`~markovgmm.analysis.certified.certified_absorb` recognises such a
    chain and certifies it without storing an exact entry (the adjoint
    certificate, ``proofs/certified_enclosure.md``, streamed).

    The chain itself is a float chain (``chain.exact`` is False): exact
    analyses that need stored numerators refuse it.  Memory is checked first
    (:func:`~markovgmm.chain.assembly.estimate_cost` with ``streamed=True``);
    a request that does not fit is refused naming the largest memory that does.

    Examples
    --------
    >>> from markovgmm.system import System
    >>> chain = build_streamed_chain(System(agents=4, components=2, memory=4))
    >>> chain.exact, chain.n_states, chain.exact_rows.denominator == build_lumped_chain(System(agents=4, components=2, memory=4)).denominator
    (False, 70, True)
    """
    from ..errors import InputError

    if not system.exact_supported:
        raise InputError(f"streamed: ownership={system.ownership} has irrational transition probabilities; there are no exact rows to stream")
    group = agent_group(system)
    if not population.applies(system, group):
        raise InputError(
            "streamed: needs the sync schedule and agents that are all exchangeable (complete graph, or the mirroring chain); "
            f"got schedule={system.schedule} with symmetry group {group.describe()}"
        )
    if table is None:
        table = local_table(system)
    check_cost(system, table, memory_limit, lumped=True, group=group, streamed=True)
    L = system.n_local_states
    reps = orbit_representatives(group, L)
    rep_index = global_index(reps, L)
    indptr, indices, values, _ = population.population_rows(system, reps, rep_index, False, table, progress=progress)
    return Chain(
        system,
        False,
        reps,
        table.counts,
        indptr,
        indices,
        values,
        1.0,
        lumped=True,
        group=group,
        orbit_size=orbit_sizes(reps, group, L),
        representatives=rep_index,
        exact_rows=population.ExactRows(system, reps, rep_index, table),
    )


def _component_rows_from_population(system, group, reps, rep_index, exact, table, progress, kernel):
    """Rows of the ``S_m x T`` lumped chain from the ``S_m`` population build:
    the agent-orbit rows of the ``A x T`` representatives (which are
    agent-orbit representatives), with every agent-orbit column mapped to its
    ``A x T`` orbit and merged (the row of a representative into an orbit
    ``O'`` is the sum over the agent orbits inside ``O'``)."""
    L = system.n_local_states
    agent = group.agent_part()
    agent_reps = orbit_representatives(agent, L)
    agent_index = global_index(agent_reps, L)
    n, n_agent = len(rep_index), len(agent_index)
    scaled = None if progress is None else (lambda done: progress(min(n, done * n // n_agent)))
    a_ip, a_idx, a_val, denominator = population.population_rows(
        system, agent_reps, agent_index, exact, table, progress=scaled, kernel=kernel
    )
    take = np.searchsorted(agent_index, rep_index)  # the agent-orbit row of each A x T representative
    to_orbit = _orbit_numbers(agent_index, group, L, system.agents, rep_index)
    lengths = a_ip[take + 1] - a_ip[take]
    starts = np.repeat(a_ip[take], lengths)
    offsets = np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    entries = starts + offsets
    rows = np.repeat(np.arange(len(take), dtype=np.int64), lengths)
    cols, data = to_orbit[a_idx[entries]], a_val[entries]
    key, data = sum_by_key(rows * len(rep_index) + cols, data)
    rows, cols = key // len(rep_index), key % len(rep_index)
    indptr = np.zeros(len(take) + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=len(take)), out=indptr[1:])
    return indptr, cols.astype(np.int64), data, denominator


def _orbit_numbers(global_indices, group, L, m, rep_index):
    canonical = canonical_ranks(local_ranks(global_indices, L, m), group, L)
    return np.searchsorted(rep_index, global_index(canonical, L))


def orbit_index(chain, ranks):
    """Orbit numbers of states given as local ranks ``(..., m)`` in a lumped chain.

    >>> from markovgmm.system import System
    >>> chain = build_lumped_chain(System(agents=2, components=2, memory=2))
    >>> orbit_index(chain, np.array([[0, 2], [2, 0], [1, 1]])).tolist()
    [2, 2, 3]
    """
    return orbit_numbers(chain.group, chain.representatives, ranks, chain.system.n_local_states)


def lumping_map(chain, full_chain):
    """Orbit number (in the lumped ``chain``) of every state of ``full_chain``.

    The full chain's states are numbered by global index, so this is
    ``orbit_index`` of every state; useful to compare a lumped result with a
    full one state by state.
    """
    return orbit_index(chain, full_chain.agent_ranks)


def split_closed_classes(chain, start_ranks, classes, probabilities):
    """The full chain's closed classes and their probabilities from ``start``,
    recovered from a lumped chain when the start's symmetry determines them.

    Parameters
    ----------
    chain : Chain
        A lumped chain.
    start_ranks : (m,) int array
        Local ranks of the (full) start state.
    classes : list of ClosedClass
        Closed classes of the lumped chain.
    probabilities : list
        Probability of each lumped class from the start's orbit.

    Returns
    -------
    list of (ranks, lumped_class, probability) or None
        One entry per closed class of the full chain, ordered by its state
        number (as the full chain orders them); None when some lumped class
        has more than one state or its split is not determined.

    Notes
    -----
    By equivariance (``proofs/lumpability.md``) ``P_s(sigma C) = P_s(C)``
    for every ``sigma`` in the stabiliser ``H`` of ``s`` (agent permutations,
    and with a component part, pairs ``(sigma, tau)``: then the classes of one
    orbit may be consensus on different components, and
    :func:`full_class_labels` gives each its own component and camps).  When ``H`` acts
    transitively on the ``G``-orbit of a closed class (always, for a start
    fixed by the whole group, such as the default most balanced start), each
    of the ``|orbit|`` full classes has probability ``P(lumped class) /
    |orbit|``, exactly.  Otherwise the lumped chain does not determine the
    split and None is returned.

    Examples
    --------
    >>> from markovgmm.system import System
    >>> from markovgmm.analysis.absorption import absorption_probabilities
    >>> chain = build_lumped_chain(System(agents=2, components=2, memory=2))
    >>> result = absorption_probabilities(chain, chain.index(((1, 1), (1, 1))))
    >>> split = split_closed_classes(chain, np.array([1, 1]), result.classes, result.class_probabilities[0])
    >>> [(r.tolist(), str(p)) for r, _c, p in split]  # as the full chain gives them
    [([0, 0], '1/3'), ([0, 2], '1/6'), ([2, 0], '1/6'), ([2, 2], '1/3')]
    """
    group = chain.group
    if group.permutations is None:
        return None
    L = chain.system.n_local_states
    start_ranks = np.asarray(start_ranks, dtype=np.int64)
    # Group elements in the form s -> tau s[sigma] (group_images); H = those fixing the start.
    fixes = (group_images(start_ranks, group) == start_ranks).all(axis=1)
    out = []
    for cls, probability in zip(classes, probabilities):
        if len(cls.states) != 1:
            return None
        rep = chain.agent_ranks[cls.states[0]]
        images = group_images(rep, group)
        orbit = np.unique(global_index(images, L))
        reached = np.unique(global_index(images[fixes], L))
        if len(reached) != len(orbit):
            return None
        share = probability / len(orbit)
        out.extend((local_ranks(index, L, chain.system.agents), cls, share) for index in orbit.tolist())
    out.sort(key=lambda item: int(global_index(item[0], L)))
    return out


def full_class_labels(chain, ranks, cls):
    """``(component, camps)`` of the full closed class ``{ranks}`` (one
    all-vertex state given by its local ranks) that the lumped class ``cls``
    stands for.

    With agent permutations only they are ``cls``'s own (both are orbit
    invariants); with a component part the consensus component and the camp
    labels are relabelled, so they are read off the state itself (in agent
    order, as the full chain's :func:`~markovgmm.analysis.classes.closed_classes`
    reads them).

    >>> from markovgmm.system import System
    >>> from markovgmm.analysis.classes import closed_classes
    >>> chain = build_lumped_chain(System(agents=2, components=2, memory=2), components=True)
    >>> cls = closed_classes(chain).classes[0]
    >>> cls.kind, cls.component, full_class_labels(chain, np.array([2, 2]), cls)
    ('consensus', 0, (1, {1: 2}))
    """
    if not chain.group.has_components:
        return cls.component, cls.camps
    counts = chain.local_counts[np.asarray(ranks, dtype=np.int64)]
    at_vertex = counts.max(axis=1) == chain.system.memory
    if not at_vertex.all():
        return cls.component, cls.camps
    labels = counts.argmax(axis=1).tolist()
    camps = {}
    for label in labels:
        camps[label] = camps.get(label, 0) + 1
    component = labels[0] if cls.kind == "consensus" else None
    return component, camps


def consensus_split(chain, start_ranks, classes, probabilities):
    """``[P(consensus on k) for k in range(K)]`` from the full start state
    ``start_ranks``, recovered from a lumped chain; None when the lumped chain
    does not determine it.

    With agent permutations only, consensus on ``k`` is an orbit of one state
    and this is the lumped chain's own value.  With a component part ``T``
    the lumped consensus class of the representative on ``k0`` stands for the
    consensus classes on every ``tau(k0)``, ``tau in T``; its probability is
    split equally among them when the start's stabiliser ``H`` reaches all of
    them (claim 5 of ``proofs/lumpability.md``), and is 0 for each when it
    is 0; otherwise None (then P(consensus), the total, is still exact, and
    per-component values need the agent-only lumping).

    >>> from markovgmm.system import System
    >>> from markovgmm.analysis.absorption import absorption_probabilities
    >>> chain = build_lumped_chain(System(agents=2, components=2, memory=2), components=True)
    >>> result = absorption_probabilities(chain, chain.index(((1, 1), (1, 1))))
    >>> [str(p) for p in consensus_split(chain, np.array([1, 1]), result.classes, result.class_probabilities[0])]
    ['1/3', '1/3']
    >>> result = absorption_probabilities(chain, chain.index(((2, 0), (1, 1))))
    >>> consensus_split(chain, np.array([0, 1]), result.classes, result.class_probabilities[0]) is None
    True
    """
    K = chain.system.components
    zero = probabilities[0] * 0 if len(probabilities) else 0
    out = [zero for _ in range(K)]
    group = chain.group
    if not group.has_components:
        for cls, probability in zip(classes, probabilities):
            if cls.kind == "consensus":
                out[cls.component] += probability
        return out
    if group.permutations is None:
        return None
    start_ranks = np.asarray(start_ranks, dtype=np.int64)
    fixes = (group_images(start_ranks, group) == start_ranks).all(axis=1)
    for cls, probability in zip(classes, probabilities):
        if cls.kind != "consensus":
            continue
        # A consensus class is the one state "every agent at vertex k0"; its orbit: vertex tau(k0), tau in T.
        k0 = cls.component
        orbit = sorted({int(tau[k0]) for tau in group.component_permutations.tolist()})
        if probability == 0:
            continue
        reached = {int(tau[k0]) for tau, hit in zip(_component_parts(group), fixes) if hit}
        if len(reached) != len(orbit):
            return None
        share = probability / len(orbit)
        for k in orbit:
            out[k] += share
    return out


def _component_parts(group):
    """The component permutation of each group element, in the order of
    :func:`~markovgmm.chain.symmetry.group_images` (component part major)."""
    A = len(group.permutations)
    return np.repeat(group.component_permutations, A, axis=0).tolist()
