"""Silo observables of an interacting system (MODEL.md 6.1), shared by the
continuous mirroring system, the mirroring chain's Monte Carlo and LLM runs.

A trajectory is an integer array ``silos`` of shape ``(..., T+1, n)``: the
silo of each of ``n`` agents at steps ``t = 0..T`` (any leading axes, e.g.
replicates).  A silo is a nonnegative integer; ``-1`` means "no silo" (an LLM
response naming no flower) and is never counted as a silo.

- ``S_t`` (:func:`silo_counts`): the number of distinct silos at ``t``;
- stability at ``t >= 1`` (:func:`stability`): the fraction of agents whose
  silo did not change from ``t - 1``;
- ``t*`` (:func:`last_split_time`): the last ``t <= T`` with ``S_t > 1``
  (0 when ``S_t <= 1`` at every ``t``; ``T`` means no consensus by ``T``);
- :func:`changed_agents`: the number of agents whose silo changed at ``t``;
- :func:`silo_sizes`: the sizes of the silos at one step, largest first.

Weights map to silos by :func:`silos_of_weights` (``argmax_k w_k``, lowest
index on ties, as MODEL.md 6.1 says).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "silos_of_weights",
    "silo_counts",
    "stability",
    "changed_agents",
    "last_split_time",
    "silo_sizes",
]


def silos_of_weights(weights):
    """Silo of each agent: ``argmax_k w_k``, the lowest index on ties.

    ``weights`` has shape ``(..., K)``; the result drops the last axis.

    >>> silos_of_weights(np.array([[0.2, 0.8], [0.5, 0.5]])).tolist()
    [1, 0]
    """
    return np.argmax(np.asarray(weights), axis=-1)


def silo_counts(silos):
    """``S_t``: number of distinct silos (``-1`` excluded) per step.

    ``silos`` has shape ``(..., n)``; the result drops the last axis.

    >>> silo_counts(np.array([[0, 1, 1], [2, 2, 2], [-1, 3, -1]])).tolist()
    [2, 1, 1]
    """
    silos = np.asarray(silos)
    ordered = np.sort(silos, axis=-1)
    new = np.ones(ordered.shape, dtype=bool)
    new[..., 1:] = ordered[..., 1:] != ordered[..., :-1]
    return (new & (ordered >= 0)).sum(axis=-1)


def changed_agents(silos):
    """Number of agents whose silo at ``t`` differs from ``t - 1``, for ``t = 1..T``.

    ``silos`` has shape ``(..., T+1, n)``; the result ``(..., T)``.

    >>> changed_agents(np.array([[0, 1], [0, 0], [0, 0]])).tolist()
    [1, 0]
    """
    silos = np.asarray(silos)
    return (silos[..., 1:, :] != silos[..., :-1, :]).sum(axis=-1)


def stability(silos):
    """Fraction of agents whose silo did not change from ``t - 1``, ``t = 1..T``.

    >>> stability(np.array([[0, 1], [0, 0], [0, 0]])).tolist()
    [0.5, 1.0]
    """
    silos = np.asarray(silos)
    return 1.0 - changed_agents(silos) / silos.shape[-1]


def last_split_time(silos):
    """``t*``: the last step ``t`` with ``S_t > 1`` (0 if there is none).

    ``silos`` has shape ``(..., T+1, n)``; the result drops the last two axes.
    ``t* = T`` means the agents were not in one silo at ``T``.

    >>> last_split_time(np.array([[0, 1], [1, 0], [1, 1], [1, 1]])).tolist()
    1
    >>> last_split_time(np.array([[[0, 0], [0, 0]], [[0, 1], [0, 1]]])).tolist()
    [0, 1]
    """
    split = silo_counts(silos) > 1  # (..., T+1)
    steps = np.arange(split.shape[-1])
    return np.where(split, steps, 0).max(axis=-1)


def silo_sizes(silos):
    """Sizes of the silos (``-1`` excluded) of one step, largest first.

    >>> silo_sizes(np.array([3, 0, 3, 3, -1]))
    (3, 1)
    """
    values = np.asarray(silos)
    values = values[values >= 0]
    _, sizes = np.unique(values, return_counts=True)
    return tuple(sorted((int(s) for s in sizes), reverse=True))
