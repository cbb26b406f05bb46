"""``markovgmm simulate``: the continuous interacting-GMM system (MODEL.md 1)."""

from __future__ import annotations

import json

from ..errors import InputError
from ..numbers import jsonable
from ..simulate.continuous import DEFAULTS, simulate
from ..system import GRAPH_NAMES
from ._options import graph_from_args, print_json

__all__ = ["register", "run"]


def register(subparsers):
    parser = subparsers.add_parser(
        "simulate",
        help="simulate the continuous interacting-GMM system (seed 002) and its ||D_t||_F",
        description=(
            "Simulate m Gaussian mixtures with shared components that post to and retrieve from a common pool "
            "and update their weights by the Zivkovic rule (MODEL.md 1). Reports ||D_t||_F per step and replicate."
        ),
    )
    d = DEFAULTS
    parser.add_argument("--agents", "-m", type=int, default=d["agents"], help=f"number of mixtures m (default {d['agents']})")
    parser.add_argument("--components", "-K", type=int, default=d["components"], help=f"components K (default {d['components']})")
    parser.add_argument("--dim", "-d", type=int, default=d["dim"], help=f"dimension d (default {d['dim']})")
    parser.add_argument(
        "--separation", type=float, default=d["separation"], help=f"spacing of the means mu_k = k*SEP*e_1 (default {d['separation']:g})"
    )
    parser.add_argument("--steps", "-T", type=int, default=d["steps"], help=f"steps (default {d['steps']})")
    parser.add_argument("--lam", default=str(d["lam"]), help=f"retrieval proportion lambda in [0, 1] (default {d['lam']})")
    parser.add_argument("--alpha", type=float, default=d["alpha"], help=f"learning rate in (0, 1] (default {d['alpha']:g})")
    parser.add_argument("--prune-c", type=float, default=d["prune_c"], help="Zivkovic pruning constant c >= 0, K*c < 1 (default 0)")
    parser.add_argument("--n0", type=int, default=d["n0"], help=f"initial pool size (default {d['n0']})")
    parser.add_argument("--n-post", type=int, default=d["n_post"], help=f"points posted per agent per step (default {d['n_post']})")
    parser.add_argument("--beta", type=float, default=d["beta"], help=f"Dirichlet parameter of the start weights (default {d['beta']:g})")
    parser.add_argument(
        "--graph", default=d["graph"], help=f"who sees whose posts: {', '.join(GRAPH_NAMES)} or an edge-list FILE (default complete)"
    )
    parser.add_argument("--directed", action="store_true", help="read an edge-list FILE as directed (u v: v reads u)")
    parser.add_argument("--replicates", "-R", type=int, default=1, help="independent replicates (default 1)")
    parser.add_argument("--seed", type=int, default=None, help="root seed (default: fresh entropy, reported)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--out", default=None, metavar="FILE", help="write the JSON object to FILE")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args):
    graph = graph_from_args(args)
    if args.seed is not None and args.seed < 0:
        raise InputError(f"seed must be a nonnegative integer, got {args.seed}")
    result = simulate(
        steps=args.steps,
        replicates=args.replicates,
        seed=args.seed,
        quiet=args.quiet,
        agents=args.agents,
        components=args.components,
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
    report = result.report()
    if args.out:
        try:
            with open(args.out, "w", encoding="utf-8") as handle:
                json.dump(jsonable(report), handle, indent=2)
        except OSError as err:
            raise InputError(f"out: cannot write {args.out!r} ({err.strerror})") from None
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
