"""``markovgmm simulate``: the continuous interacting-GMM system (docs/model.md 1,
``--model pool``, the default) or the continuous mirroring system (docs/model.md
6.1, ``--model mirror``).

The two models share ``--agents/-m``, ``--components/-K``, ``--steps/-T``,
``--replicates/-R``, ``--seed``, ``--json``, ``--out``, ``--figure`` and ``--quiet``; their
defaults depend on the model (pool: 3 agents, ``K = 2``, 60 steps; mirror:
30 agents, ``K = 30``, 80 steps).  A flag of the other model is refused.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile

from ..errors import InputError
from ..numbers import jsonable
from ..simulate.continuous import DEFAULTS, simulate
from ..system import GRAPH_NAMES
from ._options import allow_negative_values, check_seed, graph_from_args, print_json

__all__ = ["register", "run"]

MODELS = ("pool", "mirror")

#: Flags of the pool model only (dest -> default).
POOL_ONLY = {
    "dim": DEFAULTS["dim"],
    "separation": DEFAULTS["separation"],
    "lam": str(DEFAULTS["lam"]),
    "alpha": DEFAULTS["alpha"],
    "prune_c": DEFAULTS["prune_c"],
    "n0": DEFAULTS["n0"],
    "n_post": DEFAULTS["n_post"],
    "beta": DEFAULTS["beta"],
    "graph": DEFAULTS["graph"],
    "directed": False,
}

#: Flags of the mirror model only (dest -> flag), beside the shared ones.
MIRROR_ONLY = {
    "memory": "--memory",
    "neighbours": "--neighbours",
    "mirror": "--mirror",
    "geometry": "--geometry",
    "delta": "--delta",
    "sigma": "--sigma",
    "eps": "--eps",
    "variance": "--variance",
    "tie_order": "--tie-order",
}


def _mirror_defaults():
    from ..simulate.mirror import DEFAULTS as mirror

    return mirror


def register(subparsers):
    parser = subparsers.add_parser(
        "simulate",
        help="simulate the continuous interacting-GMM system (seed 002, ||D_t||_F) or the mirroring network (seed 000, silos)",
        description=(
            "--model pool (default): m Gaussian mixtures with shared components that post to and retrieve from a common pool "
            "and update their weights by the Zivkovic rule (docs/model.md 1); reports ||D_t||_F per step and replicate. "
            "--model mirror: n agents that query a partner (themselves with probability p, else one of their k nearest "
            "neighbours in weight space) and update a store of r points and their weights by one EM step (docs/model.md 6.1); "
            "reports the silos, S_t, stability, t* and ||D_t||_F."
        ),
    )
    d = DEFAULTS
    m = _mirror_defaults()
    parser.add_argument("--model", default="pool", help="pool (docs/model.md 1, default) or mirror (docs/model.md 6.1)")
    shared = parser.add_argument_group("both models")
    shared.add_argument(
        "--agents", "-m", type=int, default=None, help=f"number of agents (default {d['agents']} for pool, {m['agents']} for mirror)"
    )
    shared.add_argument(
        "--components", "-K", type=int, default=None, help=f"components K (default {d['components']} for pool, {m['components']} for mirror)"
    )
    shared.add_argument("--steps", "-T", type=int, default=None, help=f"steps (default {d['steps']} for pool, {m['steps']} for mirror)")
    shared.add_argument("--replicates", "-R", type=int, default=1, help="independent replicates (default 1)")
    shared.add_argument("--seed", type=int, default=None, help="root seed (default: fresh entropy, reported)")
    shared.add_argument("--json", action="store_true", help="print one JSON object")
    shared.add_argument("--out", default=None, metavar="FILE", help="write the JSON object to FILE")
    shared.add_argument(
        "--figure",
        default=None,
        metavar="FILE",
        help="also write a PNG of the trajectories: ||D_t||_F of every replicate (pool), each agent's silo in replicate 0 (mirror)",
    )
    shared.add_argument("--quiet", action="store_true", help="no progress bar")
    pool = parser.add_argument_group("--model pool")
    pool.add_argument("--dim", "-d", type=int, default=None, help=f"dimension d (default {d['dim']})")
    pool.add_argument("--separation", type=float, default=None, help=f"spacing of the means mu_k = k*SEP*e_1 (default {d['separation']:g})")
    pool.add_argument("--lam", default=None, help=f"retrieval proportion lambda in [0, 1] (default {d['lam']})")
    pool.add_argument("--alpha", type=float, default=None, help=f"learning rate in (0, 1] (default {d['alpha']:g})")
    pool.add_argument("--prune-c", type=float, default=None, help="Zivkovic pruning constant c >= 0, K*c < 1 (default 0)")
    pool.add_argument("--n0", type=int, default=None, help=f"initial pool size (default {d['n0']})")
    pool.add_argument("--n-post", type=int, default=None, help=f"points posted per agent per step (default {d['n_post']})")
    pool.add_argument("--beta", type=float, default=None, help=f"Dirichlet parameter of the start weights (default {d['beta']:g})")
    pool.add_argument("--graph", default=None, help=f"who sees whose posts: {', '.join(GRAPH_NAMES)} or an edge-list FILE (default complete)")
    pool.add_argument("--directed", action="store_const", const=True, default=None, help="read an edge-list FILE as directed (u v: v reads u)")
    mirror = parser.add_argument_group("--model mirror")
    mirror.add_argument("--memory", type=int, default=None, help=f"store size r (default {m['memory']})")
    mirror.add_argument("--neighbours", type=int, default=None, help=f"k nearest agents a partner is drawn from, 1..n-1 (default {m['neighbours']})")
    mirror.add_argument("--mirror", type=float, default=None, help=f"probability p of querying oneself, in [0, 1] (default {m['mirror']:g})")
    mirror.add_argument("--geometry", default=None, help=f"means: line, circle or simplex (default {m['geometry']})")
    mirror.add_argument("--delta", type=float, default=None, help=f"spacing of the means (default {m['delta']:g})")
    mirror.add_argument("--sigma", type=float, default=None, help=f"component standard deviation (default {m['sigma']:g})")
    mirror.add_argument("--eps", type=float, default=None, help=f"weight clipping level, 0 <= eps < 1/K (default {m['eps']:g})")
    mirror.add_argument("--variance", action="store_const", const=True, default=None, help="the M-step also updates the variances")
    mirror.add_argument("--tie-order", default=None, help="ties at the k-th distance: random (default) or index (lowest agent first)")
    allow_negative_values(parser)
    parser.set_defaults(func=run)


def run(args):
    if args.model not in MODELS:
        raise InputError(f"--model must be one of {', '.join(MODELS)}, got {args.model!r}")
    check_seed(args.seed)
    if args.out is not None:
        check_out_file(args.out)
    if args.figure is not None:
        from ..plots import check_png_path

        check_png_path(args.figure)
    if args.model == "mirror":
        return _run_mirror(args)
    given = [flag for dest, flag in MIRROR_ONLY.items() if getattr(args, dest) is not None]
    if given:
        raise InputError(f"{given[0]} applies to --model mirror only")
    for dest, default in POOL_ONLY.items():
        if getattr(args, dest) is None:
            setattr(args, dest, default)
    return _run_pool(args)


def _run_pool(args):
    graph = graph_from_args(args)
    result = simulate(
        steps=DEFAULTS["steps"] if args.steps is None else args.steps,
        replicates=args.replicates,
        seed=args.seed,
        quiet=args.quiet,
        agents=DEFAULTS["agents"] if args.agents is None else args.agents,
        components=DEFAULTS["components"] if args.components is None else args.components,
        dim=args.dim,
        separation=args.separation,
        lam=args.lam,
        alpha=args.alpha,
        prune_c=args.prune_c,
        n0=args.n0,
        n_post=args.n_post,
        beta=args.beta,
        graph=graph,
    )
    report = _versioned(result.report())
    if args.figure:
        from ..plots import plot_frobenius

        plot_frobenius(result, path=args.figure)
    if args.out:
        _write_atomic(args.out, json.dumps(jsonable(report), indent=2))
    if args.json:
        print_json(report)
        return 0
    p = report["parameters"]
    print(
        f"system      m={p['agents']}, K={p['components']}, d={p['dim']}, lambda={p['lam']}, alpha={p['alpha']:g}, "
        f"c={p['prune_c']:g}, n0={p['n0']}, n_post={p['n_post']}, beta={args.beta:g}, graph={p['graph']}"
    )
    print(f"run         {p['steps']} steps x {p['replicates']} replicates, seed {p['seed']}")
    print(f"{'replicate':<10} {'||D_0||_F':>10} {'||D_T||_F':>10}  outcome    final weights")
    for r in range(result.replicates):
        weights = "; ".join(",".join(f"{w:.3f}" for w in row) for row in result.weights[r, -1])
        print(f"{r:<10} {result.frobenius[r, 0]:>10.4f} {result.frobenius[r, -1]:>10.4f}  {report['final_outcome'][r]:<10} {weights}")
    if args.out:
        print(f"wrote       {args.out}")
    return 0


def _versioned(report):
    """The report with the package ``version`` field (docs/json.md), also in the ``--out`` file."""
    from .. import __version__

    return {**report, "version": __version__}


#: Library parameter -> CLI flag, to name the flag in error messages.
_FLAGS = {"agents": "--agents", "components": "--components", "steps": "--steps", "replicates": "--replicates", "seed": "--seed", **MIRROR_ONLY}


def check_out_file(path):
    """``--out``: a file path in an existing, writable folder (checked before the run)."""
    if not path or not path.strip():
        raise InputError(f"--out: must be a file path, got {path!r}")
    if os.path.isdir(path):
        raise InputError(f"--out: must be a file, got the directory {path!r}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"--out: must be in an existing folder, got {path!r}")
    if os.path.exists(path) and not os.path.isfile(path):
        raise InputError(f"--out: must be a regular file, got {path!r}")
    if not os.access(folder, os.W_OK):
        raise InputError(f"--out: cannot write in {folder!r}")


def _write_atomic(path, text):
    """Write ``text`` to ``path`` through a temporary file in the same folder, then rename: never half-written."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".simulate-", suffix=".json.tmp")
    except OSError as err:
        raise InputError(f"--out: cannot write {path!r} ({err.strerror})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException as err:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(err, OSError):
            raise InputError(f"--out: cannot write {path!r} ({err.strerror})") from None
        raise


#: Caps of the continuous mirroring system, checked here before anything is allocated.
MIRROR_CAPS = {"agents": 10_000, "components": 10_000, "memory": 10**6, "steps": 10**6, "replicates": 10**6}


def _check_mirror_sizes(params, replicates):
    """Closed-form caps on ``simulate --model mirror`` (the library sizes its
    report later, after the weights are made): agents, components, store,
    steps, replicates, ``agents x components``, and ``delta / sigma`` small
    enough for float64 squared distances."""
    values = {**{k: params[k] for k in ("agents", "components", "memory", "steps")}, "replicates": replicates}
    for name, high in MIRROR_CAPS.items():
        value = values[name]
        if isinstance(value, int) and not isinstance(value, bool) and value > high:
            raise InputError(f"--{name} must be an integer <= {high:,} with --model mirror, got {value:,}")
    n, K = values["agents"], values["components"]
    if isinstance(n, int) and isinstance(K, int) and n * K > 10**7:
        raise InputError(f"--components: agents x components must be at most 10,000,000 with --model mirror, got {n:,} x {K:,}")
    delta, sigma = params.get("delta"), params.get("sigma")
    if isinstance(delta, float) and isinstance(sigma, float) and sigma > 0 and delta > 0 and isinstance(K, int):
        if delta * max(K, 1) / sigma > 1e100:
            raise InputError(
                f"--delta: delta x components / sigma must be at most 1e100 (farther means overflow float64 "
                f"likelihoods), got delta={delta:g}, sigma={sigma:g}, components={K}"
            )


def _run_mirror(args):
    from ..simulate.mirror import estimate_bytes, simulate_mirror, MAX_BYTES

    given = [f"--{dest.replace('_', '-')}" for dest, default in POOL_ONLY.items() if getattr(args, dest) is not None]
    if given:
        raise InputError(f"{given[0]} applies to --model pool only")
    m = _mirror_defaults()
    params = {name: getattr(args, name) for name in ("agents", "components", "steps", *MIRROR_ONLY)}
    params = {name: (m.get(name) if value is None else value) for name, value in params.items()}
    params["variance"] = bool(params["variance"])
    params["tie_order"] = params["tie_order"] or "random"
    _check_mirror_sizes(params, args.replicates)
    try:
        if args.json or args.out:
            sizes = [params["agents"], params["components"], params["memory"], params["steps"], args.replicates]
            if all(isinstance(v, int) and v >= 0 for v in sizes) and params["geometry"] in ("line", "circle", "simplex"):
                need = estimate_bytes(*sizes[:3], params["geometry"], sizes[3], sizes[4], variance=params["variance"], report=True)
                if need > MAX_BYTES:
                    raise InputError(
                        f"--replicates x --steps x --agents is too large for the JSON report: about {need / 2**30:.1f} GiB (limit 4 GiB)"
                    )
        run = simulate_mirror(replicates=args.replicates, seed=args.seed, quiet=args.quiet, **params)
    except InputError as err:
        message = str(err)
        for name, flag in _FLAGS.items():
            if message.startswith(name + " ") or message.startswith(name + ":"):
                message = flag + message[len(name) :]
                break
        raise type(err)(message) from None
    report = _versioned(run.report())
    if args.figure:
        from ..plots_mirror import plot_silo_trajectories

        title = f"replicate 0 of {run.replicates}" if run.replicates > 1 else None
        plot_silo_trajectories(run, 0, title=title, legend=True).savefig(args.figure, dpi=110, format="png")
    if args.out:
        _write_atomic(args.out, json.dumps(jsonable(report), indent=2))
    if args.json:
        print_json(report)
        return 0
    p = report["parameters"]
    print(
        f"system      n={p['agents']}, K={p['components']}, r={p['memory']}, k={p['neighbours']}, p={p['mirror']:g}, "
        f"{p['geometry']}, delta={p['delta']:g}, sigma={p['sigma']:g}, eps={p['eps']:g}"
        f"{', variance' if p['variance'] else ''}, ties {p['tie_order']}"
    )
    print(f"run         {p['steps']} steps x {p['replicates']} replicates, seed {p['seed']}")
    print(f"{'replicate':<10} {'S_0':>4} {'S_T':>4} {'t*':>4} {'||D_T||_F':>10}  silo sizes at T")
    for j, rep in enumerate(report["replicates"]):
        print(
            f"{j:<10} {rep['silo_counts'][0]:>4} {rep['silo_counts'][-1]:>4} {rep['t_star']:>4} {rep['frobenius'][-1]:>10.4f}  "
            f"{','.join(str(s) for s in rep['final_silo_sizes'])}"
        )
    if args.out:
        print(f"wrote       {args.out}")
    return 0
