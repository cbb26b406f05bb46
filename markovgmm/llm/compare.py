"""LLM runs vs the continuous GMM mirroring system vs the mirroring chain (MODEL.md 6).

For every ``(p, k)`` cell of the LLM data, the LLM runs' silo trajectories
are set beside

- the continuous GMM mirroring system (MODEL.md 6.1,
  :func:`markovgmm.simulate.mirror.simulate_mirror`) at the authors'
  defaults ``n = K = 30``, ``r = 5``, ``line``, ``delta = 1``,
  ``sigma = 0.2``, ``T = 80``, random tie order, and
- the mirroring chain's Monte Carlo (MODEL.md 6.2,
  :func:`markovgmm.simulate.mirror_chain_mc.simulate_mirror_chain`), its
  well-separated limit, ``clipped`` ties, silos recorded to ``t = 80``,
  and once more run to absorption (``chain_absorbed_silos``,
  ``chain_absorption_steps``), which separates "the proxy ends elsewhere"
  from "the proxy gets there more slowly",

all read with the same observables (:mod:`markovgmm.observables`).

Time alignment: the LLM's row ``t`` is the responses produced from the
contexts of step ``t`` (row 0 from the initial contexts, one agent per
flower), which corresponds to the simulators' state at ``t`` (state 0: agent
``i`` at vertex ``i``).  The LLM data hold rows ``0..79``, so the *final*
step compared is ``t = 79`` for all three (the simulators run to 80).

Also per cell: ``early_stability``, the mean stability over ``t = 1..10``
(fraction of agents keeping their silo from one step to the next), and the
``t*`` of the LLM runs and the GMM (:func:`~markovgmm.observables.last_split_time`).

Statistics: per sample, the mean of the final silo count ``S_79`` with a 95%
Student-t interval of the mean, and the replicates' 2.5%/97.5% quantiles.
Verdict per cell: two-sided Mann-Whitney U test (``scipy.stats.mannwhitneyu``,
asymptotic with tie correction) of LLM vs GMM final silo counts at level
``level`` (default 0.05, per cell, no multiplicity correction); ``differs``
when ``p < level``, else ``agrees``.  With 8 LLM runs per cell ``agrees``
means "no difference detected", not equivalence.  When every value in both
samples is the same the test is undefined and the cell ``agrees`` with
``p = 1``.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..observables import last_split_time, silo_counts, stability

__all__ = [
    "GMM_DEFAULTS",
    "TEST",
    "summary",
    "two_sample_test",
    "compare_cell",
    "compare",
    "plot_trajectories",
    "plot_silo_counts",
]

GMM_DEFAULTS = dict(agents=30, components=30, memory=5, geometry="line", delta=1.0, sigma=0.2, steps=80)
TEST = "two-sided Mann-Whitney U (scipy.stats.mannwhitneyu, asymptotic, tie-corrected) on final silo counts, LLM vs GMM"
INTERVAL = "mean with a 95% Student-t interval of the mean (mean_ci = [low, high]); q025/q975 are the replicates' 2.5%/97.5% quantiles"


def summary(values):
    """Mean, 95% t-interval of the mean, median and 2.5%/97.5% quantiles of a sample.

    >>> s = summary([1, 1, 1])
    >>> s["mean"], s["mean_ci"]
    (1.0, [1.0, 1.0])
    """
    from scipy import stats

    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return None
    mean = float(x.mean())
    if x.size > 1 and x.std(ddof=1) > 0:
        half = float(stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    else:
        half = 0.0
    return {
        "n": int(x.size),
        "mean": mean,
        "mean_ci": [mean - half, mean + half],
        "median": float(np.median(x)),
        "q025": float(np.quantile(x, 0.025)),
        "q975": float(np.quantile(x, 0.975)),
    }


def two_sample_test(a, b, level=0.05):
    """``(p_value, verdict)`` of the two-sided Mann-Whitney U test of ``a`` vs ``b``.

    >>> two_sample_test([1] * 8, [1] * 50)
    (1.0, 'agrees')
    >>> two_sample_test([1] * 8, [9] * 50)[1]
    'differs'
    """
    from scipy import stats

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size == 0 or b.size == 0:
        raise InputError("compare: both samples need at least one value")
    if np.unique(np.concatenate([a, b])).size == 1:
        return 1.0, "agrees"
    p_value = float(stats.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic").pvalue)
    return p_value, ("differs" if p_value < level else "agrees")


def _curve(silos, final):
    """Mean and 10%/90% band of ``S_t`` for ``t = 0..final`` over replicates."""
    s = silo_counts(np.asarray(silos)[:, : final + 1])
    return {"mean": s.mean(axis=0).tolist(), "q10": np.quantile(s, 0.1, axis=0).tolist(), "q90": np.quantile(s, 0.9, axis=0).tolist()}


def compare_cell(p, k, llm_silos, gmm_silos, chain_silos=None, level=0.05, final=None, absorbed=None):
    """One cell's comparison from silo arrays ``(replicates, steps, n)``.

    ``final`` (default: the LLM's last step) is the step whose silo counts
    are compared.  ``absorbed``: optional ``(final silo counts, absorption
    steps)`` of the chain run to absorption, reported beside the rest.
    """
    llm_silos = np.asarray(llm_silos)
    gmm_silos = np.asarray(gmm_silos)
    final = llm_silos.shape[1] - 1 if final is None else final
    for name, arr in (("llm", llm_silos), ("gmm", gmm_silos), ("chain", chain_silos)):
        if arr is not None and (np.asarray(arr).ndim != 3 or np.asarray(arr).shape[1] <= final):
            raise InputError(f"compare: {name} silos must be (replicates, steps > {final}, agents)")
    llm_final = silo_counts(llm_silos[:, final]).tolist()
    gmm_final = silo_counts(gmm_silos[:, final]).tolist()
    chain_final = silo_counts(np.asarray(chain_silos)[:, final]).tolist() if chain_silos is not None else None
    p_value, verdict = two_sample_test(llm_final, gmm_final, level)
    cell = {
        "p": p,
        "k": k,
        "final_step": final,
        "llm_final_silos": llm_final,
        "gmm_final_silos": gmm_final,
        "chain_final_silos": chain_final,
        "llm": summary(llm_final),
        "gmm": summary(gmm_final),
        "chain": summary(chain_final) if chain_final is not None else None,
        "test": TEST,
        "level": level,
        "p_value": p_value,
        "verdict": verdict,
        "direction": _direction(llm_final, gmm_final, verdict),
        "silo_counts": {"llm": _curve(llm_silos, final), "gmm": _curve(gmm_silos, final)},
    }
    early = min(10, final)
    cell["early_stability"] = {
        name: float(stability(np.asarray(arr)[:, : early + 1]).mean())
        for name, arr in (("llm", llm_silos), ("gmm", gmm_silos), ("chain", chain_silos))
        if arr is not None and early >= 1
    }
    cell["llm_t_star"] = summary(last_split_time(llm_silos[:, : final + 1]).tolist())
    cell["gmm_t_star"] = summary(last_split_time(gmm_silos[:, : final + 1]).tolist())
    if absorbed is not None:
        silos_at_absorption, steps = absorbed
        cell["chain_absorbed_silos"] = [int(v) for v in silos_at_absorption]
        cell["chain_absorbed"] = summary(cell["chain_absorbed_silos"])
        cell["chain_absorption_steps"] = summary([int(v) for v in steps])
    if chain_final is not None:
        cell["llm_vs_chain_p_value"] = two_sample_test(llm_final, chain_final, level)[0]
        cell["silo_counts"]["chain"] = _curve(chain_silos, final)
    return cell


def _direction(llm, gmm, verdict):
    if verdict == "agrees":
        return "no difference detected"
    return "GMM keeps more silos than the LLM" if np.mean(gmm) > np.mean(llm) else "GMM keeps fewer silos than the LLM"


def _cell_seed(seed, index, which):
    return int(np.random.SeedSequence([seed, index, which]).generate_state(1)[0])


def compare(
    runs, replicates=50, seed=0, level=0.05, cells=None, chain=True, quiet=True, gmm_simulator=None, chain_simulator=None,
    absorbed_simulator=None, memory=GMM_DEFAULTS["memory"], tie_order="random",
):  # fmt: skip
    """The comparison report (JSON-ready dict; key ``_trajectories`` holds one
    replicate's silo arrays per cell for :func:`plot_trajectories`).

    ``runs``: :class:`~markovgmm.llm.runs.LLMRun` list with ``p``, ``k`` set.
    ``cells``: optional list of ``(p, k)`` to keep.  ``gmm_simulator`` /
    ``chain_simulator``: replacements ``(p, k, replicates, seed) -> silos``
    (tests); default the package's simulators.  ``absorbed_simulator``:
    ``(p, k, replicates, seed) -> (silos at absorption, absorption steps)``,
    default the chain run to absorption (MODEL.md 6.2; skipped with
    ``chain=False`` or when a ``chain_simulator`` is given without it).
    ``memory``: the store size ``r`` of GMM and chain (default the authors' 5).
    ``tie_order``: the GMM's partner ties (MODEL.md 6.1: ``random``, the
    default, or ``index``, the authors' code's effective "lowest agent index
    first", which at ``k = 1`` sends every agent to agent 0 at ``t = 0``).
    """
    from functools import partial

    from ..progress import progress_bar

    groups = {}
    for run in runs:
        if run.p is None or run.k is None:
            raise InputError(f"compare: run from {run.sources[0] if run.sources else '?'} has no p or k label")
        groups.setdefault((float(run.p), int(run.k)), []).append(run)
    keys = sorted(groups)
    if cells is not None:
        wanted = [(float(p), int(k)) for p, k in cells]
        missing = [c for c in wanted if not any(np.isclose(c[0], g[0]) and c[1] == g[1] for g in keys)]
        if missing:
            raise InputError(f"cells: {', '.join(f'{p:g}:{k}' for p, k in missing)} not in the data")
        keys = [g for g in keys if any(np.isclose(c[0], g[0]) and c[1] == g[1] for c in wanted)]
    if isinstance(memory, bool) or not isinstance(memory, (int, np.integer)) or memory < 1:
        raise InputError(f"memory must be a positive integer, got {memory!r}")
    if gmm_simulator is None:
        if tie_order not in ("random", "index"):
            raise InputError(f"tie-order must be random or index, got {tie_order!r}")
        gmm_simulator = partial(_gmm, memory=int(memory), tie_order=tie_order)
    if chain and chain_simulator is None:
        chain_simulator = partial(_chain, memory=int(memory))
        absorbed_simulator = absorbed_simulator or partial(_chain_absorbed, memory=int(memory))
    if not chain:
        absorbed_simulator = None
    out_cells, trajectories = [], {}
    with progress_bar(len(keys), "cells", quiet=quiet, unit="cell") as bar:
        for index, (p, k) in enumerate(keys):
            llm = np.stack([run.silos() for run in groups[(p, k)]])
            gmm = gmm_simulator(p, k, replicates, _cell_seed(seed, index, 0))
            mc = chain_simulator(p, k, replicates, _cell_seed(seed, index, 1)) if chain else None
            absorbed = absorbed_simulator(p, k, replicates, _cell_seed(seed, index, 2)) if absorbed_simulator else None
            out_cells.append(compare_cell(p, k, llm, gmm, mc, level=level, absorbed=absorbed))
            trajectories[(p, k)] = {"llm": llm[0], "gmm": gmm[0]}
            bar.update(1)
    return {
        "gmm": {
            "description": f"continuous GMM mirroring system (MODEL.md 6.1): n=K=30, r={memory}, line, delta=1, sigma=0.2, T=80, "
            f"{tie_order} tie order",
            "parameters": {**GMM_DEFAULTS, "memory": int(memory), "tie_order": tie_order},
            "replicates": replicates,
        },
        "chain": {
            "description": f"mirroring chain Monte Carlo (MODEL.md 6.2): n=K=30, r={memory}, line, clipped ties, silos recorded to "
            "t=80, and run to absorption"
            if chain
            else "not run (--no-chain)",
            "replicates": replicates if chain else 0,
        },
        "seed": seed,
        "test": TEST,
        "level": level,
        "interval": INTERVAL,
        "final_step": out_cells[0]["final_step"] if out_cells else None,
        "cells": out_cells,
        "findings": findings(out_cells),
        "_trajectories": trajectories,
    }


def _chain_absorbed(p, k, replicates, seed, memory=GMM_DEFAULTS["memory"]):
    from ..simulate.mirror_chain_mc import simulate_mirror_chain

    d = GMM_DEFAULTS
    mc = simulate_mirror_chain(
        agents=d["agents"], components=d["components"], memory=memory, neighbours=k, mirror=p,
        replicates=replicates, seed=seed,
    )  # fmt: skip
    return mc.final_silos, mc.steps


def findings(cells):
    """Plain-sentence summary of where the proxy matches and where not."""
    lines = []
    for c in cells:
        chain = f", chain {c['chain']['mean']:.2f}" if c.get("chain") else ""
        if c.get("chain_absorbed"):
            chain += (
                f" (chain at absorption {c['chain_absorbed']['mean']:.2f} after a median "
                f"{c['chain_absorption_steps']['median']:.0f} steps; LLM median t* {c['llm_t_star']['median']:.0f})"
            )
        lines.append(
            f"p={c['p']:g}, k={c['k']}: LLM {c['llm']['mean']:.2f} vs GMM {c['gmm']['mean']:.2f}{chain} final silos; "
            f"{c['verdict']} (p = {c['p_value']:.2g}); {c['direction']}"
        )
    return lines


def _gmm(p, k, replicates, seed, memory=GMM_DEFAULTS["memory"], tie_order="random"):
    from ..simulate.mirror import simulate_mirror

    d = GMM_DEFAULTS
    run = simulate_mirror(
        agents=d["agents"], components=d["components"], memory=memory, neighbours=k, mirror=p,
        geometry=d["geometry"], delta=d["delta"], sigma=d["sigma"], steps=d["steps"], replicates=replicates, seed=seed,
        tie_order=tie_order,
    )  # fmt: skip
    return run.silos


def _chain(p, k, replicates, seed, memory=GMM_DEFAULTS["memory"]):
    from ..simulate.mirror_chain_mc import simulate_mirror_chain

    d = GMM_DEFAULTS
    mc = simulate_mirror_chain(
        agents=d["agents"], components=d["components"], memory=memory, neighbours=k, mirror=p,
        replicates=replicates, record_silos=d["steps"], seed=seed,
    )  # fmt: skip
    return mc.silos


# ---------------------------------------------------------------- figures


def _grid_keys(report):
    ps = sorted({c["p"] for c in report["cells"]})
    ks = sorted({c["k"] for c in report["cells"]})
    return ps, ks


def plot_trajectories(report, path):
    """The p x k grid of silo trajectories (one replicate each): LLM block left,
    GMM block right, as in seed 000's comparison figures.  Returns ``path``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    ps, ks = _grid_keys(report)
    trajectories = report["_trajectories"]
    final = report["final_step"]
    fig = Figure(figsize=(2.1 * 2 * len(ks) + 0.6, 2.0 * len(ps) + 0.8), layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subfigures(1, 2, wspace=0.03)
    for sub, which, title in ((left, "llm", "LLM runs (replicate 0)"), (right, "gmm", "GMM mirroring system (replicate 0)")):
        axes = sub.subplots(len(ps), len(ks), sharex=True, sharey=True, squeeze=False)
        sub.suptitle(title, fontsize=11)
        for a, p in enumerate(ps):
            for b, k in enumerate(ks):
                ax = axes[a, b]
                data = trajectories.get((p, k))
                if data is None:
                    ax.set_axis_off()
                    continue
                silos = np.asarray(data[which][: final + 1], dtype=float)
                silos[silos < 0] = np.nan
                t = np.arange(silos.shape[0])
                for i in range(silos.shape[1]):
                    ax.plot(t, silos[:, i], lw=0.8, alpha=0.75)
                ax.set_title(f"p={p:g}, k={k}: S={int(silo_counts(data[which][final]))}", fontsize=8)
                if a == len(ps) - 1:
                    ax.set_xlabel("t", fontsize=8)
                if b == 0:
                    ax.set_ylabel("silo", fontsize=8)
                ax.tick_params(labelsize=7)
    fig.savefig(path, dpi=100)
    return path


def plot_silo_counts(report, path):
    """``S_t`` against ``t`` per cell: mean and 10-90% band over replicates for
    LLM, GMM and chain.  Returns ``path``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    ps, ks = _grid_keys(report)
    by_key = {(c["p"], c["k"]): c for c in report["cells"]}
    fig = Figure(figsize=(3.0 * len(ks), 2.3 * len(ps) + 0.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(ps), len(ks), sharex=True, sharey=True, squeeze=False)
    styles = {"llm": ("LLM", "C3"), "gmm": ("GMM", "C0"), "chain": ("chain", "C2")}
    for a, p in enumerate(ps):
        for b, k in enumerate(ks):
            ax = axes[a, b]
            cell = by_key.get((p, k))
            if cell is None:
                ax.set_axis_off()
                continue
            for which, curve in cell["silo_counts"].items():
                label, colour = styles[which]
                t = np.arange(len(curve["mean"]))
                ax.plot(t, curve["mean"], color=colour, lw=1.4, label=label)
                ax.fill_between(t, curve["q10"], curve["q90"], color=colour, alpha=0.18, lw=0)
            ax.set_yscale("log")
            ax.set_title(f"p={p:g}, k={k}: {cell['verdict']} (MW p={cell['p_value']:.2g})", fontsize=8)
            ax.tick_params(labelsize=7)
            if a == len(ps) - 1:
                ax.set_xlabel("t", fontsize=8)
            if b == 0:
                ax.set_ylabel("S_t (log)", fontsize=8)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("Number of silos S_t: mean and 10-90% band over replicates (LLM: 8 runs per cell)", fontsize=10)
    fig.savefig(path, dpi=100)
    return path
