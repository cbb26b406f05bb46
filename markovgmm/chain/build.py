"""Build the transition matrix of a chain (MODEL.md 2, 6.2): ``build_chain``.

Building is a pure function from a :class:`~markovgmm.system.System` to a
:class:`Chain`: the states (local ranks per agent), and the transition matrix
in CSR form.  With ``exact=True`` the entries are integer numerators over one
common denominator (so every probability is an exact rational and every row
sums to exactly 1); with ``exact=False`` they are float64.  Both come from the
same tables (:mod:`markovgmm.chain.laws`) through the same code; only the
value type differs.

Under ``sync`` every agent updates independently given the state, so a row is
the (row-wise Kronecker) product of the agents' laws; under ``async`` it is
``1/m`` times the sum over agents of "agent ``i`` moves, the others stay".

Rows are assembled in chunks of states (:func:`assemble_rows`): the
per-agent laws of a chunk (:func:`agent_laws`), their outer product (sync) or
sum (async), an optional map of the successor states (the lumped chain of
:mod:`markovgmm.chain.lumped` maps each successor to its orbit), and one
sort per chunk to merge duplicate targets.  Memory is the final CSR arrays
plus one chunk's temporaries.  ``build_chain(system, lump=True)`` builds the
chain lumped by the agents' symmetry group instead (never the full chain).
"""

from __future__ import annotations

from ..errors import InputError
from .assembly import Chain, _total_memory, agent_laws, assemble_rows, check_cost, estimate_cost, local_table
from .laws import incoming_label_laws
from .lumped import build_lumped_chain
from .states import all_states
from .symmetry import agent_group

__all__ = ["Chain", "build_chain", "estimate_cost", "check_cost", "agent_laws", "incoming_label_laws", "assemble_rows", "local_table"]


def build_chain(system, exact: bool = True, memory_limit: int | None = None, lump: bool | str = False, progress=None, kernel=None) -> Chain:
    """Build the chain of ``system`` (every state, all transitions), or the
    chain lumped by the agents' symmetry group.

    Parameters
    ----------
    system : System
    exact : bool
        Exact integer numerators over a common denominator (default), or float64.
    memory_limit : int, optional
        Refuse (with :class:`~markovgmm.errors.TooLargeError`) before building
        when the estimate exceeds this many bytes (default: 60% of RAM).
    lump : bool or "auto"
        False (default): every state.  True: the lumped chain on orbits of
        the automorphism group of ``W`` (:func:`~markovgmm.chain.lumped.build_lumped_chain`).
        ``"auto"``: lumped when that group is nontrivial.  Lumping keeps every
        permutation-invariant result (closed-class kinds, P(polarisation),
        P(consensus on k), expected absorption time) exactly; quantities of
        one named agent (``E[pi_1 - pi_2]``) need the full chain.
    progress : callable, optional
        Called with the number of rows assembled so far.
    kernel : (L, K, K) float array, optional
        A labelling kernel replacing the ownership rule's (float path only;
        the certified Gaussian path builds chains from kernel bounds).

    Returns
    -------
    Chain

    Notes
    -----
    Running time and memory are ``O(L^m * E^m)`` (sync) or ``O(L^m * m E)``
    (async) where ``L = C(N+K-1, K-1)`` and ``E`` is the number of possible
    next memories of one agent; temporaries are bounded by one chunk of
    rows (:func:`assemble_rows`).

    Examples
    --------
    >>> from markovgmm.system import System
    >>> chain = build_chain(System(agents=2, components=2, memory=4))
    >>> chain.n_states, chain.probability(chain.index(((2, 2), (2, 2))), chain.index(((3, 1), (3, 1))))
    (25, Fraction(1, 16))
    >>> build_chain(System(agents=2, components=2, memory=4), lump=True).n_states
    15
    """
    if exact and not system.exact_supported:
        raise InputError(f"exact: ownership={system.ownership} has irrational transition probabilities; use the float path")
    if lump not in (True, False, "auto"):
        raise InputError(f"lump must be True, False or 'auto', got {lump!r}")
    table = local_table(system)
    if lump:
        group = agent_group(system)
        if lump is True or not group.trivial:
            return build_lumped_chain(
                system, exact=exact, memory_limit=memory_limit, group=group, progress=progress, table=table, kernel=kernel
            )
    check_cost(system, table, memory_limit)
    m, L = system.agents, system.n_local_states
    ranks = all_states(L, m)
    indptr, indices, values, denominator = assemble_rows(system, ranks, exact, table, progress=progress, kernel=kernel)
    return Chain(system, exact, ranks, table.counts, indptr, indices, values, denominator)


