"""Figures: the continuous system's collapse curves (seed 002, Figs. 4-6),
the chain's exact polarisation landscape (MODEL.md 1-4) and the ``absorb``
command's result.

Every ``plot_*`` function takes its data (a :class:`~markovgmm.system.System`
or its keyword arguments, a run, a report), draws it with matplotlib's
object-oriented API on an Agg canvas (no pyplot, no global state, no display
needed) into the ``ax=`` (one panel) or ``fig=`` (several panels) it is
given, or into a new figure, and returns the
:class:`matplotlib.figure.Figure`.  Saving is the caller's:
``fig.savefig(path)``, or :func:`save_png`; the functions that wrote a file
before keep an optional ``path=`` keyword that saves the PNG as well.  The
data behind the exact figures come from separate functions
(:func:`polarization_grid`, :func:`expected_frobenius_series`) so they can be
checked on their own.  Legends sit outside the axes (never over the data)
and are never dropped: past :data:`LEGEND_LIMIT` agents the agents are
coloured along a colour map with a colour bar instead.

* :func:`plot_frobenius` -- ``||D_t||_F`` over time for every replicate of
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
* :func:`plot_absorption` -- an ``absorb`` report: P(consensus on each
  component), P(polarisation), P(other) as bars, and P(absorbed by step t)
  when the report has it (``markovgmm absorb --figure FILE``).
"""

from __future__ import annotations

import os
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
    "plot_absorption",
    "absorption_bars",
    "heatmap_ticks",
    "new_figure",
    "save_png",
    "check_png_path",
    "LEGEND_LIMIT",
]

#: Most agents named one by one in a legend; more are coloured along a colour map with a colour bar.
LEGEND_LIMIT = 10


def new_figure(width=6.4, height=4.0, ncols=1, nrows=1, **kwargs):
    """A new :class:`~matplotlib.figure.Figure` on an Agg canvas (no pyplot)
    with an ``(nrows, ncols)`` array of Axes: ``(fig, axes)``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    return fig, axes


_figure = new_figure


def _panel(ax, width=6.4, height=4.0):
    """``(fig, ax)``: the given Axes and its figure, or a new one-panel figure."""
    if ax is not None:
        return ax.figure, ax
    fig, axes = new_figure(width, height)
    return fig, axes[0, 0]


def _panels(fig, nrows, ncols, width, height, **kwargs):
    """``(fig, axes)``: panels added to the given (empty) figure, or a new figure."""
    if fig is None:
        return new_figure(width, height, ncols=ncols, nrows=nrows, **kwargs)
    return fig, fig.subplots(nrows, ncols, squeeze=False, **kwargs)


def check_png_path(path, option="figure"):
    """A PNG file path in an existing, writable folder, or a one-line
    :class:`~markovgmm.errors.InputError` naming ``option`` (checked before a
    command computes anything)."""
    text = os.fspath(path) if isinstance(path, os.PathLike) else path
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{option}: must be a file path ending in .png, got {path!r}")
    if not text.lower().endswith(".png"):
        raise InputError(f"{option}: must be a file path ending in .png (the figure is a PNG), got {text!r}")
    if os.path.isdir(text):
        raise InputError(f"{option}: must be a file, got the directory {text!r}")
    folder = os.path.dirname(os.path.abspath(text))
    if not os.path.isdir(folder):
        raise InputError(f"{option}: must be in an existing folder, got {text!r}")
    if not os.access(folder, os.W_OK):
        raise InputError(f"{option}: cannot write in {folder!r}")
    return text


def save_png(fig, path, dpi=110):
    """Write ``fig`` to ``path`` as a PNG (folders created); returns the Path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, format="png")
    return path


def _save(fig, path):
    """Save when a ``path=`` was given; return the figure either way."""
    if path is not None:
        save_png(fig, path)
    return fig


def _as_system(system):
    """A :class:`~markovgmm.system.System` from a System or its keyword arguments."""
    from .system import System

    if isinstance(system, System):
        return system
    if isinstance(system, dict):
        return System(**system)
    raise InputError(f"system: must be a System or a dict of System arguments, got {type(system).__name__}")


def _run(run, replicates, steps, seed, system_kwargs):
    from .simulate.continuous import simulate

    if run is not None:
        if not hasattr(run, "frobenius") or not hasattr(run, "weights"):
            raise InputError(f"run: must be a ContinuousRun (markovgmm.simulate.continuous.simulate), got {type(run).__name__}")
        return run
    return simulate(steps=steps, replicates=replicates, seed=seed, quiet=True, **system_kwargs)


def _legend_outside(ax, **kwargs):
    """A legend to the right of the axes (never over the data)."""
    return ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, **kwargs)


def plot_frobenius(run=None, *, ax=None, path=None, replicates=5, steps=60, seed=2, title=None, **system_kwargs):
    """``||D_t||_F`` against ``t``: every replicate (thin grey), their mean
    (thick) and the pointwise 10%-90% band over replicates; legend outside the axes.

    Parameters
    ----------
    run : ContinuousRun, optional
        A finished run; otherwise one is simulated with
        :func:`~markovgmm.simulate.continuous.simulate` (``replicates``,
        ``steps``, ``seed`` and ``system_kwargs``, e.g. ``components=5``).
    ax : matplotlib Axes, optional
        Draw here (default: a new figure).
    path : str or Path, optional
        Also save the figure there as a PNG.

    Returns
    -------
    matplotlib.figure.Figure
        The first ``run.replicates`` lines of ``fig.axes[0]`` are the
        replicates' curves, in order.

    Examples
    --------
    >>> fig = plot_frobenius(replicates=2, steps=5, seed=1)
    >>> [len(line.get_ydata()) for line in fig.axes[0].lines]
    [6, 6, 6]
    """
    run = _run(run, replicates, steps, seed, system_kwargs)
    s = run.system
    fig, ax = _panel(ax)
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
    ax.set_xlim(0, max(run.steps, 1))
    _legend_outside(ax)
    return _save(fig, path)


def _agent_colours(n):
    """One colour per agent: the default cycle up to :data:`LEGEND_LIMIT`, then a colour map."""
    from matplotlib import colormaps

    if n <= LEGEND_LIMIT:
        return [f"C{i}" for i in range(n)], None
    cmap = colormaps["viridis"]
    return [cmap(i / (n - 1)) for i in range(n)], cmap


def plot_weight_histograms(run=None, *, fig=None, path=None, times=None, replicate=0, steps=60, seed=2, **system_kwargs):
    """The agents' mixtures at a few times (seed 002, Fig. 5 analogue).

    In one dimension each panel shows the densities ``f_i^t(x) = sum_k
    pi_ik^t N(x; mu_k, Sigma)`` of all agents at one time ``t``; in higher
    dimension it shows the weights ``pi_i^t`` as grouped bars over the
    components (ticks: the component labels ``0..K-1``).  Agents are named
    in a legend right of the last panel, or, past :data:`LEGEND_LIMIT`
    agents, coloured along a colour map shown as a colour bar.

    Parameters
    ----------
    run : ContinuousRun, optional
        Otherwise simulated from ``steps``, ``seed``, ``system_kwargs``.
    fig : matplotlib Figure, optional
        Draw into this (empty) figure, one panel per time.
    path : str or Path, optional
        Also save the figure there as a PNG.
    times : sequence of int, optional
        Default: four times from 0 to the last step.
    replicate : int
        Which replicate to draw.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_weight_histograms(steps=4, seed=1, dim=2, components=3, times=[0, 4])
    >>> [tick.get_text() for tick in fig.axes[0].get_xticklabels()]
    ['0', '1', '2']
    """
    run = _run(run, max(1, replicate + 1), steps, seed, system_kwargs)
    s = run.system
    if times is None:
        times = sorted({0, run.steps // 6, run.steps // 2, run.steps})
    times = [int(t) for t in times]
    if not times or any(not 0 <= t <= run.steps for t in times):
        raise InputError(f"times must lie in 0..{run.steps}, got {times}")
    if not 0 <= replicate < run.replicates:
        raise InputError(f"replicate must be in 0..{run.replicates - 1}, got {replicate}")
    fig, axes = _panels(fig, 1, len(times), 3.2 * len(times) + 1.2, 3.0, sharey=True)
    colours, cmap = _agent_colours(s.agents)
    for ax, t in zip(axes[0], times):
        weights = run.weights[replicate, t]
        if s.dim == 1:
            mu, sd = s.means[:, 0], float(np.sqrt(s.covariance[0, 0]))
            x = np.linspace(mu.min() - 4 * sd, mu.max() + 4 * sd, 400)
            kernel = np.exp(-0.5 * ((x[:, None] - mu[None, :]) / sd) ** 2) / (sd * np.sqrt(2 * np.pi))
            for i in range(s.agents):
                ax.plot(x, kernel @ weights[i], lw=1.2, color=colours[i], label=f"agent {i}")
            ax.set_xlabel("x")
        else:
            width = 0.8 / s.agents
            centres = np.arange(s.components)
            for i in range(s.agents):
                ax.bar(centres - 0.4 + (i + 0.5) * width, weights[i], width=width, color=colours[i], label=f"agent {i}")
            ax.set_xticks(centres, [str(k) for k in range(s.components)])  # categorical: one tick per component
            ax.set_xlim(-0.5, s.components - 0.5)
            ax.set_xlabel("component")
        ax.set_title(f"t = {t}")
    axes[0, 0].set_ylabel("density" if s.dim == 1 else "weight")
    if cmap is None:
        _legend_outside(axes[0, -1])
    else:
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize

        fig.colorbar(ScalarMappable(Normalize(0, s.agents - 1), cmap), ax=list(axes[0]), label=f"agent (0..{s.agents - 1})")
    return _save(fig, path)


def _two_agent_chain(system, exact):
    from .chain.build import build_chain

    system = _as_system(system)
    if system.agents != 2 or system.components != 2:
        raise InputError(
            f"system: the polarisation heatmap is over two agents' counts of label 0, so it needs agents=2 and "
            f"components=2, got agents={system.agents}, components={system.components}"
        )
    return build_chain(system, exact=exact)


def polarization_grid(system, exact=True):
    """Exact P(polarisation) from every start state of a two-agent, two-label chain.

    Parameters
    ----------
    system : System or dict
        A :class:`~markovgmm.system.System` (or its arguments) with
        ``agents=2`` and ``components=2``.
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

    chain = _two_agent_chain(system, exact)
    N = chain.system.memory
    result = absorption_probabilities(chain, start=None)
    grid = np.empty((N + 1, N + 1), dtype=object if exact else float)
    for a in range(N + 1):
        for b in range(N + 1):
            state = chain.index(((a, N - a), (b, N - b)))
            grid[a, b] = result.polarization(result.row_of(state))
    return grid


def heatmap_ticks(N):
    """Tick positions of an ``(N + 1) x (N + 1)`` heatmap: every count for
    ``N <= 12``, every 2 up to 24, every 5 beyond, and always ``N``; a tick
    closer than the step to ``N`` is left out so labels never collide.

    >>> heatmap_ticks(30), heatmap_ticks(8)[-3:], heatmap_ticks(13)
    ([0, 5, 10, 15, 20, 25, 30], [6, 7, 8], [0, 2, 4, 6, 8, 10, 13])
    """
    step = 1 if N <= 12 else 2 if N <= 24 else 5
    ticks = list(range(0, N + 1, step))
    if ticks[-1] != N:
        if N - ticks[-1] < step / 2 + 0.5 and len(ticks) > 1:
            ticks.pop()
        ticks.append(N)
    return ticks


def plot_polarization_heatmap(system=None, *, grid=None, ax=None, path=None, exact=True, annotate=None):
    """Heatmap of exact P(polarisation) over the start counts ``(a, b)`` of label 0.

    Parameters
    ----------
    system : System or dict, optional
        Two agents, two components (see :func:`polarization_grid`); used for
        the solve when ``grid`` is not given, and for the title.
    grid : array, optional
        A grid from :func:`polarization_grid`, to skip the solve.
    ax : matplotlib Axes, optional
        Draw here (default: a new figure).
    path : str or Path, optional
        Also save the figure there as a PNG.
    exact : bool
        Solve exactly (default) or in float64.
    annotate : bool, optional
        Write the values in the cells (default when ``N <= 8``).

    Notes
    -----
    The colour scale is logarithmic (P(polarisation) spans many decades:
    about 1e-17 to 1 at ``N = 30``); cells with P = 0 are grey.  Ticks from
    :func:`heatmap_ticks`.  The image's data (``fig.axes[0].images[0]``) is
    the grid as floats, P = 0 masked.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_polarization_heatmap(dict(agents=2, components=2, memory=3))
    >>> fig.axes[0].images[0].get_array().shape
    (4, 4)
    """
    if system is None and grid is None:
        raise InputError("system: give a System (or its arguments) or a grid from polarization_grid")
    if grid is None:
        grid = polarization_grid(system, exact=exact)
    import matplotlib
    from matplotlib.colors import LogNorm

    values = np.asarray(grid, dtype=float)
    if values.ndim != 2 or values.shape[0] != values.shape[1] or values.shape[0] < 2:
        raise InputError(f"grid: must be a square (N + 1) x (N + 1) array with N >= 1, got shape {values.shape}")
    N = values.shape[0] - 1
    if not np.isfinite(values).all() or (values < 0).any() or (values > 1).any():
        raise InputError(f"grid: probabilities outside [0, 1] (min {np.nanmin(values):.3g}, max {np.nanmax(values):.3g}); "
                         "the float solve is unreliable here, use exact=True")
    fig, ax = _panel(ax, 5.6, 4.6)
    positive = values[values > 0]
    low = float(positive.min()) if positive.size else 1e-3
    norm = LogNorm(vmin=min(low, 0.5), vmax=1)  # a log scale: values spread over decades stay distinguishable
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="0.8")  # P = 0 (log scale cannot show it): light grey
    image = ax.imshow(np.ma.masked_less_equal(values, 0), origin="lower", cmap=cmap, norm=norm)
    fig.colorbar(image, ax=ax, label="P(polarisation) (log scale; grey: 0)")
    ax.set_xlabel("b: label-0 items of agent 1")
    ax.set_ylabel("a: label-0 items of agent 0")
    ticks = heatmap_ticks(N)
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    if system is not None:
        ax.set_title(_as_system(system).describe(), fontsize="small")
    if annotate if annotate is not None else N <= 8:
        for a in range(N + 1):
            for b in range(N + 1):
                v = values[a, b]
                text = "0" if v == 0 else (f"{v:.3f}" if v >= 0.001 else f"{v:.1e}")
                dark = v > 0 and norm(v) < 0.6
                ax.text(b, a, text, ha="center", va="center", fontsize=7, color="w" if dark else "k")
    return _save(fig, path)


def expected_frobenius_series(system, start, horizon, exact=False):
    """Exact ``E||D_t||_F`` of the chain for ``t = 0..horizon`` (MODEL.md 4, A3).

    Parameters
    ----------
    system : System or dict
        A :class:`~markovgmm.system.System` or its arguments.
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

    system = _as_system(system)
    chain = build_chain(system, exact=exact)
    rows = moment_series(chain, chain.index(system.check_state(start)), horizon)
    return np.array([float(row["expected_frobenius"]) for row in rows])


def plot_expected_frobenius_overlay(
    system, start, *, ax=None, path=None, horizon=60, replicates=200, shown=5, seed=4, series=None, run=None, **continuous_kwargs
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
    system : System or dict
        The chain (a :class:`~markovgmm.system.System` or its arguments).
    start : tuple of count tuples
    ax : matplotlib Axes, optional
        Draw here (default: a new figure).
    path : str or Path, optional
        Also save the figure there as a PNG.
    horizon : int
        Steps of both.
    replicates : int
        Continuous replicates; their mean is drawn, and ``shown`` of them individually.
    seed : int
    series, run : optional
        Precomputed :func:`expected_frobenius_series` and continuous run.

    Returns
    -------
    matplotlib.figure.Figure
        The chain's series is the last line of ``fig.axes[0]``.
    """
    from .simulate.continuous import matched_to_chain, simulate_system

    system = _as_system(system)
    state = system.check_state(start)
    if series is None:
        series = expected_frobenius_series(system, state, horizon)
    if run is None:
        run = simulate_system(matched_to_chain(system, state, **continuous_kwargs), steps=horizon, replicates=replicates, seed=seed)
    fig, ax = _panel(ax, 8.4, 4.0)
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
    _legend_outside(ax)
    return _save(fig, path)


def absorption_bars(report):
    """``(labels, values)`` drawn by :func:`plot_absorption`: P(consensus on
    component ``k``) for each ``k``, P(polarisation), and P(other) when it is
    not 0, as floats, from an ``absorb`` report (JSON keys
    ``consensus_by_component``, ``polarization``, ``other``)."""
    from fractions import Fraction

    def number(v):
        return float(Fraction(v)) if isinstance(v, str) else float(v)

    labels, values = [], []
    for k, v in enumerate(report.get("consensus_by_component") or []):
        labels.append(f"consensus on {k}")
        values.append(number(v))
    labels.append("polarisation")
    values.append(number(report["polarization"]))
    if number(report.get("other", 0)) != 0:
        labels.append("other")
        values.append(number(report["other"]))
    return labels, values


def plot_absorption(report, *, fig=None, path=None):
    """An ``absorb`` report as a figure (``markovgmm absorb --figure FILE``).

    Left: bars of P(consensus on each component), P(polarisation) and (when
    not 0) P(other) from the start state (:func:`absorption_bars`), one
    categorical tick per bar, the value written over each bar.  Right, when
    the report has ``absorption_time_cdf`` (``--horizon``): P(absorbed by
    step ``t``) for ``t = 0..horizon`` as a step line, a marker per step.

    Parameters
    ----------
    report : dict
        From :func:`~markovgmm.analysis.absorption.absorb` (values exact or
        float; ``"p/q"`` strings are read too, so the command's JSON works).
    fig : matplotlib Figure, optional
        Draw into this (empty) figure.
    path : str or Path, optional
        Also save the figure there as a PNG.

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.axes[0].patches`` are the bars, in the order of
        :func:`absorption_bars`; ``fig.axes[1].lines[0]`` the distribution.

    Examples
    --------
    >>> from markovgmm import System, build_chain
    >>> from markovgmm.analysis.absorption import absorb
    >>> fig = plot_absorption(absorb(build_chain(System(agents=2, components=2, memory=4)), ((2, 2), (2, 2))))
    >>> [round(float(bar.get_height()), 6) for bar in fig.axes[0].patches]
    [0.45713, 0.45713, 0.085739]
    """
    from fractions import Fraction

    if not isinstance(report, dict) or "polarization" not in report:
        raise InputError("report: must be an absorb report (a dict with polarization, consensus_by_component, ...)")
    labels, values = absorption_bars(report)
    cdf = report.get("absorption_time_cdf")
    ncols = 2 if cdf is not None else 1
    fig, axes = _panels(fig, 1, ncols, 4.8 * ncols + 0.6, 3.8)
    ax = axes[0, 0]
    colours = ["C0"] * (len(labels) - (2 if labels[-1] == "other" else 1)) + ["C3"] + (["C7"] if labels[-1] == "other" else [])
    x = np.arange(len(labels))
    bars = ax.bar(x, values, color=colours, width=0.7)
    ax.set_xticks(x, labels, rotation=30 if len(labels) > 4 else 0, ha="right" if len(labels) > 4 else "center")
    ax.set_xlim(-0.6, len(labels) - 0.4)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("probability from the start state")
    for bar, v in zip(bars, values):
        ax.annotate(f"{v:.4g}", (bar.get_x() + bar.get_width() / 2, v), xytext=(0, 2), textcoords="offset points",
                    ha="center", va="bottom", fontsize="small")
    ax.set_title(str(report.get("system", "")), fontsize="small")
    if cdf is not None:
        ax2 = axes[0, 1]
        ys = [float(Fraction(v)) if isinstance(v, str) else float(v) for v in cdf]
        from matplotlib.ticker import MaxNLocator

        ax2.plot(np.arange(len(ys)), ys, drawstyle="steps-post", marker="o", markersize=3, color="C2")
        ax2.set_xlim(-0.5, len(ys) - 0.5)
        ax2.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are integers
        ax2.set_ylim(0, 1.05)
        ax2.set_xlabel("t (steps)")
        ax2.set_ylabel("P(absorbed by step t)")
        ax2.set_title(f"absorption time, t <= {len(ys) - 1}", fontsize="small")
    return _save(fig, path)
