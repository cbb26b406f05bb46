"""Absorbing-chain linear solves, exact (python-flint) or float (SuperLU).

Solves ``(I - Q) X = B`` on a set of transient states, where ``Q`` is the
transition matrix restricted to them.  The transient states are split into
strongly connected blocks and solved in reverse topological order of the
block graph, so each dense solve is only as large as one block and
``X_b = (I - Q_bb)^{-1} (B_b + Q_b,later X_later)``.  The block order, the
submatrices and the right-hand sides are decided here once; only the block
solve depends on the value type.

On the exact path the system is scaled by the chain's common denominator
``d`` to integers: ``(d I - d Q_bb) X_b = d B_b + d Q_b,later X_later``, and
each block is solved by flint's ``fmpq_mat.solve`` (Dixon p-adic lifting for
large blocks).  The solution is exact; the tests substitute it back.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ..errors import TooLargeError

__all__ = ["solve_absorbing", "submatrix", "MAX_DENSE_BLOCK"]

#: Largest strongly connected block solved densely on the exact path.
MAX_DENSE_BLOCK = 8000


def submatrix(chain, rows, cols):
    """CSR numerators (exact) or floats of ``P[rows][:, cols]``; ``cols`` given
    as a boolean mask or index array over all states."""
    position = np.full(chain.n_states, -1, dtype=np.int64)
    position[cols] = np.arange(len(cols)) if cols.dtype != bool else np.arange(cols.sum())
    ncols = int(position.max()) + 1 if len(cols) else 0
    starts, ends = chain.indptr[rows], chain.indptr[rows + 1]
    lengths = ends - starts
    take = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends)]) if len(rows) else np.zeros(0, np.int64)
    local_rows = np.repeat(np.arange(len(rows)), lengths)
    target = position[chain.indices[take]]
    keep = target >= 0
    return local_rows[keep], target[keep], chain.values[take][keep], ncols


def _block_order(chain, transient):
    rows, cols, _, n = submatrix(chain, transient, transient)
    graph = sp.csr_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    n_blocks, block = connected_components(graph, directed=True, connection="strong")
    # Reverse topological order of the condensation: a block is solved after every block it reaches.
    between = block[rows] != block[cols]
    edges = set(zip(block[rows[between]].tolist(), block[cols[between]].tolist()))
    out_degree = np.zeros(n_blocks, dtype=np.int64)
    into = [[] for _ in range(n_blocks)]
    for a, b in edges:
        out_degree[a] += 1
        into[b].append(a)
    ready = [b for b in range(n_blocks) if out_degree[b] == 0]
    order = []
    while ready:
        b = ready.pop()
        order.append(b)
        for a in into[b]:
            out_degree[a] -= 1
            if out_degree[a] == 0:
                ready.append(a)
    members = [[] for _ in range(n_blocks)]
    for position, b in enumerate(block.tolist()):
        members[b].append(position)
    return [np.array(members[b], dtype=np.int64) for b in order]


def solve_absorbing(chain, transient, rhs, progress=None):
    """Solve ``(I - Q) X = B`` over ``transient`` (state numbers).

    Parameters
    ----------
    chain : Chain
    transient : (T,) int array
        Transient states; every state they reach outside the set must be in
        a closed class whose contribution is already in ``rhs``.
    rhs : (T, c) array
        ``B`` as integer numerators over ``chain.denominator`` (exact path,
        int or object array) or floats.
    progress : callable, optional
        Called with the number of states solved so far.

    Returns
    -------
    list of lists of Fraction (exact, ``X[t][j]``) or float array (T, c).
    """
    transient = np.asarray(transient, dtype=np.int64)
    T = len(transient)
    c = rhs.shape[1]
    if T == 0:
        return [] if chain.exact else np.zeros((0, c))
    rows, cols, vals, _ = submatrix(chain, transient, transient)
    blocks = _block_order(chain, transient)
    largest = max(len(b) for b in blocks)
    if chain.exact and largest > MAX_DENSE_BLOCK:
        raise TooLargeError(
            f"exact: a block of {largest:,} transient states that all reach each other is beyond the dense exact "
            f"solver ({MAX_DENSE_BLOCK:,}); use the float path"
        )
    Q = sp.csr_matrix((np.arange(len(rows)) + 1, (rows, cols)), shape=(T, T))  # positions into vals
    solved = np.zeros(T, dtype=bool)
    if chain.exact:
        return _solve_exact(chain, Q, vals, rhs, blocks, solved, progress)
    return _solve_float(chain, Q, vals, rhs, blocks, solved, progress)


def _block_parts(Q, vals, block, solved):
    """Within-block triplets and coupling triplets to already solved states."""
    sub = Q[block]
    sub.sort_indices()
    local_rows = np.repeat(np.arange(len(block)), np.diff(sub.indptr))
    cols = sub.indices
    values = vals[sub.data - 1]
    position = np.full(Q.shape[0], -1, dtype=np.int64)
    position[block] = np.arange(len(block))
    inside = position[cols] >= 0
    return (local_rows[inside], position[cols[inside]], values[inside]), (local_rows[~inside], cols[~inside], values[~inside])


def _solve_exact(chain, Q, vals, rhs, blocks, solved, progress):
    import flint

    d = chain.denominator
    T, c = rhs.shape
    X = [None] * T  # rows of Fractions
    done = 0
    for block in blocks:
        nb = len(block)
        (ir, ic, iv), (orow, ocol, oval) = _block_parts(Q, vals, block, solved)
        A = [[0] * nb for _ in range(nb)]
        for k in range(nb):
            A[k][k] = d
        for r_, c_, v_ in zip(ir.tolist(), ic.tolist(), iv.tolist()):
            A[r_][c_] -= int(v_)
        B = [[Fraction(int(x)) for x in rhs[t].tolist()] for t in block.tolist()]
        for r_, c_, v_ in zip(orow.tolist(), ocol.tolist(), oval.tolist()):
            weight = int(v_)
            row = B[r_]
            for j, x in enumerate(X[c_]):
                if x:
                    row[j] += weight * x
        Bq = flint.fmpq_mat(nb, c, [flint.fmpq(x.numerator, x.denominator) for row in B for x in row])
        Aq = flint.fmpq_mat(flint.fmpz_mat(A))
        sol = Aq.solve(Bq, algorithm="dixon" if nb > 40 else None)
        for k, t in enumerate(block.tolist()):
            X[t] = [Fraction(int(sol[k, j].p), int(sol[k, j].q)) for j in range(c)]
        solved[block] = True
        done += nb
        if progress:
            progress(done)
    return X


def _solve_float(chain, Q, vals, rhs, blocks, solved, progress):
    from scipy.sparse.linalg import splu

    T, c = rhs.shape
    X = np.zeros((T, c))
    vals = np.asarray(vals, dtype=np.float64)
    B_all = np.asarray(rhs, dtype=np.float64)
    done = 0
    for block in blocks:
        nb = len(block)
        (ir, ic, iv), (orow, ocol, oval) = _block_parts(Q, vals, block, solved)
        B = B_all[block].copy()
        if len(orow):
            coupling = sp.csr_matrix((oval, (orow, ocol)), shape=(nb, T))
            B += coupling @ X
        A = sp.identity(nb, format="csc") - sp.csc_matrix((iv, (ir, ic)), shape=(nb, nb))
        X[block] = splu(A).solve(B) if nb > 1 else B / A.toarray()[0, 0]
        solved[block] = True
        done += nb
        if progress:
            progress(done)
    return X
