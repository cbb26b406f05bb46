"""Monte Carlo of the memory-replacement chain (MODEL.md 2-3), by actual draws.

An agent-based simulation of the chain itself, written independently of the
transition-matrix code (it never builds or reads transition probabilities):
the memories of ``R`` runs are held as label counts, an array of shape
``(R, m, K)``, and every step makes the draws MODEL.md 2 describes:

1. for each of the ``r`` incoming posts, the author ``j ~ W[i, .]`` (drawn
   exactly, as an integer below the common denominator of ``W``) and then a
   uniformly chosen item of the author's memory, whose label is the post's
   true component ``k`` (so ``k ~ q_i``);
2. the post's label under the ownership rule, from the memory *before* this
   step's removal: ``support`` (``k`` if held, else the nearest held
   component, :func:`markovgmm.chain.laws.nearest_support_labels`), ``open``
   (``k``) or ``gaussian`` (a real point ``x ~ N(mu_k, Sigma)`` labelled by a
   draw from the agent's posterior ``o(x; c/N)``);
3. ``r`` items removed one at a time uniformly without replacement (a
   multivariate hypergeometric removal) and the ``r`` new labels added;
4. pruning with threshold ``tau``: components with ``0 < c_k <= tau`` are
   dropped and each of their items relabelled independently to a surviving
   component with probability proportional to the surviving counts.

Under ``sync`` every agent updates from the same pre-step state; under
``async`` one uniformly chosen agent per run updates.  Everything is
vectorised across runs with one seeded :class:`numpy.random.Generator`;
runs that are absorbed leave the working set.

Absorption (MODEL.md 3).  Under ``support`` and ``gaussian`` an agent at a
vertex is frozen, so a run is absorbed when every agent is at a vertex.
Under ``open`` an all-vertex state is absorbing iff every agent reads only
authors holding its own label; when the chain has at most ``closed_limit``
states its closed classes are computed (from the chain's transition graph,
structure only) so that ``other`` classes are detected as well; otherwise
runs that never reach an absorbing state stop at ``max_steps`` and are
reported as unabsorbed.

Intervals are Clopper-Pearson (exact binomial, default) or Wilson at level
``level`` (99.9% by default).  Unabsorbed runs are accounted for
conservatively: the lower end uses the polarised runs only, the upper end
counts every unabsorbed run as polarised, so the interval covers the
absorption probability at the stated level whatever those runs would have
done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import lcm, sqrt

import numpy as np

from ..errors import InputError

__all__ = ["ChainMCResult", "simulate_chain", "binomial_interval", "step_memories"]


def binomial_interval(successes, trials, level=0.999, method="clopper-pearson"):
    """Two-sided confidence interval for a binomial proportion.

    Parameters
    ----------
    successes, trials : int
    level : float
        Confidence level in (0, 1).
    method : {"clopper-pearson", "wilson"}
        Clopper-Pearson inverts the binomial tests exactly (coverage at least
        ``level``); Wilson inverts the normal score test (coverage close to
        ``level``).

    Returns
    -------
    (float, float)

    Examples
    --------
    >>> lo, hi = binomial_interval(50, 100, 0.95)
    >>> round(lo, 4), round(hi, 4)
    (0.3983, 0.6017)
    >>> binomial_interval(0, 10, 0.95)[0]
    0.0
    """
    from scipy.stats import beta, norm

    if not 0 < level < 1:
        raise InputError(f"level must be in (0, 1), got {level}")
    if trials <= 0:
        return (0.0, 1.0)
    alpha = 1 - level
    if method == "clopper-pearson":
        # Beta quantiles, not scipy.stats.binomtest(k, n).proportion_ci(method="exact"): that
        # root-finds the same end points about 24x slower (20 ms vs 0.9 ms per call, measured)
        # and is off by up to 4e-13 against 40-digit mpmath; this form is within 3e-16.  The
        # upper end point is isf(alpha / 2), not ppf(1 - alpha / 2), which loses ~1e-12 to
        # the cancellation in 1 - alpha / 2 (tests/test_library_swaps.py).
        lo = 0.0 if successes == 0 else float(beta.ppf(alpha / 2, successes, trials - successes + 1))
        hi = 1.0 if successes == trials else float(beta.isf(alpha / 2, successes + 1, trials - successes))
        return (lo, hi)
    if method == "wilson":
        z = float(norm.ppf(1 - alpha / 2))
        p = successes / trials
        centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
        half = z * sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
        return (max(0.0, centre - half), min(1.0, centre + half))
    raise InputError(f"interval must be clopper-pearson or wilson, got {method!r}")


@dataclass
class ChainMCResult:
    """Outcome counts of a chain Monte Carlo.

    Attributes
    ----------
    runs : int
    polarized : int
        Runs absorbed in a polarised class (field and JSON key spelt with
        ``z`` like every JSON key, docs/json.md).
    consensus_by_component : list of int
        Runs absorbed in the consensus at vertex ``k``.
    other : int
        Runs absorbed in a closed class that is neither (``open`` only).
    unabsorbed : int
        Runs still transient after ``max_steps`` steps.
    steps_sum, steps_sq_sum : int
        Sum and sum of squares of the absorption times of absorbed runs.
    level : float
    interval : str
    max_steps : int
    seed : int or None
    """

    runs: int
    polarized: int
    consensus_by_component: list
    other: int
    unabsorbed: int
    steps_sum: int
    steps_sq_sum: int
    level: float
    interval: str
    max_steps: int
    seed: object = None
    extra: dict = field(default_factory=dict)

    @property
    def absorbed(self):
        return self.runs - self.unabsorbed

    @property
    def consensus(self):
        return int(sum(self.consensus_by_component))

    def frequency(self, count):
        return count / self.runs if self.runs else float("nan")

    def interval_of(self, count):
        """Interval for P(event) from ``count`` runs that ended in it; the
        unabsorbed runs widen the upper end (see the module notes)."""
        lo, _ = binomial_interval(count, self.runs, self.level, self.interval)
        _, hi = binomial_interval(min(count + self.unabsorbed, self.runs), self.runs, self.level, self.interval)
        return (lo, hi)

    @property
    def mean_steps(self):
        """Mean absorption time of the absorbed runs (NaN if none)."""
        return self.steps_sum / self.absorbed if self.absorbed else float("nan")

    @property
    def steps_standard_error(self):
        n = self.absorbed
        if n < 2:
            return float("nan")
        mean = self.steps_sum / n
        var = max(self.steps_sq_sum / n - mean * mean, 0.0) * n / (n - 1)
        return sqrt(var / n)

    def to_dict(self):
        """Plain dict (the ``simulate-chain`` JSON keys, docs/json.md)."""
        out = {
            "runs": self.runs,
            "seed": self.seed,
            "level": self.level,
            "interval": self.interval,
            "max_steps": self.max_steps,
            "absorbed": self.absorbed,
            "unabsorbed": self.unabsorbed,
            "polarized_runs": self.polarized,
            "polarization_frequency": self.frequency(self.polarized),
            "polarization_ci": list(self.interval_of(self.polarized)),
            "consensus_runs": self.consensus,
            "consensus_frequency": self.frequency(self.consensus),
            "consensus_ci": list(self.interval_of(self.consensus)),
            "consensus_by_component_runs": [int(c) for c in self.consensus_by_component],
            "consensus_by_component_frequency": [self.frequency(c) for c in self.consensus_by_component],
            "other_runs": self.other,
            "other_frequency": self.frequency(self.other),
            "mean_steps": self.mean_steps,
            "mean_steps_standard_error": self.steps_standard_error,
        }
        out.update(self.extra)
        return out


class _Sampler:
    """The draws of one step (MODEL.md 2), for a batch of (run, agent) pairs."""

    def __init__(self, system, rng):
        self.system = system
        self.rng = rng
        K = system.components
        self.N, self.K, self.r, self.tau = system.memory, K, system.replace, system.prune
        den = 1
        for row in system.W:
            for x in row:
                den = lcm(den, x.denominator)
        self.w_den = den
        # Cumulative integer numerators of each row of W: author j iff cum[j-1] <= u < cum[j].
        self.w_cum = np.cumsum(np.array([[int(x * den) for x in row] for row in system.W], dtype=np.int64), axis=1)
        self.ownership = system.ownership
        if self.ownership == "support":
            from ..chain.laws import nearest_support_labels

            self.nearest = nearest_support_labels(system)
            self.bits = 1 << np.arange(K)
        elif self.ownership == "gaussian":
            means = np.array([[float(x) for x in mu] for mu in system.means])
            cov = np.array([[float(x) for x in row] for row in system.covariance])
            chol = np.linalg.cholesky(cov)
            # Whitened means nu = L^{-1} mu: x = mu_k + L z gives |L^{-1}(x - mu_j)| = |nu_k + z - nu_j|.
            self.whitened = np.linalg.solve(chol, means.T).T  # (K, d)

    def _pick(self, counts, total):
        """Label of a uniformly chosen item of each memory row (``counts`` (P, K))."""
        u = self.rng.integers(0, total, size=len(counts)) if np.ndim(total) == 0 else self.rng.integers(0, total)
        return (np.cumsum(counts, axis=1) <= u[:, None]).sum(axis=1)

    def _label(self, own, true):
        if self.ownership == "open":
            return true
        if self.ownership == "support":
            masks = (own > 0) @ self.bits
            return self.nearest[masks, true]
        # gaussian: draw x ~ N(mu_true, Sigma) in whitened coordinates, label ~ posterior o(x; c/N).
        nu = self.whitened
        y = nu[true] + self.rng.standard_normal((len(true), nu.shape[1]))
        with np.errstate(divide="ignore"):
            logits = np.log(own / self.N) - 0.5 * ((y[:, None, :] - nu[None, :, :]) ** 2).sum(axis=2)
        logits -= logits.max(axis=1, keepdims=True)
        weights = np.exp(logits)
        cum = np.cumsum(weights, axis=1)
        u = self.rng.random(len(true)) * cum[:, -1]
        return np.minimum((cum <= u[:, None]).sum(axis=1), self.K - 1)

    def update(self, state, runs, agents):
        """New memories (P, K) of the pairs ``(runs[p], agents[p])`` from ``state`` (R, m, K)."""
        N, r = self.N, self.r
        own = state[runs, agents]  # (P, K), memory before this step
        P = len(runs)
        labels = np.empty((P, r), dtype=np.int64)
        for t in range(r):
            u = self.rng.integers(0, self.w_den, size=P)
            author = (self.w_cum[agents] <= u[:, None]).sum(axis=1)
            true = self._pick(state[runs, author], N)
            labels[:, t] = self._label(own, true)
        new = own.copy()
        rows = np.arange(P)
        for t in range(r):  # removal without replacement, one item at a time
            gone = self._pick(new, N - t)
            new[rows, gone] -= 1
        for t in range(r):
            new[rows, labels[:, t]] += 1
        if self.tau:
            new = self._prune(new)
        return new

    def _prune(self, new):
        dropped = (new > 0) & (new <= self.tau)
        n_drop = np.where(dropped, new, 0).sum(axis=1)
        hit = np.flatnonzero(n_drop)
        if len(hit) == 0:
            return new
        survivors = np.where(new[hit] > self.tau, new[hit], 0)
        total = survivors.sum(axis=1)
        moved = survivors.copy()
        for t in range(int(n_drop[hit].max())):
            active = np.flatnonzero(n_drop[hit] > t)
            gets = self._pick(survivors[active], total[active])
            moved[active, gets] += 1
        new[hit] = moved
        return new


def _closed_lookup(system, closed_limit):
    """``(class_of, kinds, components)`` from the chain's closed classes when
    the chain is small and ownership is ``open``, else None."""
    if system.ownership != "open" or system.n_states > closed_limit:
        return None
    from ..analysis.classes import closed_classes
    from ..chain.build import build_chain

    structure = closed_classes(build_chain(system, exact=False))
    kinds = np.array([{"consensus": 0, "polarised": 1, "other": 2}[c.kind] for c in structure.classes] + [-1])
    components = np.array([c.component if c.component is not None else -1 for c in structure.classes] + [-1])
    return structure.class_of, kinds, components


def step_memories(system, state, rng):
    """One chain step for an array of states (R, m, K), by actual draws.

    Returns the new states; the input is not modified.

    Examples
    --------
    >>> from markovgmm.system import System
    >>> s = System(agents=2, components=2, memory=4)
    >>> out = step_memories(s, np.array([[[4, 0], [0, 4]]]), np.random.default_rng(0))
    >>> out.tolist()  # both agents frozen at their vertices
    [[[4, 0], [0, 4]]]
    """
    sampler = _Sampler(system, rng)
    state = np.asarray(state, dtype=np.int64)
    return _step(sampler, system, state)


def _step(sampler, system, state):
    R, m, _K = state.shape
    new = state.copy()
    if system.schedule == "sync":
        runs = np.repeat(np.arange(R), m)
        agents = np.tile(np.arange(m), R)
    else:
        runs = np.arange(R)
        agents = sampler.rng.integers(0, m, size=R)
    new[runs, agents] = sampler.update(state, runs, agents)
    return new


def simulate_chain(
    system,
    start=None,
    runs=10_000,
    seed=None,
    max_steps=100_000,
    level=0.999,
    interval="clopper-pearson",
    closed_limit=20_000,
    batch=200_000,
    progress=None,
):
    """Monte Carlo of the memory-replacement chain until absorption.

    Parameters
    ----------
    system : System
    start : sequence of count vectors, optional
        Start state, one count vector per agent (default: every agent at the
        most balanced memory).
    runs : int
        Number of independent runs.
    seed : int, optional
        Seed of the :class:`numpy.random.Generator`; the same seed gives the
        same numbers.
    max_steps : int
        Runs not absorbed after this many steps are reported as unabsorbed.
    level : float
        Confidence level of the intervals (default 0.999).
    interval : {"clopper-pearson", "wilson"}
    closed_limit : int
        Under ``open``, use the chain's closed classes to detect absorption
        when it has at most this many states.
    batch : int
        Runs simulated at once (memory bound; results do not depend on it
        except through the order of random draws).
    progress : callable, optional
        Called with the number of runs finished so far.

    Returns
    -------
    ChainMCResult

    Notes
    -----
    Each step costs ``O(R_active m r K)`` vectorised operations, where
    ``R_active`` is the number of runs not yet absorbed (absorbed runs are
    dropped from the working set).  The estimates are unbiased frequencies;
    the absorption time counts chain steps, self-loops included (MODEL.md 3).
    Under ``support`` and ``gaussian`` every run is absorbed with probability
    one (every agent can reach a vertex and vertices are frozen).

    Examples
    --------
    >>> from markovgmm.system import System
    >>> result = simulate_chain(System(agents=2, components=2, memory=4), runs=2000, seed=1)
    >>> result.unabsorbed, result.polarized + result.consensus == 2000
    (0, True)
    >>> lo, hi = result.interval_of(result.polarized)
    >>> lo < 139813 / 1630674 < hi
    True
    """
    from ..system import balanced_counts

    runs = _positive_int(runs, "runs")
    max_steps = _positive_int(max_steps, "max_steps")
    batch = _positive_int(batch, "batch")
    if not 0 < level < 1:
        raise InputError(f"level must be in (0, 1), got {level}")
    if interval not in ("clopper-pearson", "wilson"):
        raise InputError(f"interval must be clopper-pearson or wilson, got {interval!r}")
    m, K, N = system.agents, system.components, system.memory
    if start is None:
        start = tuple(balanced_counts(N, K) for _ in range(m))
    start = np.array(system.check_state(start), dtype=np.int64)
    rng = np.random.default_rng(seed)
    sampler = _Sampler(system, rng)
    lookup = _closed_lookup(system, closed_limit)
    readers = [np.flatnonzero([x > 0 for x in row]) for row in system.W]
    totals = {"polarised": 0, "other": 0, "unabsorbed": 0, "steps": 0, "steps_sq": 0}
    consensus = np.zeros(K, dtype=np.int64)
    done = 0
    while done < runs:
        size = min(batch, runs - done)
        outcome = _simulate_batch(system, sampler, start, size, max_steps, lookup, readers)
        totals["polarised"] += outcome["polarised"]
        totals["other"] += outcome["other"]
        totals["unabsorbed"] += outcome["unabsorbed"]
        totals["steps"] += outcome["steps"]
        totals["steps_sq"] += outcome["steps_sq"]
        consensus += outcome["consensus"]
        done += size
        if progress is not None:
            progress(done)
    return ChainMCResult(
        runs=runs,
        polarized=totals["polarised"],
        consensus_by_component=[int(c) for c in consensus],
        other=totals["other"],
        unabsorbed=totals["unabsorbed"],
        steps_sum=totals["steps"],
        steps_sq_sum=totals["steps_sq"],
        level=level,
        interval=interval,
        max_steps=max_steps,
        seed=seed,
    )


def _positive_int(value, name):
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise InputError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _classify(system, state, lookup, readers):
    """Per run: -1 transient, else (kind, component) codes: kind 0 consensus,
    1 polarised, 2 other; component the consensus vertex or -1."""
    N = system.memory
    if lookup is not None:
        from ..chain.states import global_index, rank_counts

        R, m, K = state.shape
        ranks = rank_counts(state.reshape(R * m, K), N).reshape(R, m)
        cls = lookup[0][global_index(ranks, system.n_local_states)]
        kind = lookup[1][cls]
        component = lookup[2][cls]
        return kind, component
    at_vertex = state.max(axis=2) == N  # (R, m)
    labels = state.argmax(axis=2)
    absorbed = at_vertex.all(axis=1)
    if system.ownership == "open":  # all-vertex and everybody reads only its own label
        for i, authors in enumerate(readers):
            absorbed &= (labels[:, authors] == labels[:, i : i + 1]).all(axis=1)
    same = (labels == labels[:, :1]).all(axis=1)
    kind = np.where(absorbed, np.where(same, 0, 1), -1)
    component = np.where(absorbed & same, labels[:, 0], -1)
    return kind, component


def _simulate_batch(system, sampler, start, size, max_steps, lookup, readers):
    K = system.components
    state = np.broadcast_to(start, (size,) + start.shape).copy()
    out = {"polarised": 0, "other": 0, "unabsorbed": 0, "steps": 0, "steps_sq": 0, "consensus": np.zeros(K, np.int64)}

    def record(kind, component, steps):
        out["polarised"] += int((kind == 1).sum())
        out["other"] += int((kind == 2).sum())
        out["consensus"] += np.bincount(component[kind == 0], minlength=K)
        n = int((kind >= 0).sum())
        out["steps"] += steps * n
        out["steps_sq"] += steps * steps * n

    kind, component = _classify(system, state, lookup, readers)
    record(kind, component, 0)
    state = state[kind < 0]
    step = 0
    while len(state) and step < max_steps:
        state = _step(sampler, system, state)
        step += 1
        kind, component = _classify(system, state, lookup, readers)
        record(kind, component, step)
        state = state[kind < 0]
    out["unabsorbed"] = len(state)
    return out
