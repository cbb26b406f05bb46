"""Simulation of the continuous interacting-GMM system (MODEL.md 1; seed 002,
Algorithms 2-3).

``m`` Gaussian mixtures in ``R^d`` share ``K`` fixed components (means
``mu_k``, one SPD covariance ``Sigma``); only their weights ``pi_i`` move.  A
pool of points ("the Internet") starts as ``X_0``; each step every agent posts
``n_post`` points drawn from its current mixture, then every agent retrieves
``k_{t+1} = ceil(lambda |X_{t+1}|)`` points uniformly without replacement from
the part of the pool it can see and applies the Zivkovic & van der Heijden
(2004) update one retrieved point at a time, followed by positive
normalisation.  The run records the weights, the distance matrix
``D_t[i,j] = ||pi_i^t - pi_j^t||_2`` (seed 002, eq. 4) and ``||D_t||_F``.

The method is plain Monte Carlo with numpy: a point's log-likelihood under
every component is computed once when it is posted, so an update costs one
softmax per agent (vectorised over agents); retrieval draws one uniform key
per visible point and keeps the ``k`` smallest (a uniformly random subset in a
uniformly random order).  Replicates use independent streams spawned from
one :class:`numpy.random.SeedSequence`, so replicate ``r`` of seed ``s`` is
the same whatever the number of replicates.

The continuous system is the object the memory-replacement chain of MODEL.md
2 discretises (``alpha = r/N``, well-separated components, ``c > 0`` for
freezing); :func:`outcome_of_weights` classifies end states the way MODEL.md 3
classifies closed classes, so the two can be compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import ceil

import numpy as np

from ..errors import InputError
from ..numbers import to_fraction
from ..progress import progress_bar
from ..system import graph_from_name

__all__ = [
    "ContinuousSystem",
    "ContinuousRun",
    "simulate",
    "simulate_system",
    "zivkovic_update",
    "retrieval_size",
    "distance_matrices",
    "outcome_of_weights",
    "matched_to_chain",
    "DEFAULTS",
]

#: Defaults of :func:`simulate` (and of the ``markovgmm simulate`` command).
DEFAULTS = {
    "agents": 3,
    "components": 2,
    "dim": 1,
    "separation": 4.0,
    "n0": 20,
    "n_post": 1,
    "lam": Fraction(1, 10),
    "alpha": 0.05,
    "prune_c": 0.0,
    "beta": 1.0,
    "steps": 60,
    "graph": "complete",
}

#: Caps on a continuous system and a run, checked before anything is allocated.
MAX_AGENTS = 10_000
MAX_COMPONENTS = 10_000
MAX_DIM = 1_000
MAX_MEAN_ENTRIES = 10**6  # components x dim
MAX_POOL = 10**7  # n0, and the pool's final size n0 + steps * agents * n_post
MAX_STEPS = 10**6
MAX_REPLICATES = 10**6
MAX_BYTES = 2 * 2**30  # the run's arrays (weights, distance matrices, a batch's pool)
MAX_WORK = 2 * 10**10  # elementary operations (retrieval and updates over all steps and replicates)
#: Largest |separation * (components - 1)|: squared distances of the means stay finite in float64.
MAX_SPREAD = 1e100

#: A weight at or below this is treated as zero when deciding whether an agent sits at a vertex:
#: by default only exact zeros (weights pruned by ``c > 0``), so an agent with ``c = 0`` is never "frozen".
VERTEX_TOLERANCE = 0.0


def _positive_int(value, name, low, high=None):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{name} must be an integer >= {low}, got {value!r}")
    if value < low or (high is not None and value > high):
        allowed = f"an integer >= {low}" if high is None else f"an integer >= {low} and <= {high:,}"
        shown = value if abs(value) < 10**30 else f"about 10^{len(str(abs(int(value)))) - 1}"
        raise InputError(f"{name} must be {allowed}, got {shown}")
    return int(value)


def _finite_float(value, name):
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(out):
        raise InputError(f"{name} must be a finite number, got {value!r}")
    return out


@dataclass(frozen=True, eq=False)
class ContinuousSystem:
    """A validated continuous interacting-GMM system (MODEL.md 1).

    Parameters
    ----------
    agents : int
        Number of mixtures ``m >= 1``.
    components : int
        Number of shared components ``K >= 2``.
    dim : int
        Dimension ``d >= 1`` (ignored when ``means`` is given).
    means : (K, d) array_like, optional
        Component means.  Default ``mu_k = separation * k * e_1`` (``0, 4`` for
        ``K = 2``): well separated for ``Sigma = I``.
    covariance : (d, d) array_like, optional
        Shared symmetric positive definite covariance (default identity).
    separation : float
        Spacing of the default means along the first axis (default 4).
    n0 : int
        Size of the initial pool ``X_0`` (default 20; ignored when
        ``initial_pool`` is given).
    n_post : int
        Points each agent posts per step (default 1).
    lam : float or rational
        Retrieval proportion ``lambda`` in ``[0, 1]`` (default 1/10); read
        exactly so that ``ceil(lambda |X|)`` has no rounding error.
    alpha : float
        Learning rate ``alpha`` in ``(0, 1]`` (default 0.05).
    prune_c : float
        Zivkovic's pruning constant ``c >= 0`` with ``K c < 1`` (default 0:
        the plain moving average, nothing is ever pruned).
    beta : float or (K,) array_like
        Dirichlet parameter of the initial weights (default 1: uniform on the
        simplex); ignored when ``initial_weights`` is given.
    graph : str or networkx graph
        ``complete`` (default: everyone sees the whole pool), ``path``,
        ``ring``, ``star``, or a graph whose ``i``-th node is agent ``i``.  On
        another graph agent ``i`` sees ``X_0`` and the posts of itself and its
        in-neighbours (on a directed graph ``u -> v`` means ``v`` reads
        ``u``).  Edge weights are not used.
    initial_weights : (m, K) array_like, optional
        Start weights (rows on the simplex) instead of Dirichlet draws.
    initial_pool : (n0, d) array_like, optional
        ``X_0`` itself instead of draws from the reference mixture.
    reference_weights : (K,) array_like, optional
        Weights of the reference mixture ``X_0`` is drawn from (default
        uniform ``1/K``).

    Examples
    --------
    >>> s = ContinuousSystem(agents=3)
    >>> s.means.tolist(), s.covariance.tolist(), retrieval_size(s, 23)
    ([[0.0], [4.0]], [[1.0]], 3)
    >>> ContinuousSystem(components=2, prune_c=0.5)
    Traceback (most recent call last):
    ...
    markovgmm.errors.InputError: prune_c must satisfy components * prune_c < 1, got prune_c=0.5 with components=2
    """

    agents: int = DEFAULTS["agents"]
    components: int = DEFAULTS["components"]
    dim: int = DEFAULTS["dim"]
    means: object = None
    covariance: object = None
    separation: float = DEFAULTS["separation"]
    n0: int = DEFAULTS["n0"]
    n_post: int = DEFAULTS["n_post"]
    lam: object = DEFAULTS["lam"]
    alpha: float = DEFAULTS["alpha"]
    prune_c: float = DEFAULTS["prune_c"]
    beta: object = DEFAULTS["beta"]
    graph: object = DEFAULTS["graph"]
    initial_weights: object = None
    initial_pool: object = None
    reference_weights: object = None
    visible: np.ndarray = field(init=False, repr=False)
    cholesky: np.ndarray = field(init=False, repr=False)
    precision: np.ndarray = field(init=False, repr=False)
    graph_name: str = field(init=False, repr=False)

    def __post_init__(self):
        set_ = object.__setattr__
        m = _positive_int(self.agents, "agents", 1, MAX_AGENTS)
        K = _positive_int(self.components, "components", 2, MAX_COMPONENTS)
        set_(self, "agents", m)
        set_(self, "components", K)
        set_(self, "n_post", _positive_int(self.n_post, "n_post", 1, MAX_POOL))
        alpha = _finite_float(self.alpha, "alpha")
        if not 0 < alpha <= 1:
            raise InputError(f"alpha must be in (0, 1], got {alpha}")
        set_(self, "alpha", alpha)
        c = _finite_float(self.prune_c, "prune_c")
        if c < 0:
            raise InputError(f"prune_c must be >= 0, got {c}")
        if K * c >= 1:
            raise InputError(f"prune_c must satisfy components * prune_c < 1, got prune_c={c} with components={K}")
        set_(self, "prune_c", c)
        lam = to_fraction(self.lam, name="lam")
        if not 0 <= lam <= 1:
            raise InputError(f"lam must be in [0, 1], got {float(lam)}")
        set_(self, "lam", lam)
        self._set_geometry(K)
        d = self.means.shape[1]
        beta = np.broadcast_to(np.asarray(self.beta, dtype=float), (K,)) if np.ndim(self.beta) == 0 else np.asarray(self.beta, dtype=float)
        if beta.shape != (K,) or not np.all(np.isfinite(beta)) or np.any(beta <= 0):
            raise InputError(f"beta must be a positive number or {K} positive numbers, got {self.beta!r}")
        set_(self, "beta", beta.copy())
        set_(self, "initial_weights", self._simplex_rows(self.initial_weights, (m, K), "initial_weights"))
        reference = np.full((1, K), 1.0 / K) if self.reference_weights is None else self._simplex_rows(
            np.reshape(np.asarray(self.reference_weights, dtype=float), (1, -1)), (1, K), "reference_weights")
        set_(self, "reference_weights", reference[0])
        if self.initial_pool is not None:
            pool = np.asarray(self.initial_pool, dtype=float)
            if pool.ndim == 1 and d == 1:
                pool = pool[:, None]
            if pool.ndim != 2 or pool.shape[1] != d or not np.all(np.isfinite(pool)):
                raise InputError(f"initial_pool must be an (n0, {d}) array of finite numbers, got shape {pool.shape}")
            set_(self, "initial_pool", pool)
            set_(self, "n0", pool.shape[0])
        else:
            set_(self, "n0", _positive_int(self.n0, "n0", 0, MAX_POOL))
        self._set_graph(m)

    def _set_geometry(self, K):
        set_ = object.__setattr__
        if self.means is None:
            d = _positive_int(self.dim, "dim", 1, MAX_DIM)
            if K * d > MAX_MEAN_ENTRIES:
                raise InputError(f"dim: components x dim must be at most {MAX_MEAN_ENTRIES:,}, got {K:,} x {d:,}")
            separation = _finite_float(self.separation, "separation")
            if separation <= 0:
                raise InputError(f"separation must be > 0, got {separation}")
            if separation * (K - 1) > MAX_SPREAD:
                raise InputError(
                    f"separation must be > 0 with separation x (components - 1) <= {MAX_SPREAD:g} "
                    f"(farther means overflow float64 likelihoods), got {separation:g} with components={K}"
                )
            means = np.zeros((K, d))
            means[:, 0] = separation * np.arange(K)
        else:
            means = np.asarray(self.means, dtype=float)
            if means.ndim == 1:
                means = means[:, None]
            if means.ndim != 2 or means.shape[0] != K or not np.all(np.isfinite(means)):
                raise InputError(f"means must be a ({K}, d) array of finite numbers (one mean per component), got shape {means.shape}")
            if means.shape[1] > MAX_DIM or np.abs(means).max() > MAX_SPREAD:
                raise InputError(f"means must have dimension <= {MAX_DIM} and entries of size <= {MAX_SPREAD:g}")
            d = means.shape[1]
        set_(self, "dim", d)
        set_(self, "means", means)
        cov = np.eye(d) if self.covariance is None else np.asarray(self.covariance, dtype=float)
        if cov.ndim == 0 and d == 1:
            cov = cov.reshape(1, 1)
        if cov.shape != (d, d) or not np.all(np.isfinite(cov)):
            raise InputError(f"covariance must be a {d} x {d} matrix of finite numbers, got shape {cov.shape}")
        if not np.allclose(cov, cov.T, rtol=1e-12, atol=0):
            raise InputError("covariance must be symmetric positive definite; it is not symmetric")
        try:
            chol = np.linalg.cholesky(cov)
        except np.linalg.LinAlgError:
            raise InputError("covariance must be symmetric positive definite; Cholesky factorisation failed") from None
        set_(self, "covariance", cov)
        set_(self, "cholesky", chol)
        set_(self, "precision", np.linalg.inv(cov))

    @staticmethod
    def _simplex_rows(value, shape, name):
        if value is None:
            return None
        rows = np.asarray(value, dtype=float)
        if rows.shape != shape or not np.all(np.isfinite(rows)) or np.any(rows < 0):
            raise InputError(f"{name} must be a {shape} array of nonnegative numbers, got {np.shape(value)}")
        if not np.allclose(rows.sum(axis=1), 1.0, rtol=0, atol=1e-12):
            raise InputError(f"{name}: every row must sum to 1 (a point of the simplex)")
        return rows / rows.sum(axis=1, keepdims=True)

    def _set_graph(self, m):
        import networkx as nx

        set_ = object.__setattr__
        graph = self.graph
        if isinstance(graph, str):
            set_(self, "graph_name", graph)
            if graph == "complete":
                set_(self, "visible", None)
                return
            graph = graph_from_name(graph, m)
        elif isinstance(graph, nx.Graph):
            set_(self, "graph_name", "custom")
        else:
            raise InputError(f"graph must be complete, path, ring, star or a networkx graph, got {type(graph).__name__}")
        nodes = list(graph.nodes())
        if len(nodes) != m:
            raise InputError(f"graph: has {len(nodes)} nodes but agents={m}; it needs exactly one node per agent")
        index = {node: i for i, node in enumerate(nodes)}
        visible = np.eye(m, dtype=bool)
        for reader in nodes:
            authors = graph.predecessors(reader) if graph.is_directed() else graph.neighbors(reader)
            for author in authors:
                visible[index[reader], index[author]] = True
        set_(self, "visible", None if visible.all() else visible)

    def parameters(self):
        """The parameters as plain data (for JSON)."""
        return {
            "agents": self.agents,
            "components": self.components,
            "dim": self.dim,
            "means": self.means.tolist(),
            "covariance": self.covariance.tolist(),
            "n0": self.n0,
            "n_post": self.n_post,
            "lam": str(self.lam),
            "alpha": self.alpha,
            "prune_c": self.prune_c,
            "beta": self.beta.tolist(),
            "graph": self.graph_name,
            "initial_weights": None if self.initial_weights is None else self.initial_weights.tolist(),
            "initial_pool": "given" if self.initial_pool is not None else "drawn from the reference mixture",
            "reference_weights": self.reference_weights.tolist(),
        }


def retrieval_size(system, pool_size):
    """``k = ceil(lambda * |X|)``, computed exactly (``lambda`` is rational).

    >>> retrieval_size(ContinuousSystem(lam="1/10"), 30), retrieval_size(ContinuousSystem(lam=0.1), 31)
    (3, 4)
    """
    return ceil(system.lam * pool_size)


def zivkovic_update(weights, log_likelihood, alpha, prune_c):
    """One Zivkovic & van der Heijden step with positive normalisation (MODEL.md 1).

    Parameters
    ----------
    weights : (..., K) array
        Current weights (rows on the simplex).
    log_likelihood : (..., K) array
        ``log N(x; mu_k, Sigma)`` of the retrieved point, up to a constant
        common to the components.
    alpha, prune_c : float
        Rate ``alpha`` and pruning constant ``c``.

    Returns
    -------
    (..., K) array
        ``pi_k + alpha (o_k / (1 - K c) - pi_k) - alpha c / (1 - K c)``, with
        negative entries set to 0 and the row renormalised.

    Notes
    -----
    The ownership ``o_k = pi_k N_k(x) / sum_j pi_j N_j(x)`` is a softmax of
    ``log pi_k + log N_k(x)``; a component with ``pi_k = 0`` owns nothing.
    Before clipping the entries sum to exactly ``1`` (the ``c`` terms cancel),
    so some entry is positive and the renormalisation is well defined.  With
    ``c = 0`` the update is ``(1 - alpha) pi + alpha o``.

    Examples
    --------
    >>> w = zivkovic_update(np.array([0.5, 0.5]), np.array([0.0, 0.0]), 0.1, 0.0)
    >>> w.tolist()
    [0.5, 0.5]
    >>> zivkovic_update(np.array([0.01, 0.99]), np.array([-50.0, 0.0]), 0.5, 0.1).tolist()
    [0.0, 1.0]
    """
    K = weights.shape[-1]
    with np.errstate(divide="ignore"):
        score = np.log(weights) + log_likelihood
    score = score - score.max(axis=-1, keepdims=True)
    owner = np.exp(score)
    owner /= owner.sum(axis=-1, keepdims=True)
    scale = 1.0 / (1.0 - K * prune_c)
    new = weights + alpha * (owner * scale - weights) - alpha * prune_c * scale
    np.maximum(new, 0.0, out=new)
    return new / new.sum(axis=-1, keepdims=True)


def distance_matrices(weights):
    """``D[..., i, j] = ||pi_i - pi_j||_2`` and ``||D||_F`` (seed 002, eq. 4).

    >>> D, F = distance_matrices(np.array([[1.0, 0.0], [0.0, 1.0]]))
    >>> D.round(6).tolist(), round(float(F), 6)
    ([[0.0, 1.414214], [1.414214, 0.0]], 2.0)
    """
    diff = weights[..., :, None, :] - weights[..., None, :, :]
    D = np.sqrt(np.einsum("...k,...k->...", diff, diff))
    return D, np.sqrt(np.einsum("...ij,...ij->...", D, D))


def outcome_of_weights(weights, tolerance=VERTEX_TOLERANCE):
    """Classify the agents' weights like MODEL.md 3 classifies closed classes.

    Parameters
    ----------
    weights : (..., m, K) array
    tolerance : float
        Weights at or below it count as 0 (default 0: only pruned weights).

    Returns
    -------
    outcome : (...) array of str
        ``"consensus"`` (all agents at the same vertex), ``"polarised"`` (all
        at vertices, at least two distinct) or ``"interior"`` (some agent is
        not at a vertex, i.e. not frozen).
    labels : (..., m) int array
        The vertex of each agent, ``-1`` when it is not at one.

    Examples
    --------
    >>> outcome_of_weights(np.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]]))[0].tolist()
    ['polarised', 'consensus']
    """
    weights = np.asarray(weights, dtype=float)
    support = weights > tolerance
    at_vertex = support.sum(axis=-1) == 1
    labels = np.where(at_vertex, np.argmax(weights, axis=-1), -1)
    all_vertex = at_vertex.all(axis=-1)
    same = (labels == labels[..., :1]).all(axis=-1)
    outcome = np.where(all_vertex, np.where(same, "consensus", "polarised"), "interior")
    return outcome, labels


def matched_to_chain(system, start, **overrides):
    """The continuous system that the memory-replacement chain ``system`` discretises.

    Parameters
    ----------
    system : markovgmm.system.System
        The chain (MODEL.md 2), ``r`` items replaced out of ``N``.
    start : tuple of count tuples
        The chain's start state; the continuous start weights are ``c_i / N``.
    **overrides
        Any :class:`ContinuousSystem` argument, e.g. ``prune_c=0.3``.

    Returns
    -------
    ContinuousSystem
        Same agents, ``K`` and named graph; ``alpha = r / N``; one retrieved
        point per step (``lambda = 10^-12``, so ``ceil(lambda |X|) = 1``), so
        that one continuous step is one Zivkovic update per agent, as one
        (``sync``) chain step replaces ``r`` items of every agent; an empty
        initial pool; well-separated components (means ``0, 20, 40, ...``,
        ``Sigma = I``), the regime whose limit is the ``support`` ownership;
        ``c = 0`` unless overridden (take ``c > 0`` to let agents freeze).
        The continuous agents update synchronously: compare with ``sync``
        chains.

    Notes
    -----
    What agrees and what does not is stated in the README ("Continuous
    simulator and the chain") and tested in ``tests/test_simulate_continuous.py``:
    the one-step mean from a chain state, absorption at vertices, the order
    of P(polarisation) over starts and its orientation agree; the value of
    P(polarisation) does not.

    Examples
    --------
    >>> from markovgmm import System
    >>> c = matched_to_chain(System(agents=2, components=2, memory=4), ((3, 1), (1, 3)), prune_c=0.1)
    >>> c.alpha, c.initial_weights.tolist(), c.n0, retrieval_size(c, 10**6), c.prune_c
    (0.25, [[0.75, 0.25], [0.25, 0.75]], 0, 1, 0.1)
    """
    state = system.check_state(start)
    N = system.memory
    settings = dict(
        agents=system.agents,
        components=system.components,
        alpha=system.replace / N,
        lam=Fraction(1, 10**12),
        n0=0,
        separation=20.0,
        initial_weights=[[count / N for count in counts] for counts in state],
    )
    if system.graph_name not in ("complete", "matrix", "custom"):
        settings["graph"] = system.graph_name
    settings.update(overrides)
    return ContinuousSystem(**settings)


@dataclass(eq=False)
class ContinuousRun:
    """The record of :func:`simulate_system`.

    Attributes
    ----------
    system : ContinuousSystem
    weights : (R, steps + 1, m, K) float array
        ``weights[r, t, i]`` is ``pi_i^t`` in replicate ``r``.
    distances : (R, steps + 1, m, m) float array
        ``D_t`` (seed 002, eq. 4).
    frobenius : (R, steps + 1) float array
        ``||D_t||_F``.
    retrieved : (steps,) int array
        ``k_t`` for ``t = 1..steps`` (visible pools may cap it, see Notes of
        :func:`simulate_system`).
    seed : int
        Entropy of the root seed sequence (reproduces the run).
    """

    system: ContinuousSystem
    weights: np.ndarray
    distances: np.ndarray
    frobenius: np.ndarray
    retrieved: np.ndarray
    seed: int

    @property
    def replicates(self):
        return self.weights.shape[0]

    @property
    def steps(self):
        return self.weights.shape[1] - 1

    def outcomes(self, t=-1):
        """:func:`outcome_of_weights` of every replicate at step ``t`` (default the last)."""
        return outcome_of_weights(self.weights[:, t])

    def report(self):
        """Plain-data summary: parameters, final weights, ``||D_t||_F`` per replicate, outcomes."""
        outcome, labels = self.outcomes()
        return {
            "parameters": {**self.system.parameters(), "steps": self.steps, "replicates": self.replicates, "seed": self.seed},
            "retrieved": self.retrieved,
            "final_weights": self.weights[:, -1],
            "frobenius": self.frobenius,
            "final_outcome": outcome.tolist(),
            "final_vertex": labels,
        }


def simulate_system(system, steps=DEFAULTS["steps"], replicates=1, seed=None, quiet=True):
    """Simulate a :class:`ContinuousSystem` (MODEL.md 1).

    Parameters
    ----------
    system : ContinuousSystem
    steps : int
        Number of steps ``T >= 0`` (default 60).
    replicates : int
        Independent replicates ``R >= 1``.
    seed : int, numpy SeedSequence or None
        Root seed; replicate ``r`` uses its own generator, made from the
        ``r``-th child of ``SeedSequence(seed).spawn(R)``, so replicate ``r``
        does not depend on ``R``.  ``None`` draws fresh entropy (kept in
        ``run.seed``).
    quiet : bool
        No progress bar (default; bars are also off when stderr is not a terminal).

    Returns
    -------
    ContinuousRun

    Notes
    -----
    Per replicate, in this order: initial weights ``pi_i^0 ~ Dirichlet(beta)``
    (unless given), ``X_0`` from the reference mixture (unless given), then
    for ``t = 0..T-1``:

    1. each agent posts ``n_post`` points ``x = mu_k + L z`` (``k ~ pi_i^t``,
       ``z ~ N(0, I)``, ``L L^T = Sigma``), giving ``X_{t+1}``;
    2. ``k = ceil(lambda |X_{t+1}|)`` (exact), and each agent retrieves
       ``min(k, visible)`` points uniformly without replacement from what it
       sees (on the complete graph ``visible = |X_{t+1}|``), in uniformly
       random order (the ``k`` smallest of i.i.d. uniform keys);
    3. each agent applies :func:`zivkovic_update` once per retrieved point, in
       that order; all agents update from the same ``X_{t+1}`` (synchronous).

    ``log N(x; mu_k, Sigma)`` is stored as ``-(x - mu_k)^T Sigma^{-1} (x -
    mu_k) / 2`` (the normalising constant is common to all components and
    cancels in the ownership).  Replicates are simulated side by side in
    batches (every array has a leading replicate axis; only the random draws
    loop over the replicates' generators).  Cost per step and replicate:
    ``O(|X| m)`` for retrieval and ``O(k m K)`` for the updates.

    Examples
    --------
    >>> run = simulate_system(ContinuousSystem(agents=3), steps=5, replicates=2, seed=1)
    >>> run.weights.shape, run.frobenius.shape, run.retrieved.tolist()
    ((2, 6, 3, 2), (2, 6), [3, 3, 3, 4, 4])
    >>> bool(np.allclose(run.weights.sum(axis=-1), 1.0))
    True
    """
    steps = _positive_int(steps, "steps", 0, MAX_STEPS)
    replicates = _positive_int(replicates, "replicates", 1, MAX_REPLICATES)
    check_run_size(system, steps, replicates)
    if seed is not None and not isinstance(seed, np.random.SeedSequence) and (
        isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0
    ):
        raise InputError(f"seed must be a nonnegative integer, got {seed!r}")
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    generators = [np.random.default_rng(child) for child in root.spawn(replicates)]
    m, K = system.agents, system.components
    weights = np.empty((replicates, steps + 1, m, K))
    retrieved = np.array([retrieval_size(system, system.n0 + (t + 1) * m * system.n_post) for t in range(steps)], dtype=np.int64)
    capacity = system.n0 + steps * m * system.n_post
    batch = max(1, min(replicates, _BATCH_FLOATS // max(1, m * capacity + capacity * K)))
    with progress_bar(replicates * steps, "simulating", quiet=quiet, unit="step") as bar:
        for first in range(0, replicates, batch):
            chunk = slice(first, min(first + batch, replicates))
            _run_batch(system, steps, generators[chunk], weights[chunk], bar)
    distances, frobenius = distance_matrices(weights)
    return ContinuousRun(system, weights, distances, frobenius, retrieved, int(root.entropy))


def run_cost(system, steps, replicates):
    """Closed-form size of a run: ``(bytes, work)``, from the parameters only.

    Bytes: the weights ``R (T+1) m K``, the distance matrices and their
    differences ``R (T+1) m^2 (K+1)`` and a batch's pool; work: retrieval
    ``|X_t| m`` and ``ceil(lambda |X_t|) m K`` updates per step and replicate.
    """
    m, K, d = system.agents, system.components, system.dim
    final_pool = system.n0 + steps * m * system.n_post
    entries = replicates * (steps + 1) * (m * K + m * m * (K + 1) + 1)
    pool_bytes = 8 * min(replicates, 64) * final_pool * (d + m + K)
    retrieved = float(system.lam) * final_pool + 1
    work = replicates * steps * (final_pool * m + retrieved * m * K)
    return 8 * entries + pool_bytes, work


def check_run_size(system, steps, replicates):
    """Refuse a run over :data:`MAX_BYTES` or :data:`MAX_WORK` before anything is allocated."""
    m, n_post = system.agents, system.n_post
    final_pool = system.n0 + steps * m * n_post
    if final_pool > MAX_POOL:
        raise InputError(
            f"steps: the pool grows to n0 + steps x agents x n_post = {final_pool:,} points, over the limit of {MAX_POOL:,}; "
            "use fewer steps, agents or posts"
        )
    need, work = run_cost(system, steps, replicates)
    if need > MAX_BYTES:
        raise InputError(
            f"replicates: replicates x steps x agents^2 x components needs about {need / 2**30:,.1f} GiB, over the "
            f"{MAX_BYTES / 2**30:.0f} GiB limit; use fewer replicates, steps or agents"
        )
    if work > MAX_WORK:
        raise InputError(
            f"steps: the run takes about {work:.1e} operations (replicates x steps x pool x agents), over the limit of "
            f"{MAX_WORK:.0e}; use fewer replicates, steps, agents or a smaller lambda"
        )


_BATCH_FLOATS = 2**22  # about 32 MiB of float64 work arrays per batch of replicates


def _log_likelihood(system, points):
    diff = points[..., None, :] - system.means
    return -0.5 * np.einsum("...kd,de,...ke->...k", diff, system.precision, diff)


def _components(weights, uniforms):
    """Component of each draw: ``weights`` (..., K), ``uniforms`` (..., n) -> (..., n)."""
    cumulative = np.cumsum(weights, axis=-1)
    cumulative[..., -1] = 1.0
    return (uniforms[..., :, None] > cumulative[..., None, :]).sum(axis=-1)


def _run_batch(system, steps, generators, out, bar):
    """Simulate ``len(generators)`` replicates side by side into ``out`` (R, steps + 1, m, K)."""
    R = len(generators)
    m, K, d, n_post, n0 = system.agents, system.components, system.dim, system.n_post, system.n0
    alpha, c = system.alpha, system.prune_c
    capacity = n0 + steps * m * n_post
    loglik = np.empty((R, capacity, K))
    author = np.full(capacity, -1, dtype=np.int64)  # the same in every replicate
    if system.initial_weights is not None:
        pi = np.broadcast_to(system.initial_weights, (R, m, K)).copy()
    else:
        pi = np.stack([g.dirichlet(system.beta, size=m) for g in generators])
    if system.initial_pool is not None:
        loglik[:, :n0] = _log_likelihood(system, system.initial_pool)
    elif n0:
        for r, g in enumerate(generators):
            comps = _components(system.reference_weights, g.random(n0))
            points = system.means[comps] + g.standard_normal((n0, d)) @ system.cholesky.T
            loglik[r, :n0] = _log_likelihood(system, points)
    size = n0
    out[:, 0] = pi
    rows = np.arange(R)[:, None, None]
    new_authors = np.repeat(np.arange(m), n_post)
    uniforms, normals = np.empty((R, m, n_post)), np.empty((R, m * n_post, d))
    for t in range(steps):
        for r, g in enumerate(generators):
            g.random(out=uniforms[r])
            g.standard_normal(out=normals[r])
        comps = _components(pi, uniforms).reshape(R, m * n_post)
        posts = system.means[comps] + normals @ system.cholesky.T
        loglik[:, size : size + m * n_post] = _log_likelihood(system, posts)
        author[size : size + m * n_post] = new_authors
        size += m * n_post
        k = retrieval_size(system, size)
        keys = np.empty((R, m, size))
        for r, g in enumerate(generators):
            g.random(out=keys[r])
        if system.visible is None:
            take = np.full(m, min(k, size))
        else:
            seen = (author[None, :size] < 0) | system.visible[:, np.maximum(author[:size], 0)]
            keys[:, ~seen] = 2.0  # never among the k smallest of the visible points
            take = np.minimum(k, seen.sum(axis=1))
        kmax = int(take.max())
        if kmax > 0:
            if kmax == 1:  # the smallest key; argmin is much cheaper than a partition
                chosen = np.argmin(keys, axis=-1)[..., None]
            elif kmax < size:
                chosen = np.argpartition(keys, kmax - 1, axis=-1)[..., :kmax]
            else:
                chosen = np.broadcast_to(np.arange(size), (R, m, size))
            order = np.argsort(np.take_along_axis(keys, chosen, axis=-1), axis=-1)
            chosen = np.take_along_axis(chosen, order, axis=-1)
            lls = loglik[rows, chosen]  # (R, m, kmax, K)
            full = bool((take == kmax).all())
            for j in range(kmax):
                new = zivkovic_update(pi, lls[:, :, j, :], alpha, c)
                pi = new if full else np.where((j < take)[None, :, None], new, pi)
        out[:, t + 1] = pi
        bar.update(R)


def simulate(steps=DEFAULTS["steps"], replicates=1, seed=None, quiet=True, **system_kwargs):
    """Simulate the continuous interacting-GMM system: :class:`ContinuousSystem`
    from ``system_kwargs``, then :func:`simulate_system`.

    Defaults (seed 002's setting, MODEL.md 1): 3 agents, ``K = 2``, ``d = 1``,
    means ``0, 4``, ``Sigma = I``, ``n0 = 20`` points from the uniform
    reference mixture, ``n_post = 1``, ``lambda = 1/10``, ``alpha = 0.05``,
    ``c = 0``, ``beta = 1``, 60 steps, complete graph.

    Examples
    --------
    >>> a = simulate(steps=10, replicates=3, seed=7)
    >>> b = simulate(steps=10, replicates=3, seed=7)
    >>> bool(np.array_equal(a.weights, b.weights)), a.frobenius.shape
    (True, (3, 11))
    """
    return simulate_system(ContinuousSystem(**system_kwargs), steps=steps, replicates=replicates, seed=seed, quiet=quiet)
