"""Figures of the continuous mirroring system (MODEL.md 6.1; seed 000's figures).

* :func:`plot_silo_trajectories` -- each agent's silo against ``t`` (one line
  per agent, coloured by its initial silo) for one run, or
  :func:`plot_silo_grid` for a grid of runs over ``p`` (rows) and ``k``
  (columns), one replicate per cell (data: :func:`silo_grid_runs`).
* :func:`plot_silos_against_k` -- the number of silos at ``T`` against ``k``
  (at ``p = 0`` in the authors' figure): mean over replicates and a quantile
  band (data: :func:`silos_at_T_by_k`).

Every function draws with matplotlib's object-oriented API on an Agg canvas
(no pyplot, no global state), takes an optional ``ax=`` or ``fig=`` to draw
into, and returns the :class:`~matplotlib.figure.Figure`; saving is the
caller's business (``fig.savefig(path)``).
"""

from __future__ import annotations

import numpy as np

from .errors import InputError

__all__ = [
    "silo_grid_runs",
    "silos_at_T_by_k",
    "plot_silo_trajectories",
    "plot_silo_grid",
    "plot_silos_against_k",
    "plot_absorption_time_vs_separation",
    "GRID_MIRRORS",
    "GRID_NEIGHBOURS",
]

#: The authors' grid of figure (a): ``p`` (rows) and ``k`` (columns).
GRID_MIRRORS = (0.2, 0.5, 0.7)
GRID_NEIGHBOURS = (1, 5, 15, 25)


def _new_figure(width, height, nrows=1, ncols=1, **kwargs):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, squeeze=False, **kwargs)


def silo_grid_runs(mirrors=GRID_MIRRORS, neighbours=GRID_NEIGHBOURS, seed=0, **kwargs):
    """One replicate of :func:`~markovgmm.simulate.mirror.simulate_mirror` per ``(p, k)`` cell.

    Returns a dict ``{(p, k): MirrorRun}``; cell ``(a, b)`` uses seed
    ``[seed, a, b]`` so that every cell is reproducible on its own.
    ``kwargs`` go to ``simulate_mirror`` (e.g. ``steps``, ``agents``).
    """
    from .simulate.mirror import simulate_mirror

    return {
        (p, k): simulate_mirror(neighbours=k, mirror=p, replicates=1, seed=[seed, a, b], **kwargs)
        for a, p in enumerate(mirrors)
        for b, k in enumerate(neighbours)
    }


def silos_at_T_by_k(neighbours, replicates=50, seed=0, mirror=0.0, **kwargs):
    """``{k: S_T of every replicate}`` (int arrays) from ``simulate_mirror`` at mirroring probability ``mirror``.

    ``k`` number ``b`` uses seed ``[seed, b]``.
    """
    from .simulate.mirror import simulate_mirror

    return {
        k: simulate_mirror(neighbours=k, mirror=mirror, replicates=replicates, seed=[seed, b], **kwargs).silo_counts[:, -1]
        for b, k in enumerate(neighbours)
    }


def plot_silo_trajectories(run, replicate=0, ax=None, offset=0.3, title=None, legend=False):
    """Each agent's silo against ``t`` for one replicate of a :class:`MirrorRun`.

    Parameters
    ----------
    run : MirrorRun or (T + 1, n) int array
        The run (or the silos of one replicate).
    replicate : int
        Which replicate of ``run`` (default 0).
    ax : matplotlib Axes, optional
        Draw here (default: a new figure).
    offset : float
        Agent ``i``'s line is drawn at ``silo + offset * (i / (n - 1) - 1/2)``
        so that agents in the same silo do not hide each other (default 0.3;
        0 draws the silos exactly).
    title : str, optional
    legend : bool
        Add a colour bar of the initial silo.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    One step line per agent, coloured by its silo at ``t = 0`` (a
    colour map (turbo) over ``0..K-1``), so a colour spreading to other heights shows
    agents leaving their initial silo, and lines merging show silos being
    absorbed.

    Examples
    --------
    >>> from markovgmm.simulate.mirror import simulate_mirror
    >>> fig = plot_silo_trajectories(simulate_mirror(agents=6, components=3, steps=5, seed=1))
    >>> len(fig.axes[0].lines)
    6
    """
    from matplotlib import colormaps

    silos = np.asarray(run.silos[replicate] if hasattr(run, "silos") else run)
    if silos.ndim != 2:
        raise InputError(f"run must be a MirrorRun or a (T + 1, n) array of silos, got shape {silos.shape}")
    steps, n = silos.shape[0] - 1, silos.shape[1]
    K = int(run.parameters["components"]) if hasattr(run, "parameters") else int(silos.max()) + 1
    if ax is None:
        _, axes = _new_figure(6.4, 4.0)
        ax = axes[0, 0]
    cmap = colormaps["turbo"]
    t = np.arange(steps + 1)
    shift = offset * (np.arange(n) / max(n - 1, 1) - 0.5)
    for i in range(n):
        ax.step(t, silos[:, i] + shift[i], where="post", color=cmap(silos[0, i] / K), lw=0.9, alpha=0.85)
    ax.set_xlim(0, steps)
    ax.set_ylim(-1, K)
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # silos are component indices
    ax.set_xlabel("t")
    ax.set_ylabel("silo (argmax of weights)")
    if title is not None:
        ax.set_title(title, fontsize=9)
    if legend:
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize

        ax.figure.colorbar(ScalarMappable(Normalize(0, K), cmap), ax=ax, label="initial silo")
    return ax.figure


def plot_silo_grid(runs, mirrors=None, neighbours=None, replicate=0, fig=None):
    """:func:`plot_silo_trajectories` on a grid: rows ``p``, columns ``k``.

    Parameters
    ----------
    runs : dict
        ``{(p, k): MirrorRun}``, e.g. from :func:`silo_grid_runs`.
    mirrors, neighbours : sequences, optional
        Row and column values (default: those present in ``runs``, sorted).
    replicate : int
        Replicate drawn in every cell.
    fig : matplotlib Figure, optional
        Draw into this (empty) figure.

    Returns
    -------
    matplotlib.figure.Figure
        Each panel is titled with ``p``, ``k`` and ``S_T`` (silos at ``T``).
    """
    from .observables import silo_counts

    mirrors = sorted({p for p, _ in runs}) if mirrors is None else list(mirrors)
    neighbours = sorted({k for _, k in runs}) if neighbours is None else list(neighbours)
    missing = [(p, k) for p in mirrors for k in neighbours if (p, k) not in runs]
    if missing:
        raise InputError(f"runs has no run for (p, k) = {missing[0]}")
    if fig is None:
        fig, axes = _new_figure(3.0 * len(neighbours), 2.4 * len(mirrors), len(mirrors), len(neighbours), sharex=True, sharey=True)
    else:
        axes = fig.subplots(len(mirrors), len(neighbours), squeeze=False, sharex=True, sharey=True)
    for a, p in enumerate(mirrors):
        for b, k in enumerate(neighbours):
            run = runs[(p, k)]
            final = int(silo_counts(run.silos[replicate, -1]))
            plot_silo_trajectories(run, replicate, ax=axes[a, b], title=f"p = {p:g}, k = {k}: S_T = {final}")
            if a < len(mirrors) - 1:
                axes[a, b].set_xlabel("")
            if b > 0:
                axes[a, b].set_ylabel("")
    return fig


def plot_silos_against_k(results, ax=None, quantiles=(0.1, 0.9), label=None, color="C0"):
    """Number of silos at ``T`` against ``k``: mean over replicates and a quantile band.

    Parameters
    ----------
    results : dict
        ``{k: S_T per replicate}`` (arrays, e.g. from :func:`silos_at_T_by_k`)
        or ``{k: MirrorRun}``.
    ax : matplotlib Axes, optional
        Draw here (default: a new figure); call again with the same ``ax`` to
        overlay another setting (``label``, ``color``).
    quantiles : (float, float)
        The band (default the 10% and 90% quantiles over replicates).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_silos_against_k({1: np.array([3, 4, 5]), 5: np.array([2, 2, 3])})
    >>> [round(float(v), 3) for v in fig.axes[0].lines[0].get_ydata()]
    [4.0, 2.333]
    """
    if not results:
        raise InputError("results must hold at least one value of k")
    ks = sorted(results)
    values = [np.asarray(results[k].silo_counts[:, -1] if hasattr(results[k], "silo_counts") else results[k], dtype=float) for k in ks]
    mean = np.array([v.mean() for v in values])
    low = np.array([np.quantile(v, quantiles[0]) for v in values])
    high = np.array([np.quantile(v, quantiles[1]) for v in values])
    if ax is None:
        _, axes = _new_figure(6.4, 4.0)
        ax = axes[0, 0]
    count = min(len(v) for v in values)
    ax.plot(ks, mean, "o-", color=color, label=label or f"mean over {count} replicates")
    band = f"{quantiles[0]:.0%}-{quantiles[1]:.0%} quantiles" + (f" ({label})" if label else "")
    ax.fill_between(ks, low, high, color=color, alpha=0.25, lw=0, label=band)
    ax.set_xlabel("k (nearest neighbours)")
    ax.set_ylabel("number of silos at T")
    ax.set_ylim(bottom=0)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # k is an integer: no 0.5 ticks
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)  # outside the data
    return ax.figure


def plot_absorption_time_vs_separation(curves, ax=None):
    """Mean absorption step of the continuous mirroring system against
    ``delta / sigma``, one line with a 2-s.e. band per geometry, and the
    chain's exact expected absorption time (the well-separated limit, MODEL.md
    6.2) as a dashed line of the same colour.

    ``curves`` are :func:`~markovgmm.analysis.mirror_limit.absorption_time_curve`
    results; ``ax`` an optional Axes to draw into; returns the Figure.
    """
    if not curves:
        raise InputError("curves must hold at least one absorption_time_curve result")
    if ax is None:
        fig, axes = _new_figure(6.4, 4.2)
        ax = axes[0, 0]
    else:
        fig = ax.figure
    for number, curve in enumerate(curves):
        colour = f"C{number % 10}"
        x = np.asarray(curve["separations"])
        mean = np.asarray(curve["mean"])
        band = 2 * np.asarray(curve["standard_error"])
        ax.plot(x, mean, "o-", color=colour, label=f"{curve['geometry']}: continuous")
        ax.fill_between(x, mean - band, mean + band, color=colour, alpha=0.2)
        ax.axhline(float(curve["chain"]), color=colour, linestyle="--", label=f"{curve['geometry']}: chain (limit)")
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    ax.set_xscale("log")
    ax.set_xticks(curves[0]["separations"])
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("separation delta / sigma")
    ax.set_ylabel("mean absorption step")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, fontsize="small")  # outside the data
    return fig
