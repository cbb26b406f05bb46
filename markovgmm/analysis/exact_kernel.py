"""The exact kernel of the certified path (MODEL.md 3): ``d A = d I - V`` on a
transient set, exact products ``V @ C``, and refinement with exact residuals.

:class:`ExactSystem` is what makes a certificate a proof: whatever float
solver proposes a correction, the residual ``b - A x`` is recomputed here in
exact integer arithmetic (``proofs/certified_enclosure.md``).  The float
solvers and the enclosure logic live in :mod:`markovgmm.analysis.certified`.
"""

from __future__ import annotations

from math import ceil, log2

import numpy as np

from ..chain.assembly import LIMB_BITS, int64_limbs, numerators_to_float
from .classes import small
from .linalg import submatrix

__all__ = ["ExactSystem", "StreamedExactSystem", "CORRECTION_BITS", "block_solver", "dense_solver"]

#: Bits kept of each float64 correction (a float64 has 53).
CORRECTION_BITS = 52


class ExactSystem:
    """``d A = d I - V`` on the transient states, ``V`` integer numerators of ``Q``.

    ``V @ C`` for an int64 vector ``C`` is computed exactly and vectorised for
    numerators of any size: ``V = sum_p V_p 2^{w_p}`` with pieces ``|V_p| <
    2^b`` (from the int64 storage limbs of
    :func:`~markovgmm.chain.assembly.int64_limbs`), ``C = sum_k C_k 2^{c k}``
    with ``|C_k| < 2^c``, and ``b + c + log2(longest row + 1) <= 62``, so every
    entry of every ``V_p @ C_k`` (one stacked int64 sparse product) is an
    exact int64 row sum; the products are recombined as Python integers
    (``O(n)`` per pair, never per nonzero).  :meth:`product_by_objects` is the
    independent Python-integer reference.

    Backends: for at most :data:`~markovgmm.analysis.classes.SMALL_STATES`
    states (``self.small``) the pieces are dense int64 numpy matrices (the
    same row-sum bound holds: the zeros add nothing) and the float ``A`` is
    :meth:`dense_A`; ``A`` (scipy CSR, float64) is built on first use only.
    """

    def __init__(self, chain, transient):
        rows, cols, vals, n = submatrix(chain, transient, transient)
        self.n = n
        self.d = int(chain.denominator)
        row_lengths = np.bincount(rows, minlength=n) if n else np.zeros(0, np.int64)
        longest = int(row_lengths.max()) if len(rows) else 1
        row_bits = ceil(log2(longest + 1))
        index = np.int32 if max(n, len(rows)) < 2**31 - 1 else np.int64  # one index dtype shared by every piece
        self.rows, self.cols, self.vals = rows.astype(index), cols.astype(index), vals
        del rows, cols
        self.indptr = np.zeros(n + 1, dtype=index)
        np.cumsum(row_lengths, out=self.indptr[1:])
        limbs = int64_limbs(vals, bound=self.d)  # 0 <= numerators <= d (P is stochastic); exact for any values
        width = LIMB_BITS if vals.dtype == object else 64
        top = limbs[-1]
        value_bits = max(1, int(top.max()).bit_length(), int(top.min()).bit_length()) if len(top) else 1
        total_bits = width * (len(limbs) - 1) + value_bits
        # piece bits b and C-limb bits c: b + c + row_bits <= 62, fewest piece x limb pairs (C has <= 54 bits)
        best = None
        for b in range(8, 55):
            c = 62 - b - row_bits
            if c < 8:
                break
            pairs = ceil(total_bits / b) * ceil(54 / c)
            if best is None or pairs < best[0]:
                best = (pairs, b, c)
        if best is None:
            raise ValueError(f"exact kernel: rows of {longest} entries leave no room for int64 limb products")
        _, self.piece_bits, self.limb_bits = best
        self._pieces = []  # (weight, int64 data aligned with rows/cols)
        mask = (1 << self.piece_bits) - 1
        for j, limb in enumerate(limbs):
            last = j == len(limbs) - 1
            bits = value_bits if last else width
            for i in range(ceil(bits / self.piece_bits)):
                piece = limb >> (self.piece_bits * i)
                if not (last and i == ceil(bits / self.piece_bits) - 1):
                    piece = piece & mask
                if piece.any():
                    self._pieces.append((width * j + self.piece_bits * i, piece))
        self._stacked = None
        self.small = small(n)
        self._q = numerators_to_float(None, self.d, limbs=limbs)  # float64 entries of Q, aligned with rows/cols
        del limbs
        self._A = None

    @property
    def A(self):
        """``I - Q`` as a float64 ``scipy.sparse.csr_matrix`` (built on first use)."""
        if self._A is None:
            import scipy.sparse as sp

            Q = sp.csr_matrix((self._q, self.cols, self.indptr), shape=(self.n, self.n))
            self._A = (sp.identity(self.n, format="csr") - Q).tocsr()
        return self._A

    def dense_A(self):
        """``I - Q`` as a dense float64 numpy array."""
        A = np.eye(self.n)
        A[self.rows, self.cols] -= self._q
        return A

    @property
    def heads(self):
        """Start of each non-empty row in the nonzeros (for :meth:`product_by_objects`)."""
        rows = self.rows
        return np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]]) if len(rows) else np.zeros(0, np.int64)

    def _stack(self):
        """One int64 CSR matrix per piece ``V_p``, all sharing the index arrays."""
        if self._stacked is None and self.small:
            stacked = []
            for _w, piece in self._pieces:
                dense = np.zeros((self.n, self.n), dtype=np.int64)
                dense[self.rows, self.cols] = piece  # distinct (row, col) pairs
                stacked.append(dense)
            self._stacked = stacked
        if self._stacked is None:
            import scipy.sparse as sp

            self._stacked = [sp.csr_matrix((piece, self.cols, self.indptr), shape=(self.n, self.n)) for _w, piece in self._pieces]
        return self._stacked

    def product(self, C):
        """Exact ``V @ C`` (object array of Python ints) for an int64 vector ``C``."""
        return self.product_by_limbs(C)

    def product_by_limbs(self, C):
        """``V @ C`` from one int64 sparse product of the pieces of ``V`` with
        the ``limb_bits``-bit limbs of ``C``."""
        n, c = self.n, self.limb_bits
        out = np.zeros(n, dtype=object)
        if not self._pieces:
            return out
        climbs = _signed_limbs(C, c)
        for (weight, _piece), V in zip(self._pieces, self._stack()):
            Y = V @ climbs  # (n, limbs), exact int64 row sums (numpy integer matmul, no BLAS, on the dense backend)
            for k in range(climbs.shape[1]):
                out += Y[:, k].astype(object) * (1 << (weight + c * k))
        return out

    def product_by_objects(self, C):
        """``V @ C`` with Python-integer products over the nonzeros (any size)."""
        out = np.zeros(self.n, dtype=object)
        if len(self.rows):
            values = np.array([int(v) for v in self.vals.tolist()], dtype=object)
            products = values * np.array([int(c) for c in C], dtype=object)[self.cols]
            out[self.rows[self.heads]] = np.add.reduceat(products, self.heads)
        return out

    def refine(self, B, stop, max_refinements, solve):
        """Refine ``x`` for ``A x = B / d`` until ``stop(X, E, R)``.

        ``x = X / 2^E`` (object ints) and the residual ``b - A x = R / (d 2^E)``
        exactly.  Returns ``(X, E, R, solves, stopped)``.
        """
        X = np.zeros(self.n, dtype=object)
        E = 0
        R = np.array([int(v) for v in B], dtype=object)
        solves = 0
        previous = None
        while True:
            if stop(X, E, R):
                return X, E, R, solves, True
            rho = max(int(R.max()), -int(R.min())) if len(R) else 0
            if rho == 0 or solves >= max_refinements:
                return X, E, R, solves, False
            # stagnation: the last correction did not decrease max|r| = rho / (d 2^E) at all
            if previous is not None and rho << previous[1] >= previous[0] << E:
                return X, E, R, solves, False
            previous = (rho, E)
            # float residual scaled to magnitude ~1: r = R / (d 2^E) = r_scaled * 2^-s
            s = E + self.d.bit_length() - rho.bit_length()
            # R >> k keeps 62 bits of the largest entry (floor: absolute error 2^k <= 2^-61 rho; the
            # float right-hand side only steers the solver, the exact residual R is kept)
            k = rho.bit_length() - 62
            top = (R >> k) if k > 0 else (R << -k)
            d_shift = max(0, self.d.bit_length() - 60)
            r_scaled = np.ldexp(top.astype(np.float64), k - E + s - d_shift) / float(self.d >> d_shift)
            c_scaled = np.asarray(solve(r_scaled), dtype=np.float64)
            solves += 1
            if not np.all(np.isfinite(c_scaled)):
                return X, E, R, solves, False
            top = float(np.abs(c_scaled).max())
            if top == 0.0:
                return X, E, R, solves, False
            g = CORRECTION_BITS - int(np.frexp(top)[1])
            C = np.rint(np.ldexp(c_scaled, g)).astype(np.int64)
            F = g + s  # correction = C / 2^F
            E_new = max(E, F)
            up_old, up_new = 1 << (E_new - E), 1 << (E_new - F)
            dAc = self.d * C.astype(object) - self.product(C)  # d 2^F (A c)
            X = X * up_old + C.astype(object) * up_new
            R = R * up_old - dAc * up_new
            E = E_new


def block_solver(A, merge=64):
    """Float solver ``solve(r) -> c`` with ``A c ~ r`` by block back-substitution
    over the strongly connected blocks of ``A``'s graph (the same block
    order as the float absorption solver, :func:`~markovgmm.analysis.linalg.solve_absorbing`).

    ``A`` permuted to a topological order of its condensation (a block
    solved after every block it reaches) is block triangular, so only the
    diagonal blocks are factorised (SuperLU); consecutive blocks are merged
    up to ``merge`` states (a union of consecutive blocks is again block
    triangular) so that tiny blocks cost no Python loop each (SuperLU, the
    ``MMD_AT_PLUS_A`` ordering of the former whole-system solver).  Only the float
    side: every certificate recomputes the residual exactly
    (:meth:`ExactSystem.refine`), so the solver needs no error bound.

    >>> import scipy.sparse as sp
    >>> A = sp.csr_matrix(np.array([[1.0, -0.5, 0.0], [0.0, 1.0, -0.5], [0.0, -0.5, 1.0]]))
    >>> np.round(block_solver(A)(np.array([1.0, 0.75, 0.0])), 12).tolist()
    [1.5, 1.0, 0.5]
    """
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components
    from scipy.sparse.linalg import splu

    A = sp.csr_matrix(A)
    n = A.shape[0]
    if n == 0:
        return lambda r: np.zeros(0)
    n_blocks, label = connected_components(A, directed=True, connection="strong")
    coo = A.tocoo()
    between = label[coo.row] != label[coo.col]
    pairs = np.unique(label[coo.row[between]].astype(np.int64) * n_blocks + label[coo.col[between]])
    edges = np.stack([pairs // n_blocks, pairs % n_blocks], axis=1)
    # Kahn on the condensation: a block is ready when every block it reaches is placed
    out_degree = np.bincount(edges[:, 0], minlength=n_blocks) if len(edges) else np.zeros(n_blocks, np.int64)
    into = sp.csr_matrix((np.ones(len(edges), np.int8), (edges[:, 1], edges[:, 0])), shape=(n_blocks, n_blocks)) if len(edges) else None
    ready = list(np.flatnonzero(out_degree == 0))
    order = []
    while ready:
        b = ready.pop()
        order.append(b)
        if into is not None:
            for a in into.indices[into.indptr[b] : into.indptr[b + 1]]:
                out_degree[a] -= 1
                if out_degree[a] == 0:
                    ready.append(a)
    rank = np.empty(n_blocks, dtype=np.int64)
    rank[np.array(order, dtype=np.int64)] = np.arange(n_blocks)
    perm = np.argsort(rank[label], kind="stable")  # states in solve order
    sizes = np.bincount(rank[label], minlength=n_blocks)
    bounds, acc = [0], 0
    for size in sizes.tolist():
        acc += size
        if acc - bounds[-1] >= merge:
            bounds.append(acc)
    if bounds[-1] != n:
        bounds.append(n)
    P = A[perm][:, perm].tocsr()  # block lower triangular in solve order
    parts = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        rows = P[lo:hi]
        diag = rows[:, lo:hi].tocsc()
        lu = splu(diag, permc_spec="MMD_AT_PLUS_A") if hi - lo > 1 else None
        parts.append((lo, hi, rows[:, :lo].tocsr() if lo else None, lu, diag.toarray()[0, 0] if lu is None else None))

    def solve(r):
        y = np.asarray(r, dtype=np.float64)[perm]
        x = np.zeros(n)
        for lo, hi, coupling, lu, scalar in parts:
            rhs = y[lo:hi] if coupling is None else y[lo:hi] - coupling @ x[:lo]
            x[lo:hi] = lu.solve(rhs) if lu is not None else rhs / scalar
        out = np.empty(n)
        out[perm] = x
        return out

    return solve


def dense_solver(A):
    """Float solver ``solve(r) -> c`` with ``A c ~ r`` for a dense numpy ``A``:
    one dense inverse (LAPACK ``getrf``/``getri``), then a product per call,
    BLAS on one thread (:func:`~markovgmm.analysis.linalg.one_blas_thread`).
    The default float side of the certificate on the scipy-free backend (at
    most :data:`~markovgmm.analysis.classes.SMALL_STATES` states).  Only the
    float side: the residual is recomputed exactly (:meth:`ExactSystem.refine`),
    so the solver's accuracy affects only how many refinements are needed.

    >>> np.round(dense_solver(np.array([[1.0, -0.5, 0.0], [0.0, 1.0, -0.5], [0.0, -0.5, 1.0]]))(np.array([1.0, 0.75, 0.0])), 12).tolist()
    [1.5, 1.0, 0.5]
    """
    from .linalg import one_blas_thread

    n = len(A)
    with one_blas_thread(n):
        inverse = np.linalg.inv(np.array(A, dtype=np.float64))

    def solve(r):
        with one_blas_thread(n):
            return inverse @ np.asarray(r, dtype=np.float64)

    return solve


class StreamedExactSystem(ExactSystem):
    """``d A^T = d I - V^T`` on a transient set, with ``V`` never stored.

    For chains whose exact numerators are too many to keep (the population
    chains of MODEL.md 2 and 6.2 at many agents, ``chain.exact_rows`` set):
    every exact product :meth:`product` ``V^T @ C`` regenerates the exact
    rows chunk by chunk (:meth:`~markovgmm.chain.population.ExactRows.chunks`:
    31-bit int64 limbs of the numerators over ``d = D^m``) and discards them,
    so one product costs one exact build pass and the memory of one chunk.
    It is the transpose because the streamed certificate is the adjoint one
    (:func:`~markovgmm.analysis.certified.certified_absorb`, one solve for all
    targets); :meth:`ExactSystem.refine` works on it unchanged.

    Every chunk's columns are checked against the float chain's: the
    transient set and the closed classes, found on the float chain's
    pattern, are then those of the exact chain (a mismatch raises).  The
    first product also sums each transient row's numerators into each closed
    class (:attr:`class_numerators`), the exact right-hand sides.

    ``product`` is exact for any int64 ``C``: ``V^T = sum_j V_j^T 2^{31 j}``
    (limbs below ``2^31``), ``C = sum_k C_k 2^{c k}`` with ``|C_k| < 2^c``
    and ``31 + c + log2(longest column + 1) <= 62``, so every entry of every
    accumulated int64 product ``V_j^T C_k`` (over all chunks) is an exact
    int64 sum.
    """

    def __init__(self, chain, transient, class_of=None):
        self.chain, self.rows_source = chain, chain.exact_rows
        self.n = len(transient)
        self.d = int(chain.exact_rows.denominator)
        self.small = False
        self.transient = transient
        self.position = np.full(chain.n_states, -1, dtype=np.int64)
        self.position[transient] = np.arange(self.n)
        # longest column of V restricted to the transient set, from the float chain's pattern (rows in
        # slices of about 2^22 entries: no temporaries of the chain's size)
        counts = np.zeros(self.n, dtype=np.int64)
        step = max(1, (1 << 22) * chain.n_states // max(1, chain.n_transitions))
        for first in range(0, chain.n_states, step):
            last = min(first + step, chain.n_states)
            lo, hi = int(chain.indptr[first]), int(chain.indptr[last])
            rows = np.repeat(self.position[first:last], np.diff(chain.indptr[first : last + 1]))
            cols = self.position[chain.indices[lo:hi]]
            counts += np.bincount(cols[(rows >= 0) & (cols >= 0)], minlength=self.n)
        longest = int(counts.max()) if len(counts) else 1
        if self.n:  # rows too, for the forward product (a row's length bounds its entries inside T)
            longest = max(longest, int(np.diff(chain.indptr)[transient].max()))
        self.limb_bits = 62 - 31 - ceil(log2(longest + 1))
        if self.limb_bits < 4:
            raise ValueError(f"streamed exact kernel: rows or columns of {longest:,} entries leave no room for int64 limb products")
        self.class_of = class_of
        self.class_numerators = None
        self.passes = 0

    @property
    def A(self):
        raise AttributeError("StreamedExactSystem: no stored matrix; the float solver uses the chain's float matrix")

    def product(self, C, forward=False):
        """Exact ``V^T @ C`` (``forward``: ``V @ C``), an object array of
        Python ints, for an int64 vector ``C`` on the transient set: one pass
        over the regenerated exact rows."""
        import scipy.sparse as sp

        n, c = self.n, self.limb_bits
        climbs = _signed_limbs(C, c)  # (n, k)
        chain, position = self.chain, self.position
        want_classes = self.class_numerators is None and self.class_of is not None
        class_keys, class_sums = [], []
        acc = None
        expected_first = 0
        for first, lengths, cols, limbs, denominator in self.rows_source.chunks():
            if int(denominator) != self.d:
                raise RuntimeError("streamed exact rows: a chunk has another common denominator")
            count = len(lengths)
            if first != expected_first:  # every row exactly once, in order
                raise RuntimeError(f"streamed exact rows: a chunk starts at row {first}, expected {expected_first}")
            expected_first += count
            lo, hi = int(chain.indptr[first]), int(chain.indptr[first + count])
            if not (np.array_equal(np.diff(chain.indptr[first : first + count + 1]), lengths) and np.array_equal(chain.indices[lo:hi], cols)):
                raise RuntimeError(f"streamed exact rows {first}..{first + count - 1}: pattern differs from the float chain's")
            _check_stochastic(lengths, limbs, self.d, first)
            row_pos = np.repeat(position[first : first + count], lengths)
            col_pos = position[cols]
            if want_classes:
                cls = self.class_of[cols]
                hit = (row_pos >= 0) & (cls >= 0)
                if hit.any():
                    from ..chain.assembly import sum_by_key
                    from ..chain.population import limbs_to_int

                    key = row_pos[hit] * (int(self.class_of.max()) + 1) + cls[hit]
                    keys, *sums = sum_by_key(key, *(limbs[hit, j] for j in range(limbs.shape[1])))
                    class_keys.append(keys)
                    # sums of 31-bit limbs (below 2^62), a value at most d < 2^(31 J): carried, then made integers
                    class_sums.append(limbs_to_int(np.stack(sums, axis=1), normalise=True))
            keep = (row_pos >= 0) & (col_pos >= 0)
            if not keep.any():
                continue
            local = np.repeat(np.arange(count), lengths)[keep]
            indptr = np.zeros(count + 1, dtype=np.int64)
            np.cumsum(np.bincount(local, minlength=count), out=indptr[1:])
            inside_rows = position[first : first + count] >= 0
            rows_here = position[first : first + count][inside_rows]
            if not forward:
                C_chunk = np.zeros((count, climbs.shape[1]), dtype=np.int64)
                C_chunk[inside_rows] = climbs[rows_here]
            kept_cols = col_pos[keep]
            if acc is None:
                acc = np.zeros((limbs.shape[1], n, climbs.shape[1]), dtype=np.int64)
            elif limbs.shape[1] > acc.shape[0]:
                acc = np.concatenate([acc, np.zeros((limbs.shape[1] - acc.shape[0], n, climbs.shape[1]), np.int64)])
            for j in range(limbs.shape[1]):
                M = sp.csr_matrix((limbs[keep, j], kept_cols, indptr), shape=(count, n))
                # exact int64: a row's (column's) entries times |C_k| < 2^c stay below 2^62 in total
                if forward:
                    acc[j][rows_here] += (M @ climbs)[inside_rows]
                else:
                    acc[j] += M.T @ C_chunk
        if expected_first != chain.n_states:
            raise RuntimeError(f"streamed exact rows: the chunks cover {expected_first:,} of {chain.n_states:,} rows")
        self.passes += 1
        if want_classes:
            width = int(self.class_of.max()) + 1
            keys = np.concatenate(class_keys) if class_keys else np.zeros(0, np.int64)
            values = np.concatenate(class_sums) if class_sums else np.zeros(0, dtype=object)
            self.class_numerators = (keys // width, keys % width, values)  # (transient position, class, numerator)
        out = np.zeros(n, dtype=object)
        if acc is None:
            return out
        for j in range(acc.shape[0]):
            for k in range(acc.shape[2]):
                out += acc[j, :, k].astype(object) * (1 << (31 * j + c * k))
        return out


def _check_stochastic(lengths, limbs, d, first):
    """Raise unless every exact numerator of the chunk is positive (the float
    chain's pattern is the exact chain's) and every row sums to ``d``
    (stochastic rows: what makes ``A`` an M-matrix and ``0 <= x <= 1``)."""
    from ..chain.population import limbs_to_int

    if not len(lengths):
        return
    if (lengths <= 0).any() or not limbs.any(axis=1).all():
        raise RuntimeError(f"streamed exact rows from {first}: an empty row or a zero numerator")
    heads = np.r_[0, np.cumsum(lengths)[:-1]]
    sums = limbs_to_int(np.add.reduceat(limbs, heads, axis=0), normalise=True)  # < 2^31 * row length per column
    if not (sums == d).all():
        raise RuntimeError(f"streamed exact rows from {first}: a row does not sum to the common denominator")


def _signed_limbs(C, c):
    """``(n, k)`` int64 limbs of an int64 vector: ``C = sum_k out[:, k] 2^(c k)``,
    every limb but the last in ``[0, 2^c)``, the last in ``(-2^c, 2^c)``."""
    mask = (1 << c) - 1
    rest = np.asarray(C, dtype=np.int64).copy()
    limbs = []
    while True:
        if bool(np.all((rest >= -mask) & (rest <= mask))):
            limbs.append(rest)
            break
        limbs.append(rest & mask)
        rest = rest >> c
    return np.stack(limbs, axis=1)
