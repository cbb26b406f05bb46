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

__all__ = ["applies", "population_rows", "population_chunks", "limb_columns", "limbs_to_int", "ExactRows"]

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
    from .assembly import csr_from_pieces

    n = len(reps)
    lengths = np.zeros(n, dtype=np.int64)
    pieces = []
    denominator = 1.0
    for first, chunk_lengths, cols, data, denominator in population_chunks(system, reps, rep_index, exact, table, kernel=kernel):
        lengths[first : first + len(chunk_lengths)] = chunk_lengths
        pieces.append((cols, data))
        if progress:
            progress(first + len(chunk_lengths))
    return csr_from_pieces(lengths, pieces, exact, denominator)


def population_chunks(system, reps, rep_index, exact, table, kernel=None, limbs_out=False):
    """The rows of :func:`population_rows`, one chunk of orbits at a time.

    Yields ``(first, lengths, cols, data, denominator)``: the chunk's rows
    ``first .. first + len(lengths) - 1``, their lengths, the columns
    (increasing within a row) and the values (exact numerators over
    ``denominator = D^m``, or floats).  With ``limbs_out`` (exact only) the
    numerators come as an ``(entries, J)`` int64 array of nonnegative
    31-bit limbs (value ``sum_j data[:, j] 2^(31 j)``) instead of Python
    integers: what :class:`~markovgmm.analysis.exact_kernel.StreamedExactSystem`
    multiplies without ever storing the exact matrix.  The same chunks, in
    the same order, whatever ``exact`` and ``limbs_out`` are.
    """
    from .assembly import _exact_denominator_bound, agent_laws
    from .laws import INT64_SAFE, labelling_kernel

    m, L = system.agents, system.n_local_states
    n = len(reps)
    big = exact and _exact_denominator_bound(system, table) >= INT64_SAFE
    if kernel is None and system.model == "pool":
        kernel = labelling_kernel(system, table.counts)
    # Rows per chunk: twice the mean row length of a fixed sample of orbits, each expanded E ways.
    rows_per_chunk = chunk_rows(system, table, n)
    # Occupation keys sum_i (m+1)^rank_i identify a multiset without sorting, when they fit in int64.
    occupation = None
    if (m + 1) ** L * max(1, rows_per_chunk) < 2**62:
        occupation = ((m + 1) ** reps.astype(np.int64)).sum(axis=1) if n else np.zeros(0, np.int64)
        occupation_order = np.argsort(occupation, kind="stable")
        occupation_sorted = occupation[occupation_order]
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
            row, key, data = _convolve_occupation(succ, vals, m + 1, limbs, as_limbs=limbs_out)
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
        if limbs_out and exact and (data.ndim == 1 or data.shape[1] == 1):
            data = limb_columns(data.reshape(-1))  # int64 or Python integers: split into 31-bit limbs
        yield first, np.bincount(row, minlength=len(chunk)), cols, data, denominator


class ExactRows:
    """The exact rows of a float population chain, regenerated on demand.

    ``chunks()`` yields what :func:`population_chunks` yields with
    ``exact=True, limbs_out=True``: the exact numerators over
    :attr:`denominator` (``D^m``) as 31-bit int64 limbs, one chunk of orbits
    at a time, never all at once.  Attached to a float chain by
    :func:`~markovgmm.chain.lumped.build_streamed_chain` as
    ``chain.exact_rows``; used by the streamed certificate.
    """

    def __init__(self, system, reps, rep_index, table, kernel=None):
        from .assembly import _exact_denominator_bound

        self.system, self.reps, self.rep_index, self.table, self.kernel = system, reps, rep_index, table, kernel
        self.denominator = _exact_denominator_bound(system, table)

    def chunks(self):
        return population_chunks(self.system, self.reps, self.rep_index, True, self.table, kernel=self.kernel, limbs_out=True)


def limb_columns(values):
    """Nonnegative integers (int64 or Python-integer array) as an
    ``(len, J)`` int64 array of 31-bit limbs, ``values = sum_j out[:, j] 2^(31 j)``."""
    values = np.asarray(values)
    if values.dtype != object:
        values = values.astype(np.int64)
        return np.stack([values & ((1 << _LIMB) - 1), values >> _LIMB], axis=1)
    top = max((int(v).bit_length() for v in values.tolist()), default=1)
    columns, mask, rest = [], (1 << _LIMB) - 1, values
    for _ in range(max(1, -(-top // _LIMB))):
        columns.append((rest & mask).astype(np.int64))
        rest = rest >> _LIMB
    return np.stack(columns, axis=1)


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


def _convolve_occupation(succ, vals, base, limbs=0, as_limbs=False):
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
    integers once at the end (``as_limbs``: returned as the limb columns, no Python integers)."""
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
    if limbs and not as_limbs:
        data = limbs_to_int(data)
    elif limbs:
        _carry(data)  # every column in [0, 2^31) but the last, which is below 2^31 too (value < D^m)
    return row, key, data


def _carry(data):
    """Propagate carries in place: every column but the last into ``[0, 2^_LIMB)``."""
    mask = (1 << _LIMB) - 1
    for j in range(data.shape[1] - 1):
        data[:, j + 1] += data[:, j] >> _LIMB
        data[:, j] &= mask


def limbs_to_int(data, normalise=False):
    """Python integers ``sum_j data[:, j] 2^(31 j)`` (nonnegative limbs), two
    limbs at a time through int64.  The limbs must be below ``2^31``, or
    ``normalise=True`` (sums of such limbs, each column below ``2^62``):
    carries are propagated first, into two extra columns, on a copy."""
    if normalise:
        data = np.concatenate([data, np.zeros((len(data), 2), dtype=np.int64)], axis=1)
        _carry(data)
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
