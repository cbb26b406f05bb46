"""Absorbing-chain linear solves, exact (python-flint, p-adic lifting) or float (SuperLU).

Solves ``(I - Q) X = B`` on a set of transient states, where ``Q`` is the
transition matrix restricted to them.  The transient states are split into
strongly connected blocks and solved in reverse topological order of the
block graph, so each solve is only as large as one block and
``X_b = (I - Q_bb)^{-1} (B_b + Q_b,later X_later)``.  The block order, the
submatrices and the right-hand sides are decided here once; only the block
solve depends on the value type.

Exact path.  The system is scaled by the chain's common denominator ``d`` to
integers, ``A_b = d I - d Q_bb`` (sparse), and every block's solution is kept
as integer numerators over one block denominator.  The right-hand side of a
block (its one-step numerators plus the coupling to solved blocks) is brought
to one integer vector over a common denominator.  Blocks are solved by

* a direct division for a single state, flint's ``fmpz_mat.solve`` for small
  blocks (fraction-free / Dixon inside flint), and
* for blocks of more than ``DIXON_MIN_BLOCK`` states, :func:`dixon_solve`:
  p-adic lifting (Dixon 1982) with one dense inverse of ``A_b`` modulo a prime
  ``p`` (flint ``nmod_mat``), residual updates on the *sparse* ``A_b`` in
  int64 (``p`` is chosen so that no int64 product can overflow), rational
  reconstruction of a common denominator once a probe entry's reconstruction
  is stable, and then an exact check ``A_b Y = delta B_b``.  The stopping rule
  is heuristic; the exact check makes the result certain (a failed check only
  means more lifting steps).

Every block's solution, from whichever solver, is verified by substituting it
back exactly (sparse, in Python integers) before it is used, so every exact
result returned here satisfies the block-triangular system exactly.

Backends.  Up to :data:`~markovgmm.analysis.classes.SMALL_STATES` transient
states nothing here imports scipy: the blocks come from
:func:`~markovgmm.analysis.classes.strong_components` (Tarjan, which numbers
the blocks in solve order), rows are selected from numpy CSR arrays, and the
float blocks are dense LAPACK solves; the block order, right-hand sides and
exact verification are the same code on both backends.
"""

from __future__ import annotations

from fractions import Fraction
from math import gcd, isqrt, lcm

import numpy as np

from ..errors import TooLargeError
from ..chain.assembly import sum_by_key
from .classes import small, strong_components

__all__ = ["solve_absorbing", "submatrix", "dixon_solve", "rational_reconstruction", "ExactSolution", "MAX_DENSE_BLOCK", "DIXON_MIN_BLOCK"]

#: Largest strongly connected block solved on the exact path (a dense inverse modulo p is stored).
MAX_DENSE_BLOCK = 8000
#: Blocks larger than this are solved by sparse p-adic lifting (:func:`dixon_solve`), smaller ones by flint.
DIXON_MIN_BLOCK = 120


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
    # Strong components by scipy, their order by the standard library's graphlib: as fast as the
    # hand-written Kahn loop it replaced (0.8 / 2.0 / 84 ms against 0.8 / 2.1 / 74 ms on 335 / 775 /
    # 3,348 transient states, 19 / 40 / 316 blocks); networkx.condensation + topological_sort is
    # 11-40x slower on the same chains, so it is not used.
    from graphlib import TopologicalSorter

    rows, cols, _, n = submatrix(chain, transient, transient)
    if small(n):
        # Tarjan numbers each component after every component it reaches: that is the solve order.
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
        n_blocks, block = strong_components(indptr, cols, n)
        order = np.argsort(block, kind="stable")
        heads = np.searchsorted(block[order], np.arange(n_blocks + 1))
        return [order[heads[b] : heads[b + 1]].astype(np.int64) for b in range(n_blocks)]
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    graph = sp.csr_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    n_blocks, block = connected_components(graph, directed=True, connection="strong")
    # Reverse topological order of the condensation: a block is solved after every block it reaches.
    order = TopologicalSorter({b: () for b in range(n_blocks)})
    between = block[rows] != block[cols]
    for a, b in set(zip(block[rows[between]].tolist(), block[cols[between]].tolist())):
        order.add(a, b)  # a reaches b: b first
    members = [[] for _ in range(n_blocks)]
    for position, b in enumerate(block.tolist()):
        members[b].append(position)
    return [np.array(members[b], dtype=np.int64) for b in order.static_order()]


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
    positions = np.arange(len(rows)) + 1  # positions into vals
    if small(T):
        Q = _RowsCSR(rows, cols, positions, T)
    else:
        import scipy.sparse as sp

        Q = sp.csr_matrix((positions, (rows, cols)), shape=(T, T))
    solved = np.zeros(T, dtype=bool)
    if chain.exact:
        return _solve_exact(chain, Q, vals, rhs, blocks, solved, progress)
    if small(T):
        return _solve_float_dense(chain, Q, vals, rhs, blocks, progress)
    return _solve_float(chain, Q, vals, rhs, blocks, solved, progress)


class _RowsCSR:
    """The little of ``scipy.sparse.csr_matrix`` that :func:`_block_parts` uses
    (row selection ``Q[rows]`` with sorted column indices, ``shape``), in numpy:
    the scipy-free backend for at most :data:`~markovgmm.analysis.classes.SMALL_STATES`
    transient states.  Built from triplets with distinct ``(row, col)`` pairs."""

    def __init__(self, rows, cols, data, n, indptr=None):
        if indptr is None:
            order = np.lexsort((cols, rows))
            rows, cols, data = rows[order], cols[order], data[order]
            indptr = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
        self.indptr, self.indices, self.data, self.shape = indptr, np.asarray(cols), np.asarray(data), (len(indptr) - 1, n)

    def __getitem__(self, selected):
        selected = np.asarray(selected, dtype=np.int64)
        starts, lengths = self.indptr[selected], np.diff(self.indptr)[selected]
        take = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
        indptr = np.zeros(len(selected) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        return _RowsCSR(None, self.indices[take], self.data[take], self.shape[1], indptr=indptr)

    def sort_indices(self):
        """Column indices are sorted within every row already."""


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


class ExactSolution:
    """Exact solution rows ``X[t] = Y[t] / den[t]`` (Fractions made on access).

    ``len(sol)`` rows; ``sol[t]`` is a list of :class:`fractions.Fraction`.
    Keeping numerators over one denominator per block avoids normalising
    thousands of long fractions nobody reads.
    """

    def __init__(self, numerators, denominators):
        self.numerators = numerators  # (T, c) object array of int
        self.denominators = denominators  # (T,) object array of int

    def __len__(self):
        return len(self.numerators)

    def __getitem__(self, row):
        den = int(self.denominators[row])
        return [Fraction(int(y), den) for y in self.numerators[row]]


def _sparse_times(rows, cols, values, Y, n):
    """``A @ Y`` in Python integers for triplets sorted by row (every row present)."""
    if not len(rows):
        return np.zeros((n,) + Y.shape[1:], dtype=object)
    products = values.astype(object)[:, None] * Y[cols]
    heads = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    out = np.zeros((n,) + Y.shape[1:], dtype=object)
    out[rows[heads]] = np.add.reduceat(products, heads, axis=0)
    return out


def _block_matrix(nb, d, ir, ic, iv):
    """Triplets (sorted by row, duplicates merged) of ``A = d I - numerators``."""
    rows = np.concatenate([np.arange(nb), ir])
    cols = np.concatenate([np.arange(nb), ic])
    values = np.concatenate([np.full(nb, d, dtype=object), -np.asarray(iv, dtype=object)])
    key, values = sum_by_key(rows * nb + cols, values)
    keep = values != 0
    return key[keep] // nb, key[keep] % nb, values[keep]


def _reduce(Y, den):
    g = gcd(den, *Y.ravel().tolist())
    if g > 1:
        Y = np.array([y // g for y in Y.ravel().tolist()], dtype=object).reshape(Y.shape)
        den //= g
    return Y, den


def _solve_exact(chain, Q, vals, rhs, blocks, solved, progress):
    import flint

    d = int(chain.denominator)
    T, c = rhs.shape
    Y = np.zeros((T, c), dtype=object)  # numerators of solved rows
    den = np.ones(T, dtype=object)  # one denominator per solved row (shared within a block)
    done = 0
    for block in blocks:
        nb = len(block)
        (ir, ic, iv), (orow, ocol, oval) = _block_parts(Q, vals, block, solved)
        # Right-hand side over a common denominator Delta: Delta * (B_b + coupling X_later).
        B = rhs[block].astype(object)
        delta = 1
        if len(orow):
            for value in set(den[ocol].tolist()):
                delta = lcm(delta, int(value))
            scale = np.array([delta // int(x) for x in den[ocol].tolist()], dtype=object)
            coupling = oval.astype(object)[:, None] * Y[ocol] * scale[:, None]
            order = np.argsort(orow, kind="stable")
            rows_sorted = orow[order]
            heads = np.flatnonzero(np.r_[True, rows_sorted[1:] != rows_sorted[:-1]])
            B = B * delta
            B[rows_sorted[heads]] += np.add.reduceat(coupling[order], heads, axis=0)
        ar, ac, av = _block_matrix(nb, d, ir, ic, iv)
        lifted = False  # Dixon's result is already over Delta; the others are over 1
        if nb == 1:
            Z, z_den = B.copy(), int(av[0])
        elif nb >= DIXON_MIN_BLOCK and all(abs(int(v)) < 2**62 for v in (av.max(), av.min())):
            Z, z_den = dixon_solve(ar, ac, av.astype(np.int64), nb, B, scale=delta)
            lifted = True
        else:
            dense = [[0] * nb for _ in range(nb)]
            for r_, c_, v_ in zip(ar.tolist(), ac.tolist(), av.tolist()):
                dense[r_][c_] = int(v_)
            sol = flint.fmpz_mat(dense).solve(flint.fmpz_mat([[int(x) for x in row] for row in B.tolist()]))
            z_den = 1
            for k in range(nb):
                for j in range(c):
                    z_den = lcm(z_den, int(sol[k, j].q))
            Z = np.array([[int(sol[k, j].p) * (z_den // int(sol[k, j].q)) for j in range(c)] for k in range(nb)], dtype=object)
        # Exact verification of this block: A Z = z_den * B (times Delta for a lifted Z).
        if not (_sparse_times(ar, ac, av, Z, nb) * (delta if lifted else 1) == B * z_den).all():
            raise ArithmeticError("exact block solve failed verification (A Y != den B); please report this")
        Z, z_den = _reduce(Z, z_den if lifted else z_den * delta)
        Y[block] = Z
        den[block] = z_den
        solved[block] = True
        done += nb
        if progress:
            progress(done)
    return ExactSolution(Y, den)


def rational_reconstruction(u, M):
    """The fraction ``a/b`` with ``a = b u (mod M)``, ``|a|, b <= sqrt(M/2)``, or None.

    Extended Euclid on ``(M, u)`` stopped at the first remainder below the
    bound (Wang's rational reconstruction); the answer is unique when it exists.

    >>> rational_reconstruction(3 * pow(7, -1, 10**6) % 10**6, 10**6)
    (3, 7)
    """
    bound = isqrt(M // 2)
    r0, r1, s0, s1 = M, u % M, 0, 1
    while r1 > bound:
        q = r0 // r1
        r0, r1 = r1, r0 - q * r1
        s0, s1 = s1, s0 - q * s1
    if s1 == 0 or abs(s1) > bound:
        return None
    a, b = (r1, s1) if s1 > 0 else (-r1, -s1)
    return (a, b) if gcd(a, b) == 1 else None


def _combine_digits(digits, p):
    """``sum_i digits[i] p^i`` entrywise, by pairwise (divide and conquer)
    combination; the first level in int64 (``p < 2^31``), then Python
    integers, then flint ``fmpz`` once the numbers pass 1024 bits."""
    import flint

    level = []
    for i in range(0, len(digits) - 1, 2):
        level.append(np.array((digits[i] + digits[i + 1] * p).tolist(), dtype=object))
    if len(digits) % 2:
        level.append(np.array(digits[-1].tolist(), dtype=object))
    power = p * p
    while len(level) > 1:
        if power.bit_length() > 1024 and not isinstance(power, flint.fmpz):
            # Long products from here on: GMP (flint fmpz) multiplies faster than Python's Karatsuba.
            to_fmpz = np.vectorize(flint.fmpz, otypes=[object])
            level, power = [to_fmpz(x) for x in level], flint.fmpz(power)
        nxt = [level[i] + level[i + 1] * power for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level, power = nxt, power * power
    return level[0]


class _InverseModP:
    """``x -> C x mod p`` for a dense ``C`` (entries ``< p < 2^31``) with
    float64 BLAS: ``C`` and ``x`` are split into 16-bit limbs, every partial
    product sum is an integer below ``2^53`` (exact in float64), and the
    limbs are recombined modulo ``p`` in int64 without overflow.  One stacked
    product ``[C_lo; C_hi] [x_lo, x_hi]`` per step."""

    def __init__(self, inverse, p):
        n = inverse.nrows()
        C = np.array([int(e) for e in inverse.entries()], dtype=np.int64).reshape(n, n)
        self.stacked = np.vstack([(C & 0xFFFF), (C >> 16)]).astype(np.float64)
        self.n = n
        self.p = p
        self.shift32 = pow(2, 32, p)

    def __call__(self, x):
        p, n, c = self.p, self.n, x.shape[1]
        product = self.stacked @ np.hstack([x & 0xFFFF, x >> 16]).astype(np.float64)
        product = product.astype(np.int64)
        s0 = product[:n, :c] % p
        s1 = (product[:n, c:] + product[n:, :c]) % p
        s2 = product[n:, c:] % p
        return (s0 + (s1 << 16) + s2 * self.shift32) % p


_CONTROLLER = []


def one_blas_thread(n=None):
    """Context: BLAS on one thread (threadpoolctl, one cached controller, so
    entering costs microseconds).  The dense backend's small LAPACK / BLAS calls
    are slower on several threads of a shared machine, and CPU time, not
    wall time, is what a small run should save; the Dixon lifting loop (thousands
    of thin ``n x n`` by ``n x 2c`` products) is tens of times slower on several
    threads of a loaded machine.  For ``n < 64`` states nothing
    is limited (creating the controller costs ~4 ms CPU, more than such a solve)."""
    if n is not None and n < 64:
        from contextlib import nullcontext

        return nullcontext()
    if not _CONTROLLER:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1, user_api="blas")


def _prime_below(x):
    """The largest prime below ``x`` (flint's primality test)."""
    import flint

    x = x - 1 if x % 2 == 0 else x - 2
    while not flint.fmpz(x).is_prime():
        x -= 2
    return x


def dixon_solve(rows, cols, values, n, B, scale=1, max_steps=None):
    """Exact solution of the sparse integer system ``scale * A Y = den * B`` by p-adic lifting.

    Parameters
    ----------
    rows, cols, values : int arrays
        Triplets of the nonsingular ``n x n`` integer matrix ``A`` (int64 values),
        sorted by row, every row present.
    n : int
    B : (n, c) object array of int
        Right-hand sides.
    scale : int
        Solve ``A X = B / scale`` (a right-hand side over a common
        denominator): the lifting runs on ``B`` and ``X = Z / scale`` is
        reconstructed directly, so its size, not that of ``Z``, sets the number
        of steps.
    max_steps : int, optional
        Give up (``ArithmeticError``) after this many lifting steps.

    Returns
    -------
    Y : (n, c) object array of int, den : int
        ``X = Y / den`` with ``scale * A Y = den * B`` exactly (checked before
        returning).

    Notes
    -----
    Dixon's method: with ``C = A^{-1} mod p`` (one dense inverse, flint
    ``nmod_mat``, ``O(n^3)``), ``x_i = C r_i mod p`` and
    ``r_{i+1} = (r_i - A x_i) / p`` (exact division) give
    ``A (x_0 + x_1 p + ... + x_{k-1} p^{k-1}) = B (mod p^k)``.  The prime is
    the largest below ``min(2^31, 2^62 / (4 S))`` with ``S`` the largest
    absolute row sum of ``A``, so ``A x_i`` never overflows int64; ``r``
    shrinks to about ``S`` and then stays in int64.  Each step costs one dense
    product ``C r`` (``O(n^2 c)``, four float64 BLAS products on 16-bit limbs,
    exact because every partial sum stays below ``2^53``) and one sparse
    product (``O(nnz c)``).  At checkpoints
    (every 10% more steps) one probe entry per column is reconstructed
    (:func:`rational_reconstruction`, Wang); when their denominators repeat, all entries
    are lifted, a common denominator is built from the entries that need it,
    and the candidate is checked exactly: ``scale A Y = den B``.  A candidate
    that fails the check only means lifting continues, so the heuristic
    stopping rule cannot return a wrong answer.  Steps needed: about
    ``log(|num| * den) / log p`` of the largest entry of ``X``.

    Examples
    --------
    >>> rows, cols = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])
    >>> Y, den = dixon_solve(rows, cols, np.array([3, 1, 1, 2]), 2, np.array([[1], [0]], dtype=object))
    >>> (Y.ravel().tolist(), den)
    ([2, -1], 5)
    >>> Y, den = dixon_solve(rows, cols, np.array([3, 1, 1, 2]), 2, np.array([[1], [0]], dtype=object), scale=4)
    >>> (Y.ravel().tolist(), den)
    ([2, -1], 20)
    """
    import flint

    if n >= 2**20:
        raise TooLargeError(f"dixon_solve: {n:,} unknowns is beyond the dense inverse modulo p")
    S = int(np.bincount(rows, weights=np.abs(values).astype(np.float64), minlength=n).max()) + 1
    p = _prime_below(max(2**20, min(2**31 - 1, (1 << 62) // (4 * S))))
    dense = np.zeros((n, n), dtype=np.int64)
    dense[rows, cols] = values
    while True:
        try:
            if scale % p == 0:
                raise ZeroDivisionError
            inverse = flint.nmod_mat(n, n, (dense % p).ravel().tolist(), p).inv()
            break
        except ZeroDivisionError:
            p = _prime_below(p)
    del dense
    apply_inverse = _InverseModP(inverse, p)
    del inverse
    with one_blas_thread():
        return _lift(apply_inverse, p, rows, cols, values, n, B, scale, max_steps)


def _lift(apply_inverse, p, rows, cols, values, n, B, scale, max_steps):
    import scipy.sparse as sp

    c = B.shape[1]
    A = sp.csr_matrix((values.astype(np.int64), (rows, cols)), shape=(n, n))
    r = B.astype(object)
    small = False
    digits = []
    checkpoint, previous = 4, None
    # Probe entries: per column the row with the largest right-hand side and three random rows;
    # a full candidate is only built once every probe reconstructs.
    rng = np.random.default_rng(0)
    probes = [(int(np.argmax(np.abs(B[:, j]))), j) for j in range(c)] if n else []
    probes += [(int(i), j) for j in range(c) for i in rng.integers(0, n, size=3)] if n else []
    probe_values, power = [0] * len(probes), 1
    steps = 0
    while True:
        residue = r % p if small else (r % p).astype(np.int64)
        x = apply_inverse(residue)
        digits.append(x)
        r = (r - A @ x) // p
        if not small and np.abs(r).max() < 2**61:
            r, small = r.astype(np.int64), True
        probe_values = [u + int(x[probe]) * power for u, probe in zip(probe_values, probes)]
        power *= p
        steps += 1
        if max_steps is not None and steps > max_steps:
            raise ArithmeticError(f"dixon_solve: no verified solution after {max_steps} lifting steps")
        if steps < checkpoint:
            continue
        checkpoint = int(checkpoint * 1.1) + 1
        # Probe one entry per column; try a full candidate once their denominators repeat.
        M = power
        unscale = pow(scale, -1, M)
        # The first probe alone until its denominator repeats, then the others.
        first = rational_reconstruction(probe_values[0] * unscale % M, M) if probes else (0, 1)
        if first is None or first[1] != previous:
            previous = None if first is None else first[1]
            continue
        dens = [first[1]]
        for u in probe_values[1:]:
            found = rational_reconstruction(u * unscale % M, M)
            if found is None:
                break
            dens.append(found[1])
        if len(dens) < len(probes):
            continue
        common = 1
        for value in dens:
            common = lcm(common, value)
        result = _candidate(digits, p, M, common, unscale)
        if result is None:
            continue
        Y, den = result
        if (_sparse_times(rows, cols, values, Y, n) * scale == B * den).all():
            return Y, den


def _candidate(digits, p, M, den, unscale):
    """Numerators over a common denominator from the p-adic digits, or None.

    ``X = unscale * sum_i digits_i p^i (mod M)``.  Column by column, the
    entries of ``den * X mod M`` (symmetric residues) must be at most
    ``sqrt(M/2)``; an entry that is not gets its own reconstruction, whose
    denominator multiplies ``den``, and only the entries that failed are
    checked again.  Columns done with an older ``den`` are redone at the end.
    ``unscale`` is folded into the scalar ``den * unscale mod M``, so each
    entry costs one long product and one remainder per pass, in flint
    ``fmpz`` (GMP, subquadratic).
    """
    import flint

    M_ = flint.fmpz(M)
    Z_all = _combine_digits(digits, p)
    bound = flint.fmpz(isqrt(M // 2))
    upper = M_ - bound

    def too_big(values):
        return np.array([bound < z < upper for z in values.tolist()], dtype=bool)

    columns, used = [], []
    for j in range(Z_all.shape[1]):
        factor = flint.fmpz(den * unscale % M)
        column = (Z_all[:, j] * factor) % M_
        start_den = den
        pending = np.arange(len(column))
        for _ in range(32):
            bad = too_big(column[pending])
            if not bad.any():
                break
            pending = pending[bad]
            found = rational_reconstruction(int(column[pending[0]]), M)
            if found is None or found[1] == 1:
                return None
            den *= found[1]
            factor = flint.fmpz(den * unscale % M)
            column[pending] = (Z_all[pending, j] * factor) % M_
        else:
            return None
        if den != start_den:  # entries checked earlier in this column used an older den
            column = (Z_all[:, j] * factor) % M_
            if too_big(column).any():
                return None
        columns.append(column)
        used.append(den)
    factor = flint.fmpz(den * unscale % M)
    for j in range(len(columns)):
        if used[j] != den:
            columns[j] = (Z_all[:, j] * factor) % M_
            if too_big(columns[j]).any():
                return None
    half = M_ // 2
    out = np.empty(Z_all.shape, dtype=object)
    for j, column in enumerate(columns):
        out[:, j] = [int(z - M_) if z > half else int(z) for z in column.tolist()]
    return out, den


def _solve_float_dense(chain, Q, vals, rhs, blocks, progress):
    """The float block solve of :func:`_solve_float` on the scipy-free backend
    (``Q`` a :class:`_RowsCSR`): couplings by numpy scatter-adds, each block a
    dense LAPACK ``gesv`` solve."""
    T, c = rhs.shape
    X = np.zeros((T, c))
    vals = np.asarray(vals, dtype=np.float64)
    B_all = np.asarray(rhs, dtype=np.float64)
    done = 0
    with one_blas_thread(T):
        for block in blocks:
            nb = len(block)
            (ir, ic, iv), (orow, ocol, oval) = _block_parts(Q, vals, block, None)
            B = B_all[block].copy()
            np.add.at(B, orow, oval[:, None] * X[ocol])
            A = np.eye(nb)
            np.add.at(A, (ir, ic), -iv)
            X[block] = np.linalg.solve(A, B) if nb > 1 else B / A[0, 0]
            done += nb
            if progress:
                progress(done)
    return X


def _solve_float(chain, Q, vals, rhs, blocks, solved, progress):
    import scipy.sparse as sp
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
