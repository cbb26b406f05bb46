"""Figures: the continuous system's collapse curves (seed 002, Figs. 4-6) and
the chain's exact polarisation landscape (MODEL.md 1-4).

Every ``plot_*`` function computes (or takes) its data, draws it with
matplotlib's object-oriented API on an Agg canvas (no pyplot, no global
state, no display needed) and saves a PNG; it returns the file's path.  The
data behind the exact figures come from separate functions
(:func:`polarization_grid`, :func:`expected_frobenius_series`) so they can be
checked on their own.

* :func:`plot_frobenius` -- ``||D_t||_F`` over time for a few replicates of
  the continuous system (seed 002, Fig. 4 for ``K = 2``, Fig. 6 for larger
  ``K``).
* :func:`plot_weight_histograms` -- the agents' mixtures at a few times
  (Fig. 5 analogue): densities in one dimension, weight bars otherwise.
* :func:`plot_polarization_heatmap` -- exact P(polarisation) of the chain
  for ``m = 2, K = 2`` as a function of the start state (counts of label 0
  of agent 0 and agent 1), from one all-starts absorption solve.
* :func:`plot_expected_frobenius_overlay` -- exact ``E||D_t||_F`` of the
  chain (MODEL.md 4, A3) on top of simulated continuous curves with
  ``alpha = r/N`` and one retrieved point per step.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import InputError

__all__ = [
    "plot_frobenius",
    "plot_weight_histograms",
    "polarization_grid",
    "plot_polarization_heatmap",
    "expected_frobenius_series",
    "plot_expected_frobenius_overlay",
]


def _figure(width=6.4, height=4.0, ncols=1, nrows=1, **kwargs):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    return fig, axes


def _save(fig, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


def _run(run, replicates, steps, seed, system_kwargs):
    from .simulate.continuous import simulate

    if run is not None:
        return run
    return simulate(steps=steps, replicates=replicates, seed=seed, **system_kwargs)


def plot_frobenius(path, run=None, replicates=5, steps=60, seed=2, title=None, **system_kwargs):
    """``||D_t||_F`` against ``t``: every replicate (thin grey), their mean
    (thick) and the pointwise 10%-90% band over replicates; legend outside the axes.

    Parameters
    ----------
    path : str or Path
        Where to write the PNG.
    run : ContinuousRun, optional
        A finished run; otherwise one is simulated with
        :func:`~markovgmm.simulate.continuous.simulate` (``replicates``,
        ``steps``, ``seed`` and ``system_kwargs``, e.g. ``components=5``).

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile, os
    >>> out = plot_frobenius(os.path.join(tempfile.mkdtemp(), "f.png"), replicates=2, steps=5, seed=1)
    >>> out.stat().st_size > 0
    True
    """
    run = _run(run, replicates, steps, seed, system_kwargs)
    s = run.system
    fig, axes = _figure()
    ax = axes[0, 0]
    t = np.arange(run.steps + 1)
    curves = np.asarray(run.frobenius, dtype=float)
    for r in range(run.replicates):
        ax.plot(t, curves[r], lw=0.8, color="0.6", alpha=0.8, label=f"replicates (n={run.replicates})" if r == 0 else None)
    if run.replicates > 1:
        low, high = np.quantile(curves, [0.1, 0.9], axis=0)
        ax.fill_between(t, low, high, color="C0", alpha=0.25, lw=0, label="10%-90% of replicates")
    ax.plot(t, curves.mean(axis=0), lw=2.2, color="C0", label="mean over replicates")
    ax.set_xlabel("t")
    ax.set_ylabel(r"$\|D_t\|_F$")
    ax.set_title(title or f"m={s.agents}, K={s.components}, d={s.dim}, alpha={s.alpha:g}, lambda={s.lam}, c={s.prune_c:g}", fontsize="small")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)  # outside the data
    return _save(fig, path)


def plot_weight_histograms(path, run=None, times=None, replicate=0, steps=60, seed=2, **system_kwargs):
    """The agents' mixtures at a few times (seed 002, Fig. 5 analogue).

    In one dimension each panel shows the densities ``f_i^t(x) = sum_k
    pi_ik^t N(x; mu_k, Sigma)`` of all agents at one time ``t``; in higher
    dimension it shows the weights ``pi_i^t`` as grouped bars.

    Parameters
    ----------
    path : str or Path
    run : ContinuousRun, optional
        Otherwise simulated from ``steps``, ``seed``, ``system_kwargs``.
    times : sequence of int, optional
        Default: four times from 0 to the last step.
    replicate : int
        Which replicate to draw.

    Returns
    -------
    Path
    """
    run = _run(run, max(1, replicate + 1), steps, seed, system_kwargs)
    s = run.system
    if times is None:
        times = sorted({0, run.steps // 6, run.steps // 2, run.steps})
    times = [int(t) for t in times]
    if any(not 0 <= t <= run.steps for t in times):
        raise InputError(f"times must lie in 0..{run.steps}, got {times}")
    fig, axes = _figure(width=3.2 * len(times), height=3.0, ncols=len(times), sharey=True)
    for ax, t in zip(axes[0], times):
        weights = run.weights[replicate, t]
        if s.dim == 1:
            mu, sd = s.means[:, 0], float(np.sqrt(s.covariance[0, 0]))
            x = np.linspace(mu.min() - 4 * sd, mu.max() + 4 * sd, 400)
            kernel = np.exp(-0.5 * ((x[:, None] - mu[None, :]) / sd) ** 2) / (sd * np.sqrt(2 * np.pi))
            for i in range(s.agents):
                ax.plot(x, kernel @ weights[i], lw=1.2, label=f"agent {i}")
            ax.set_xlabel("x")
        else:
            width = 0.8 / s.agents
            for i in range(s.agents):
                ax.bar(np.arange(s.components) + i * width, weights[i], width=width, label=f"agent {i}")
            ax.set_xlabel("component")
        ax.set_title(f"t = {t}")
    axes[0, 0].set_ylabel("density" if s.dim == 1 else "weight")
    if s.agents <= 10:
        axes[0, -1].legend(fontsize="small")
    return _save(fig, path)


def _two_agent_chain(system_kwargs, exact):
    from .chain.build import build_chain
    from .system import System

    system = System(**system_kwargs)
    if system.agents != 2 or system.components != 2:
        raise InputError(
            f"system_kwargs: the polarisation heatmap is over two agents' counts of label 0, so it needs agents=2 and "
            f"components=2, got agents={system.agents}, components={system.components}"
        )
    return build_chain(system, exact=exact)


def polarization_grid(system_kwargs, exact=True):
    """Exact P(polarisation) from every start state of a two-agent, two-label chain.

    Parameters
    ----------
    system_kwargs : dict
        Arguments of :class:`~markovgmm.system.System`, with ``agents=2`` and
        ``components=2``.
    exact : bool
        Rational arithmetic (default) or float64.

    Returns
    -------
    (N + 1, N + 1) object array (exact: Fractions) or float array
        ``grid[a, b]`` = P(polarisation) from ``((a, N - a), (b, N - b))``:
        agent 0 holds ``a`` items of label 0, agent 1 holds ``b``.

    Notes
    -----
    One call of :func:`~markovgmm.analysis.absorption.absorption_probabilities`
    with ``start=None`` solves all start states at once (MODEL.md 3).

    Examples
    --------
    >>> grid = polarization_grid(dict(agents=2, components=2, memory=4))
    >>> grid[2, 2], grid[4, 0], grid[4, 4]
    (Fraction(139813, 1630674), Fraction(1, 1), Fraction(0, 1))
    """
    from .analysis.absorption import absorption_probabilities

    chain = _two_agent_chain(system_kwargs, exact)
    N = chain.system.memory
    result = absorption_probabilities(chain, start=None)
    grid = np.empty((N + 1, N + 1), dtype=object if exact else float)
    for a in range(N + 1):
        for b in range(N + 1):
            state = chain.index(((a, N - a), (b, N - b)))
            grid[a, b] = result.polarization(result.row_of(state))
    return grid


def plot_polarization_heatmap(system_kwargs, path, exact=True, grid=None, annotate=None):
    """Heatmap of exact P(polarisation) over the start counts ``(a, b)`` of label 0.

    Parameters
    ----------
    system_kwargs : dict
        Two agents, two components (see :func:`polarization_grid`).
    path : str or Path
    exact : bool
        Solve exactly (default) or in float64.
    grid : array, optional
        A grid from :func:`polarization_grid`, to skip the solve.
    annotate : bool, optional
        Write the values in the cells (default when ``N <= 8``).

    Notes
    -----
    The colour scale is logarithmic (P(polarisation) spans many decades:
    about 1e-17 to 1 at ``N = 30``); cells with P = 0 are grey.  Ticks every
    1, 2 or 5 counts for ``N <= 12``, ``<= 24`` and beyond.

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile, os
    >>> out = plot_polarization_heatmap(dict(agents=2, components=2, memory=3), os.path.join(tempfile.mkdtemp(), "h.png"))
    >>> out.suffix
    '.png'
    """
    from .system import System

    if grid is None:
        grid = polarization_grid(system_kwargs, exact=exact)
    import matplotlib
    from matplotlib.colors import LogNorm

    values = np.asarray(grid, dtype=float)
    N = values.shape[0] - 1
    if (values < 0).any() or (values > 1).any():
        from .errors import InputError

        raise InputError(f"grid: probabilities outside [0, 1] (min {values.min():.3g}, max {values.max():.3g}); "
                         "the float solve is unreliable here, use exact=True")
    fig, axes = _figure(width=5.6, height=4.6)
    ax = axes[0, 0]
    positive = values[values > 0]
    low = float(positive.min()) if positive.size else 1e-3
    norm = LogNorm(vmin=min(low, 0.5), vmax=1)  # a log scale: values spread over decades stay distinguishable
    cmap = matplotlib.colormaps["viridis"].copy()
    cmap.set_bad("0.8")  # P = 0 (log scale cannot show it): light grey
    image = ax.imshow(np.ma.masked_less_equal(values, 0), origin="lower", cmap=cmap, norm=norm)
    fig.colorbar(image, ax=ax, label="P(polarisation) (log scale; grey: 0)")
    ax.set_xlabel("b: label-0 items of agent 1")
    ax.set_ylabel("a: label-0 items of agent 0")
    step = 1 if N <= 12 else 2 if N <= 24 else 5
    ticks = list(range(0, N + 1, step)) + ([N] if N % step else [])
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set_title(System(**system_kwargs).describe(), fontsize="small")
    if annotate if annotate is not None else N <= 8:
        for a in range(N + 1):
            for b in range(N + 1):
                v = values[a, b]
                text = "0" if v == 0 else (f"{v:.3f}" if v >= 0.001 else f"{v:.1e}")
                dark = v > 0 and norm(v) < 0.6
                ax.text(b, a, text, ha="center", va="center", fontsize=7, color="w" if dark else "k")
    return _save(fig, path)


def expected_frobenius_series(system_kwargs, start, horizon, exact=False):
    """Exact ``E||D_t||_F`` of the chain for ``t = 0..horizon`` (MODEL.md 4, A3).

    Parameters
    ----------
    system_kwargs : dict
        Arguments of :class:`~markovgmm.system.System`.
    start : tuple of count tuples
        Start state, one count vector per agent.
    horizon : int
    exact : bool
        Propagate exactly (then convert each certified value to float) or in
        float64 (default; relative error about ``t * 1e-16`` per step).

    Returns
    -------
    (horizon + 1,) float array

    Notes
    -----
    Uses :func:`~markovgmm.analysis.claims.moment_series` (``p_t = p_0 P^t``
    and ``||D||_F`` per state).

    Examples
    --------
    >>> series = expected_frobenius_series(dict(agents=2, components=2, memory=2), ((2, 0), (0, 2)), 2)
    >>> series.round(12).tolist()   # polarised and frozen: ||D||_F = 2 throughout
    [2.0, 2.0, 2.0]
    """
    from .analysis.claims import moment_series
    from .chain.build import build_chain
    from .system import System

    system = System(**system_kwargs)
    chain = build_chain(system, exact=exact)
    rows = moment_series(chain, chain.index(system.check_state(start)), horizon)
    return np.array([float(row["expected_frobenius"]) for row in rows])


def plot_expected_frobenius_overlay(
    system_kwargs, start, path, horizon=60, replicates=200, shown=5, seed=4, series=None, run=None, **continuous_kwargs
):
    """Exact ``E||D_t||_F`` of the chain over simulated continuous ``||D_t||_F``.

    The continuous system is matched to the chain by
    :func:`~markovgmm.simulate.continuous.matched_to_chain`: the same agents,
    ``K`` and graph, start weights ``c_i / N``, rate ``alpha = r / N``, one
    retrieved point per step, an empty initial pool, and well-separated
    components, so that one continuous step is one Zivkovic update, the
    analogue of one chain step.  ``continuous_kwargs`` override these (e.g. ``prune_c=0.1`` to let agents
    freeze as in the ``support`` chain; with the default ``c = 0`` nothing
    freezes, while the chain's limit is
    ``sum_C P(C) ||D(C)||_F``).

    Parameters
    ----------
    system_kwargs : dict
        The chain (:class:`~markovgmm.system.System` arguments).
    start : tuple of count tuples
    path : str or Path
    horizon : int
        Steps of both.
    replicates : int
        Continuous replicates; their mean is drawn, and ``shown`` of them individually.
    seed : int
    series, run : optional
        Precomputed :func:`expected_frobenius_series` and continuous run.

    Returns
    -------
    Path
    """
    from .simulate.continuous import matched_to_chain, simulate_system
    from .system import System

    system = System(**system_kwargs)
    state = system.check_state(start)
    if series is None:
        series = expected_frobenius_series(system_kwargs, state, horizon)
    if run is None:
        run = simulate_system(matched_to_chain(system, state, **continuous_kwargs), steps=horizon, replicates=replicates, seed=seed)
    fig, axes = _figure(width=8.4)
    ax = axes[0, 0]
    t = np.arange(run.steps + 1)
    curves = np.asarray(run.frobenius, dtype=float)
    for r in range(min(shown, run.replicates)):
        ax.plot(t, curves[r], lw=0.8, alpha=0.5, color="tab:gray", label=f"continuous replicates ({min(shown, run.replicates)} shown)" if r == 0 else None)
    if run.replicates > 1:
        low, high = np.quantile(curves, [0.1, 0.9], axis=0)
        ax.fill_between(t, low, high, color="tab:blue", alpha=0.2, lw=0, label="continuous 10%-90%")
    ax.plot(t, curves.mean(axis=0), lw=1.8, color="tab:blue", label=f"continuous mean of {run.replicates}")
    ax.plot(np.arange(len(series)), series, lw=2.2, ls="--", color="tab:red", label=r"chain, exact $E\|D_t\|_F$")
    ax.set_xlabel("t (steps)")
    ax.set_ylabel(r"$\|D_t\|_F$")
    ax.set_ylim(bottom=0)
    ax.set_title(f"{system.describe()}\ncontinuous alpha={run.system.alpha:g}, c={run.system.prune_c:g}", fontsize="small")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)  # outside the data
    return _save(fig, path)
