"""Lumped sync rows at population scale: orbit rows by convolving per-agent
move laws (MODEL.md 2 and 6.2; lumpability in ``proofs/lumpability.md``).

When the symmetry group is all of ``S_m`` (the complete-graph pool chain; the
mirroring chain always) an orbit is a multiset of local states, and agents
holding the same local state have the same move law (a transposition of two
such agents fixes the state and is a symmetry).  Under ``sync`` the agents
move independently given the state, so the law of the next orbit is the
convolution of the agents' move laws *as multisets*: starting from the empty
multiset, agent ``i``'s successor ranks are inserted one agent at a time and
equal partial multisets of one row are merged after every agent.  Agents of
one local state are consecutive in the sorted representative, so a block of
``n`` equal agents costs ``C(n+E-1, E-1)`` partial multisets (the multinomial
law) instead of ``E^n`` expanded successors.

Exact and float share every line: the per-agent laws are
:func:`~markovgmm.chain.assembly.agent_laws` of the representatives (integer
numerators over one per-agent denominator ``D``, or floats), the partial
products are the same products the expanded build forms, only summed earlier,
so the exact numerators over ``D^m`` are *identical* to those of
:func:`~markovgmm.chain.lumped.build_lumped_chain`'s expanded path, and the
orbit numbering (representative = sorted local ranks, increasing global
index) is the same.

Use :func:`applies` to decide, :func:`population_rows` to build.
"""

from __future__ import annotations

from dataclasses import fields
from math import factorial

import numpy as np

from .states import global_index

__all__ = ["applies", "population_rows"]

#: Partial multisets expanded per chunk of rows (bounds the temporaries, ~64 bytes each).
_CHUNK_PARTIALS = 1 << 21
_KNOWN_GROUP_FIELDS = {"agents", "symmetric", "order", "permutations", "component_name"}


def applies(system, group):
    """True when the convolution build is valid and used: ``sync``, and
    ``group`` is exactly the symmetric group on the agents with no component
    symmetry (any other group, or a group object carrying extra non-trivial
    structure, falls back to the expanded build)."""
    if system.schedule != "sync" or group is None:
        return False
    if type(group).__name__ != "AgentGroup" or not getattr(group, "symmetric", False):
        return False
    if group.order != factorial(system.agents) or getattr(group, "has_components", False):
        return False  # component relabellings: orbits are not plain multisets, use the expanded build
    for f in fields(group):
        if f.name in _KNOWN_GROUP_FIELDS:
            continue
        if getattr(group, f.name) is not None:  # any other extra structure: fall back
            return False
    L, m = system.n_local_states, system.agents
    return L ** m < 2**62


def population_rows(system, reps, rep_index, exact, table, progress=None, kernel=None):
    """CSR rows of the lumped sync chain on ``S_m`` orbits.

    Parameters
    ----------
    system : System
    reps : (n, m) int array
        Sorted representatives (non-decreasing local ranks), in increasing
        global index ``rep_index``.
    exact : bool
    table : local table of the model (:func:`~markovgmm.chain.assembly.local_table`)
    progress, kernel : as in :func:`~markovgmm.chain.assembly.assemble_rows`.

    Returns
    -------
    indptr, indices, values, denominator
        As :func:`~markovgmm.chain.assembly.assemble_rows` with the orbit map:
        columns increasing within a row, exact numerators over ``D^m``.
    """
    from .assembly import _exact_denominator_bound, agent_laws, csr_from_pieces
    from .laws import INT64_SAFE, labelling_kernel

    m, L = system.agents, system.n_local_states
    n = len(reps)
    E = table.successors.shape[1]
    big = exact and _exact_denominator_bound(system, table) >= INT64_SAFE
    if kernel is None and system.model == "pool":
        kernel = labelling_kernel(system, table.counts)
    # Rows per chunk: twice the mean row length of a fixed sample of orbits, each expanded E ways.

    rows_per_chunk = chunk_rows(system, table, n)
    lengths = np.zeros(n, dtype=np.int64)
    pieces = []
    # Occupation keys sum_i (m+1)^rank_i identify a multiset without sorting, when they fit in int64.
    occupation = None
    if (m + 1) ** L * max(1, rows_per_chunk) < 2**62:
        occupation = ((m + 1) ** reps.astype(np.int64)).sum(axis=1) if n else np.zeros(0, np.int64)
        occupation_order = np.argsort(occupation, kind="stable")
        occupation_sorted = occupation[occupation_order]
    denominator = 1.0
    for first in range(0, n, rows_per_chunk):
        chunk = reps[first : first + rows_per_chunk]
        succ, vals, denom = agent_laws(system, chunk, exact, table, kernel=kernel)
        limbs = 0
        if _INT64_LIMBS and big and vals.dtype != object and occupation is not None and (not vals.size or int(vals.max()) < 1 << _LIMB):
            limbs = int(denom)  # int64 limbs of the numerators (below D^i after i agents), then Python ints
        elif big and vals.dtype != object:
            vals = vals.astype(object)
        denominator = denom**m if exact else 1.0
        if occupation is not None:
            row, key, data = _convolve_occupation(succ, vals, m + 1, limbs)
            where = np.searchsorted(occupation_sorted, key)
            if len(key) and not (occupation_sorted[np.minimum(where, n - 1)] == key).all():
                raise AssertionError("population build: a successor multiset is not an orbit")
            cols = occupation_order[where]
            order = np.lexsort((cols, row))  # columns increasing within a row, as the expanded build
            row, cols, data = row[order], cols[order], data[order]
        else:
            row, key, data = _convolve(succ, vals, L)
            cols = np.searchsorted(rep_index, key)
            if len(cols) and not (rep_index[np.minimum(cols, n - 1)] == key).all():
                raise AssertionError("population build: a successor multiset is not an orbit representative")
        lengths[first : first + len(chunk)] = np.bincount(row, minlength=len(chunk))
        pieces.append((cols, data))
        if progress:
            progress(first + len(chunk))
    return csr_from_pieces(lengths, pieces, exact, denominator)


def chunk_rows(system, table, n, row_length=None):
    """Rows per chunk of :func:`population_rows`: ``_CHUNK_PARTIALS`` over twice
    the sampled mean row length times ``E`` (above 4096 orbits; below, the
    bound ``min(E^m, n) E``).  ``row_length``: the sampled mean, if known."""
    from .assembly import _sampled_row_length

    E = table.successors.shape[1]
    if n > 4096:
        row_length = row_length if row_length is not None else _sampled_row_length(system, table, n, True)
        per_row = max(1, int(2 * row_length)) * E
    else:
        per_row = min(E**system.agents, n) * E
    return max(1, _CHUNK_PARTIALS // per_row)


def _convolve(succ, vals, L):
    """Merge the agents' moves one agent at a time.

    ``succ``, ``vals``: ``(R, m, E)``.  Returns flat ``row``, ``key`` (global
    index of the sorted successor ranks) and summed ``data``, sorted by
    ``(row, key)``, zero-probability moves dropped."""
    R, m, E = succ.shape
    row = np.arange(R, dtype=np.int64)
    part = np.zeros((R, 0), dtype=np.int64)
    data = np.ones(R, dtype=vals.dtype)
    key = np.zeros(R, dtype=np.int64)
    for i in range(m):
        s = succ[row, i, :]  # (P, E)
        v = data[:, None] * vals[row, i, :]
        keep = (vals[row, i, :] != 0).ravel()
        new_row = np.repeat(row, E)[keep]
        new_part = np.concatenate([np.repeat(part, E, axis=0), s.reshape(-1, 1)], axis=1)[keep]
        new_part.sort(axis=1)
        data = v.ravel()[keep]
        key = global_index(new_part, L)
        span = L ** (i + 1)
        if R * span < 2**62:
            order = np.argsort(new_row * span + key, kind="stable")
        else:
            order = np.lexsort((key, new_row))
        new_row, key, data, new_part = new_row[order], key[order], data[order], new_part[order]
        if len(key):
            heads = np.flatnonzero(np.r_[True, (key[1:] != key[:-1]) | (new_row[1:] != new_row[:-1])])
            data = np.add.reduceat(data, heads)
            key, new_row, new_part = key[heads], new_row[heads], new_part[heads]
        row, part = new_row, new_part
    return row, key, data


#: Bits of the int64 limbs of big exact numerators during the convolution.
_LIMB = 31
#: Carry big exact numerators as int64 limbs (False: Python integers throughout, the reference).
_INT64_LIMBS = True


def _convolve_occupation(succ, vals, base, limbs=0):
    """As :func:`_convolve` with the multiset of successor ranks kept as its
    occupation key ``sum_i base^rank_i`` (no sorting of tuples); returns
    ``row``, occupation ``key`` and ``data`` sorted by ``(row, key)``.

    ``limbs > 0`` (exact numerators beyond int64, per-agent numerators below
    ``2^31`` over the per-agent denominator ``D = limbs``): the
    partial products are carried as int64 columns of ``_LIMB`` bits (value
    ``sum_j data[:, j] 2^(31 j)``): one plain int64 column while the value
    bound ``D^i`` after ``i`` agents is below ``2^62``, then ``ceil(bits(D^i)
    / 31)`` columns, each product by a per-agent numerator and each
    merge followed by carry propagation, so every column stays below
    ``2^31`` before a product (below ``2^62`` after); converted to Python
    integers once at the end."""
    R, m, E = succ.shape
    weight = base ** succ.astype(np.int64)  # (R, m, E)
    span = base ** int(succ.max() + 1) if succ.size else 1
    row = np.arange(R, dtype=np.int64)
    key = np.zeros(R, dtype=np.int64)
    if limbs:
        per_agent, data = limbs, np.ones((R, 1), dtype=np.int64)
    else:
        data = np.ones(R, dtype=vals.dtype)
    for i in range(m):
        v = vals[row, i, :]
        keep = (v != 0).ravel()
        new_row = np.repeat(row, E)[keep]
        key = (key[:, None] + weight[row, i, :]).ravel()[keep]
        if limbs:
            # one plain int64 column while D^(i+1) <= 2^62, then 31-bit limbs
            bits = (per_agent ** (i + 1)).bit_length()
            columns = 1 if bits <= 62 else -(-bits // _LIMB)
            if columns > data.shape[1]:
                data = np.concatenate([data, np.zeros((len(data), columns - data.shape[1]), np.int64)], axis=1)
                _carry(data)
            data = (data[:, None, :] * v[:, :, None]).reshape(-1, columns)[keep]  # < 2^31 * 2^31 per column
            if columns > 1:
                _carry(data)
        else:
            data = (data[:, None] * v).ravel()[keep]
        combined = new_row * span + key
        order = np.argsort(combined, kind="stable")
        combined, data = combined[order], data[order]
        if len(combined):
            heads = np.flatnonzero(np.r_[True, combined[1:] != combined[:-1]])
            data = np.add.reduceat(data, heads)  # a column sums fewer than 2^31 limbs below 2^31
            if limbs and data.shape[1] > 1:
                _carry(data)
            combined = combined[heads]
        row, key = combined // span, combined % span
    if limbs:
        data = _limbs_to_int(data)
    return row, key, data


def _carry(data):
    """Propagate carries in place: every column but the last into ``[0, 2^_LIMB)``."""
    mask = (1 << _LIMB) - 1
    for j in range(data.shape[1] - 1):
        data[:, j + 1] += data[:, j] >> _LIMB
        data[:, j] &= mask


def _limbs_to_int(data):
    """Python integers ``sum_j data[:, j] 2^(31 j)`` (nonnegative limbs), two
    limbs at a time through int64."""
    out = None
    for j in range(0, data.shape[1], 2):
        pair = data[:, j] if j + 1 == data.shape[1] else data[:, j] + (data[:, j + 1] << _LIMB)
        if not pair.any():
            continue
        part = pair.astype(object)
        if j:
            part = part << (_LIMB * j)
        out = part if out is None else out + part
    return out if out is not None else np.zeros(len(data), dtype=object)
