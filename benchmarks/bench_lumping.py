"""Symmetry lumping, exact solves and assembly (issue 5, items 1, 2 and 4).

Cases, each run in a fresh subprocess so that peak memory (``ru_maxrss``) is
its own:

* m=3, K=2, N=10, sync, complete graph, balanced start, exact end to end:
  lumped vs unlumped (build + solve, every class and the expected time) vs a
  plain dense python-flint solve of the full chain (P(polarisation) only);
* m=3 exact on the lumped chain for growing N (how far the exact path goes);
* m=3, N=40 lumped: float (SuperLU) and why exact is out of reach;
* m=4, K=2, N=20 sync (194,481 states): full build time and peak memory,
  float and exact, and the lumped build.

Writes ``benchmarks/results_lumping.md``.  Run: ``python benchmarks/bench_lumping.py``
(about 5 minutes on 2 cores).
"""

import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def case(name, N=None):
    """Run one case in this process and return a dict (called in a subprocess)."""
    from markovgmm.analysis.absorption import absorption_probabilities
    from markovgmm.analysis.classes import closed_classes
    from markovgmm.chain.build import build_chain
    from markovgmm.system import System

    sys.set_int_max_str_digits(0)
    out = {}
    began = time.perf_counter()
    if name in ("m3_lumped_exact", "m3_full_exact", "m3_lumped_float"):
        system = System(agents=3, components=2, memory=N)
        lump, exact = name != "m3_full_exact", name != "m3_lumped_float"
        chain = build_chain(system, exact=exact, lump=lump)
        built = time.perf_counter()
        start = chain.index(((N // 2, N - N // 2),) * 3)
        structure = closed_classes(chain)
        result = absorption_probabilities(chain, start, structure=structure)
        solved = time.perf_counter()
        p = result.polarization()
        out.update(
            states=chain.n_full_states,
            solved_states=chain.n_states,
            transient=int(len(structure.transient)),
            transitions=chain.n_transitions,
            build=built - began,
            solve=solved - built,
            polarization=float(p),
            digits=len(str(p.denominator)) if exact else None,
        )
        if exact:
            out["polarization_exact"] = f"{p.numerator}/{p.denominator}"
    elif name == "m3_plain_dense":
        sys.path.insert(0, HERE)
        from bench_core import plain_dense_flint

        system = System(agents=3, components=2, memory=N)
        chain = build_chain(system, exact=True)
        value = plain_dense_flint(chain, chain.index(((N // 2, N - N // 2),) * 3))
        out.update(total=time.perf_counter() - began, polarization_exact=f"{value.numerator}/{value.denominator}")
    elif name in ("m4_full_float", "m4_full_exact", "m4_lumped_exact"):
        system = System(agents=4, components=2, memory=N)
        chain = build_chain(system, exact=name != "m4_full_float", lump=name == "m4_lumped_exact")
        out.update(
            states=chain.n_states,
            transitions=chain.n_transitions,
            build=time.perf_counter() - began,
            dtype=str(chain.values.dtype),
            denominator=str(chain.denominator),
        )
    out["peak_mib"] = peak_mib()
    return out


def peak_mib():
    """Peak resident memory of this process (VmHWM: ``ru_maxrss`` would include the
    parent's size at fork, which Linux carries across exec)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(name, N, timeout=900):
    done = subprocess.run(
        [sys.executable, __file__, "--case", name, str(N)], capture_output=True, text=True, timeout=timeout, cwd=HERE
    )
    if done.returncode != 0:
        raise RuntimeError(f"{name} N={N} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(name, N, {k: v for k, v in result.items() if k != "polarization_exact"}, file=sys.stderr, flush=True)
    return result


def main():
    import flint
    import numpy

    lines = [
        "# Lumping, exact solves and assembly (issue 5)",
        "",
        f"python {sys.version.split()[0]}, numpy {numpy.__version__}, python-flint {flint.__version__}, "
        f"{os.cpu_count()} cores (shared with other jobs: times are wall clock, ratios measured side by side).",
        "",
        "## m=3, K=2, N=10, sync, complete graph, start 5,5;5,5;5,5, exact end to end",
        "",
        "| run | states solved | seconds | peak MiB |",
        "|---|---|---|---|",
    ]
    lumped = run("m3_lumped_exact", 10)
    full = run("m3_full_exact", 10)
    plain = run("m3_plain_dense", 10)
    assert lumped["polarization_exact"] == full["polarization_exact"] == plain["polarization_exact"], "exact results disagree"
    lines += [
        f"| lumped chain (S_3 orbits), build + solve, all classes + expected time | {lumped['solved_states']} | "
        f"{lumped['build'] + lumped['solve']:.2f} | {lumped['peak_mib']:.0f} |",
        f"| full chain, build + solve, all classes + expected time | {full['solved_states']} | "
        f"{full['build'] + full['solve']:.2f} | {full['peak_mib']:.0f} |",
        f"| plain dense python-flint solve of the full chain, P(polarisation) only | {full['solved_states']} | "
        f"{plain['total']:.2f} | {plain['peak_mib']:.0f} |",
        "",
        f"All three give the same rational, P(polarisation) = {lumped['polarization']:.15g} "
        f"(denominator {lumped['digits']} digits).",
        "",
        "## m=3 exact on the lumped chain, growing N",
        "",
        "Every exact block solution is verified by substituting it back exactly.",
        "",
        "| N | full states | orbits | transient orbits | build s | solve s | P(polarisation) | denominator digits |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for N in (10, 14, 18, 22):
        r = run("m3_lumped_exact", N, timeout=1800)
        lines.append(
            f"| {N} | {r['states']:,} | {r['solved_states']:,} | {r['transient']:,} | {r['build']:.2f} | {r['solve']:.1f} | "
            f"{r['polarization']:.6e} | {r['digits']:,} |"
        )
    lines += [""]
    f40 = run("m3_lumped_float", 40)
    lines += [
        "## m=3, N=40 on the lumped chain (12,341 orbits instead of 68,921 states)",
        "",
        f"Float (block SuperLU): build {f40['build']:.2f} s, solve {f40['solve']:.1f} s, "
        f"{f40['transitions']:,} lumped transitions, peak {f40['peak_mib']:.0f} MiB; "
        f"P(polarisation) = {f40['polarization']:.4e} (no error bound: the direct float solve loses relative "
        "accuracy at this size; see the certified path).",
        "",
        "Exact is out of reach at this size with these methods: the interior block (all three agents",
        "holding both labels) has C(41, 3) = 10,660 orbits that all reach each other, and the exact",
        "solution's denominators grow by about 4 decimal digits per orbit of that block (517 digits",
        "for 165 interior orbits at N=10, 3,685 for 969 at N=18), so about 4.5e4 digits here.",
        "p-adic lifting needs about 2 * 4.5e4 / 9.3 = 1e4 steps, each a dense product with the",
        "10,660 x 10,660 inverse modulo p (2.3e9 flops), i.e. hours, before the exact check.",
        "",
        "## m=4, K=2, N=20, sync, complete graph: assembly",
        "",
        "| build | states | transitions | seconds | peak MiB | values |",
        "|---|---|---|---|---|---|",
    ]
    for name, label in (("m4_full_float", "full, float64"), ("m4_full_exact", "full, exact"), ("m4_lumped_exact", "lumped (S_4), exact")):
        r = run(name, 20)
        values = r["dtype"] + ("" if name == "m4_full_float" else f" numerators over {r['denominator']}")
        lines.append(f"| {label} | {r['states']:,} | {r['transitions']:,} | {r['build']:.2f} | {r['peak_mib']:.0f} | {values} |")
    lines += [
        "",
        "Peak MiB is the whole process (VmHWM: Python, numpy, the chain and the assembly temporaries).",
        "Assembly is chunked (about 4M expanded transitions per chunk) so temporaries stay bounded.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(HERE, "results_lumping.md"), "w") as handle:
        handle.write(text + "\n")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--case":
        print(json.dumps(case(sys.argv[2], int(sys.argv[3]))))
    else:
        main()
