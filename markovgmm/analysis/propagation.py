"""Distribution propagation ``p_t = p_0 P^t`` of a built chain (MODEL.md 2-3).

The law of the chain at step ``t`` is pushed forward one step at a time,
``p_{t+1}[y] = sum_x p_t[x] P[x, y]``, over the states that carry mass only.

On the exact path a distribution is kept as integer numerators over one
integer ``scale``: if ``p_t = w / S`` and ``P = V / d`` (the chain's integer
numerators over its common denominator), then ``p_{t+1} = (w V) / (S d)``, an
integer vector-matrix product.  After each step the greatest common divisor of
the numerators and the scale is divided out, which keeps the integers as short
as the true reduced denominators allow.  Nothing is ever a float on this path.
On the float path the same step is ``p_{t+1} = P^T p_t`` in float64 (sparse
matrix-vector product); its rounding error is at most about
``t * n_transitions * 2^-53`` in total variation.

The push is vectorised: the transitions leaving the support are gathered from
the CSR arrays at once, multiplied (Python integers in an object array, which
cannot overflow) and summed per target with ``np.add.reduceat``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import gcd

import numpy as np

from ..errors import InputError

__all__ = ["Distribution", "propagate", "point_mass"]


@dataclass
class Distribution:
    """The law of the chain at step ``t``.

    Attributes
    ----------
    t : int
        The step.
    states : (S,) int64 array
        Sorted state numbers with positive mass.
    weights : (S,) array
        Exact: integer numerators (object array of Python ints) over
        ``scale``; float: the probabilities.
    scale : int or float
        Exact: the common integer denominator (``chain.denominator**t``
        divided by common factors); float: 1.0.
    exact : bool
    """

    t: int
    states: np.ndarray
    weights: np.ndarray
    scale: object
    exact: bool

    def probability(self, state):
        """Probability of one state number (Fraction or float)."""
        hit = np.searchsorted(self.states, state)
        if hit < len(self.states) and self.states[hit] == state:
            return Fraction(int(self.weights[hit]), self.scale) if self.exact else float(self.weights[hit])
        return Fraction(0) if self.exact else 0.0

    def mass(self, mask):
        """Mass on the states where the boolean ``mask`` (over all chain states) is True.

        >>> from markovgmm import System, build_chain
        >>> chain = build_chain(System(agents=2, components=2, memory=2))
        >>> law = list(propagate(chain, chain.index(((1, 1), (1, 1))), 1))[-1]
        >>> law.mass(chain.vertex_labels().min(axis=1) >= 0)
        Fraction(1, 4)
        """
        selected = np.asarray(mask, dtype=bool)[self.states]
        if self.exact:
            return Fraction(int(sum(self.weights[selected].tolist())), self.scale)
        return float(self.weights[selected].sum())

    def expectation(self, values):
        """``E[f(X_t)]`` for ``values[s] = f(s)`` given over all chain states.

        ``values`` may hold integers, Fractions or floats; on the exact path
        the result is a Fraction (integers and Fractions only), else a float.

        >>> from markovgmm import System, build_chain
        >>> chain = build_chain(System(agents=2, components=2, memory=2))
        >>> law = list(propagate(chain, chain.index(((2, 0), (0, 2))), 1))[-1]
        >>> law.expectation(chain.local_counts[chain.agent_ranks][:, 0, 0])
        Fraction(2, 1)
        """
        values = np.asarray(values)
        picked = values[self.states]
        if not self.exact:
            return float(np.dot(self.weights, picked.astype(np.float64)))
        if picked.dtype.kind == "f":
            raise InputError("values: the exact path takes integers or Fractions, not floats")
        if picked.dtype.kind in "iub":
            total = int(np.dot(self.weights, picked.astype(object)))
            return Fraction(total, self.scale)
        return sum((Fraction(int(w)) * Fraction(v) for w, v in zip(self.weights.tolist(), picked.tolist())), Fraction(0)) / self.scale

    def dense(self, n_states):
        """The probability vector over all ``n_states`` states: a list of
        Fractions (exact) or a float64 array (float)."""
        if self.exact:
            out = [Fraction(0)] * n_states
            for s, w in zip(self.states.tolist(), self.weights.tolist()):
                out[s] = Fraction(int(w), self.scale)
            return out
        out = np.zeros(n_states)
        out[self.states] = self.weights
        return out


def point_mass(chain, start):
    """The law at ``t = 0``: all mass on state number ``start``, or a given
    law ``{state: probability}`` (probabilities rational on the exact path)."""
    n = chain.n_states
    if isinstance(start, dict):
        if not start:
            raise InputError("start: an empty distribution")
        items = sorted((int(s), p) for s, p in start.items())
        states = np.array([s for s, _ in items], dtype=np.int64)
        if states.min() < 0 or states.max() >= n:
            raise InputError(f"start: state numbers must lie in 0..{n - 1}")
        if chain.exact:
            from ..numbers import to_fraction

            probs = [to_fraction(p, "start") for _, p in items]
            if any(p < 0 for p in probs) or sum(probs) != 1:
                raise InputError("start: probabilities must be nonnegative and sum to exactly 1")
            scale = 1
            for p in probs:
                scale = scale * p.denominator // gcd(scale, p.denominator)
            weights = np.array([int(p * scale) for p in probs], dtype=object)
            keep = weights != 0
            return Distribution(0, states[keep], weights[keep], scale, True)
        probs = np.array([float(p) for _, p in items])
        if (probs < 0).any() or abs(probs.sum() - 1) > 1e-12:
            raise InputError("start: probabilities must be nonnegative and sum to 1")
        keep = probs > 0
        return Distribution(0, states[keep], probs[keep], 1.0, False)
    from ._start import start_number

    s = start_number(chain, start)  # a state number or the state itself (one parser, ._start)
    one = np.array([1], dtype=object) if chain.exact else np.array([1.0])
    return Distribution(0, np.array([s], dtype=np.int64), one, 1 if chain.exact else 1.0, chain.exact)


def _gather(indptr, support):
    """Positions in the CSR arrays of every transition leaving ``support``, and their owner."""
    lo, hi = indptr[support], indptr[support + 1]
    lengths = hi - lo
    owner = np.repeat(np.arange(len(support)), lengths)
    offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return lo[owner] + offsets, owner


def _reduce(weights, scale):
    g = scale
    for w in weights.tolist():
        g = gcd(g, w)
        if g == 1:
            return weights, scale
    return np.array([w // g for w in weights.tolist()], dtype=object), scale // g


def propagate(chain, start, horizon, progress=None):
    """Yield the law of the chain at steps ``t = 0, 1, ..., horizon``.

    Parameters
    ----------
    chain : Chain
        Exact or float.
    start : int or dict
        A start state number, or a law ``{state number: probability}``.
    horizon : int
        Last step (``>= 0``).
    progress : callable, optional
        Called with the number of steps done after each step.

    Yields
    ------
    Distribution
        ``p_t`` for ``t = 0..horizon``, exact (integers over ``scale``) on an
        exact chain, float64 on a float chain.

    Notes
    -----
    ``p_{t+1} = p_t P``.  Exact: ``p_t = w_t / S_t`` with integer ``w_t``;
    ``w_{t+1} = w_t V`` and ``S_{t+1} = S_t d`` for the chain's numerators
    ``V`` over ``d``, then both divided by ``gcd(w_{t+1}, S_{t+1})``.
    Each step costs ``O(transitions out of the support)`` big-integer
    multiplications, whose length grows at most linearly in ``t``
    (``log2 S_t <= t log2 d``).  Float: a sparse matrix-vector product per
    step.  MODEL.md 3 (time counted in chain steps, self-loops included).

    Examples
    --------
    >>> from markovgmm import System, build_chain
    >>> chain = build_chain(System(agents=2, components=2, memory=2))
    >>> laws = list(propagate(chain, chain.index(((1, 1), (1, 1))), 2))
    >>> [law.t for law in laws], laws[1].probability(chain.index(((2, 0), (2, 0))))
    ([0, 1, 2], Fraction(1, 16))
    >>> sum(laws[2].weights) == laws[2].scale
    True
    """
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 0:
        raise InputError(f"horizon must be a nonnegative integer, got {horizon!r}")
    law = point_mass(chain, start)
    yield law
    if chain.exact:
        values = chain.values.astype(object)
        plan_for = None
        for t in range(1, int(horizon) + 1):
            if plan_for is None or not np.array_equal(plan_for, law.states):
                # Transitions out of the support, sorted by target; reused while the support stays the same.
                take, owner = _gather(chain.indptr, law.states)
                order = np.argsort(chain.indices[take], kind="stable")
                take, owner = take[order], owner[order]
                targets = chain.indices[take]
                heads = np.flatnonzero(np.r_[True, targets[1:] != targets[:-1]])
                step_values, step_targets, plan_for = values[take], targets[heads], law.states
            sums = np.add.reduceat(law.weights[owner] * step_values, heads)
            states = step_targets
            keep = sums != 0
            weights, scale = _reduce(sums[keep], law.scale * int(chain.denominator))
            law = Distribution(t, states[keep], weights, scale, True)
            if progress is not None:
                progress(t)
            yield law
    else:
        P_T = chain.matrix().T.tocsr()
        p = np.zeros(chain.n_states)
        p[law.states] = law.weights
        for t in range(1, int(horizon) + 1):
            p = P_T @ p
            states = np.flatnonzero(p > 0)
            law = Distribution(t, states, p[states], 1.0, False)
            if progress is not None:
                progress(t)
            yield law
