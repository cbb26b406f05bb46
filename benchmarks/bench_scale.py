"""Scale benchmark (issue 5): markovgmm against Storm, side by side, and how
cost grows with the memory N and the number of agents m.

For each case the script measures, in a fresh child process per engine (so
peak memory is that engine's alone):

* markovgmm: chain build and solve time, peak resident memory, states and
  transitions of the chain built (orbits when lumped), P(polarisation) from
  the balanced start -- exact (rational), float64, and certified (an interval
  that provably contains the exact value) when
  :mod:`markovgmm.analysis.certified` is installed;
* Storm (stormpy 2.0) on the *full* chain written as DRN (exact fractions):
  model build (DRN parse) and model-checking time of ``P=? [F "polar"]``
  with the exact engine (small cases only: it needs ~800 s at m=3, N=10) or
  the float engine, and its peak memory.

Every value is checked in the same run: markovgmm exact equals Storm exact,
certified intervals contain the exact value, and float answers are reported
with their relative error against the exact value or the certified interval.
A second part fits ``time ~ states^b`` per engine over a family of memories
for m = 2, 3, 4.  Writes ``benchmarks/results_scale.md``.

Run: ``python benchmarks/bench_scale.py`` (about 10 minutes on 2 cores;
``--quick`` for a smoke run of the smallest cases).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from fractions import Fraction

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # this checkout's markovgmm, not an installed copy
CHILD_TIMEOUT = 120
GROWTH_TIMEOUT = 120


# ---------------------------------------------------------------------------
# Child processes: one engine, one case; print one JSON line.
# ---------------------------------------------------------------------------
def _rss_mib():
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mib():
    """Peak resident memory of this process (VmHWM: reset at exec, unlike
    ``ru_maxrss``, which a child inherits from the parent that started it)."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _system(spec):
    from markovgmm.system import System

    return System(agents=spec["m"], components=spec.get("K", 2), memory=spec["N"], schedule=spec.get("schedule", "sync"))


def _start(system):
    from markovgmm.system import balanced_counts

    return (balanced_counts(system.memory, system.components),) * system.agents


def _warm_up(spec):
    """Run a tiny case of the same kind first, so lazy imports and first-call
    set-up are not timed."""
    small = dict(spec, N=2)
    if spec["mode"] == "storm":
        return
    child_markovgmm(small)


def child_markovgmm(spec):
    from markovgmm.analysis.absorption import absorption_probabilities
    from markovgmm.chain.build import build_chain
    from markovgmm.numbers import fraction_str

    system = _system(spec)
    mode = spec["mode"]
    exact = mode != "float"  # the certified enclosure works on the exact chain
    began = time.perf_counter()
    chain = build_chain(system, exact=exact, lump=spec["lump"])
    build_s = time.perf_counter() - began
    start = chain.index(_start(system))
    began = time.perf_counter()
    out = {}
    if mode == "certified":
        from markovgmm.analysis.certified import certified_absorption

        lo, hi = _certified_interval(certified_absorption(chain, start))
        out.update(lo=lo, hi=hi)
    else:
        value = absorption_probabilities(chain, start).polarization()
        out["value"] = fraction_str(value) if mode == "exact" else repr(float(value))
    solve_s = time.perf_counter() - began
    out.update(
        states=chain.n_states,
        full_states=system.n_states,
        transitions=chain.n_transitions,
        build_s=build_s,
        solve_s=solve_s,
        peak_mib=_peak_mib(),
    )
    return out


def _certified_interval(box):
    """(lower, upper) of a CertifiedInterval as exact "p/q" strings."""
    from markovgmm.numbers import fraction_str

    return fraction_str(box.lower), fraction_str(box.upper)


def child_storm(spec):
    import stormpy

    exact = spec["mode"] == "exact"
    began = time.perf_counter()
    model = stormpy.build_model_from_drn[stormpy.Rational if exact else float](spec["drn"])
    build_s = time.perf_counter() - began
    began = time.perf_counter()
    result = stormpy.model_checking(model, stormpy.parse_properties('P=? [F "polar"]')[0])
    value = result.get_value(model.initial_states[0])
    solve_s = time.perf_counter() - began
    return {
        "value": str(value) if exact else repr(float(value)),
        "states": model.nr_states,
        "transitions": model.nr_transitions,
        "build_s": build_s,
        "solve_s": solve_s,
        "peak_mib": _peak_mib(),
    }


def run_child(engine, specs, timeout=CHILD_TIMEOUT):
    """Run one engine on a list of cases (in this order) in a fresh interpreter.

    Returns one dict per case, ``{"error": ...}`` for cases that failed or
    did not finish within ``timeout`` seconds (for all of them together)."""
    command = [sys.executable, os.path.abspath(__file__), "--child", engine, json.dumps(specs)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        stdout, failure = done.stdout, None
        if done.returncode != 0:
            failure = ((done.stderr or "").strip().splitlines() or ["?"])[-1][:200]
    except subprocess.TimeoutExpired as err:
        stdout = err.stdout.decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
        failure = f"timeout after {timeout} s"
    results = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return results + [{"error": failure or "no result"}] * (len(specs) - len(results))


def child_main(engine, specs):
    """Child process: warm up, then run each case and print one JSON line per case."""
    sys.set_int_max_str_digits(0)  # exact results have more than 4300 digits from m=3, N=20 on
    base = _rss_mib()
    if engine == "markovgmm":
        _warm_up(specs[0])
        base = _rss_mib()
    else:
        import stormpy  # noqa: F401

        base = _rss_mib()
    for spec in specs:
        result = (child_markovgmm if engine == "markovgmm" else child_storm)(spec)
        result["base_mib"] = base
        print(json.dumps(result), flush=True)


# ---------------------------------------------------------------------------
# Parent: cases, checks, tables.
# ---------------------------------------------------------------------------
def certified_available():
    try:
        from markovgmm.analysis.certified import certified_absorption  # noqa: F401
    except ImportError:
        return False
    return True


def write_full_drn(spec, folder):
    """The full (unlumped) exact chain as Storm DRN; returns (path, seconds)."""
    from markovgmm.chain.build import build_chain
    from markovgmm.io.export import write_drn

    system = _system(spec)
    chain = build_chain(system, exact=True)
    path = os.path.join(folder, f"m{spec['m']}_N{spec['N']}.drn")
    began = time.perf_counter()
    write_drn(chain, chain.index(_start(system)), path)
    return path, time.perf_counter() - began


def name(spec):
    return f"m={spec['m']}, N={spec['N']}"


def fmt_s(x):
    return "-" if x is None else (f"{x:.3f}" if x < 10 else f"{x:.1f}")


def rel_error(value, exact):
    if exact == 0:
        return abs(value)
    return abs(value - exact) / abs(exact)


def side_by_side(cases, folder, log):
    """Part 1: each case through markovgmm and Storm; returns table rows and the findings."""
    rows, checks = [], []
    have_certified = certified_available()
    for spec in cases:
        modes = list(spec["modes"]) + (["certified"] if have_certified and spec.get("certified") else [])
        results = {}
        for mode in modes:
            for lump in spec.get("lump", [True]):
                key = ("markovgmm", mode, lump)
                (results[key],) = run_child("markovgmm", [dict(spec, mode=mode, lump=lump)], spec.get("timeout", CHILD_TIMEOUT))
                log(f"{name(spec)} markovgmm {mode} lump={lump}: {_brief(results[key])}")
        drn_s = None
        if spec.get("storm"):
            path, drn_s = write_full_drn(spec, folder)
            for mode in spec["storm"]:
                (results[("storm", mode, False)],) = run_child("storm", [dict(spec, mode=mode, drn=path)], spec.get("timeout", CHILD_TIMEOUT))
                log(f"{name(spec)} storm {mode}: {_brief(results[('storm', mode, False)])}")
            os.remove(path)
        exact = _exact_value(results)
        interval = _interval_value(results)
        for (engine, mode, lump), r in results.items():
            row = {"case": name(spec), "engine": engine, "mode": mode + (" (lumped)" if lump else ""), **r}
            if "error" not in r:
                row["check"] = _check(f"{engine} {row['mode']}", mode, r, exact, interval, checks, spec)
                storm = results.get(("storm", "exact" if mode == "exact" else "float", False))
                if engine == "markovgmm" and storm and "error" not in storm:
                    row["ratio"] = (storm["build_s"] + storm["solve_s"]) / max(r["build_s"] + r["solve_s"], 1e-9)
            if engine == "storm":
                row["drn_s"] = drn_s
            rows.append(row)
    return rows, checks


def _brief(r):
    if "error" in r:
        return "ERROR " + r["error"]
    value = r.get("value") or f"[{float(Fraction(r['lo'])):.6e}, {float(Fraction(r['hi'])):.6e}]"
    if "/" in str(value):
        value = f"{float(Fraction(value)):.12e} (exact)"
    return f"{r['states']} states, build {r['build_s']:.2f} s, solve {r['solve_s']:.2f} s, peak {r['peak_mib']:.0f} MiB, P = {value}"


def _exact_value(results):
    for (engine, mode, _), r in results.items():
        if mode == "exact" and "error" not in r:
            return Fraction(r["value"])
    return None


def _interval_value(results):
    for (_, mode, _), r in results.items():
        if mode == "certified" and "error" not in r:
            return Fraction(r["lo"]), Fraction(r["hi"])
    return None


def _check(engine, mode, r, exact, interval, checks, spec):
    if mode == "exact":
        if exact is None:
            return "-"
        ok = Fraction(r["value"]) == exact
        checks.append((f"{name(spec)}: {engine} equals the other exact results", ok))
        return "equal" if ok else "DIFFERS"
    if mode == "certified":
        lo, hi = Fraction(r["lo"]), Fraction(r["hi"])
        width = (hi - lo) / lo if lo > 0 else float("inf")
        text = f"rel. width {float(width):.1e}"
        if exact is not None:
            ok = lo <= exact <= hi
            checks.append((f"{name(spec)}: {engine} interval contains the exact value", ok))
            text += ", contains exact" if ok else ", MISSES exact"
        return text
    value = float(r["value"])
    if exact is not None:
        return f"rel. error {rel_error(value, float(exact)):.1e}"
    if interval is not None:
        lo, hi = interval
        inside = lo <= Fraction(value) <= hi
        mid = float((lo + hi) / 2)
        return f"rel. error {rel_error(value, mid):.1e} vs certified" + (" (inside it)" if inside else "")
    return "-"


def growth(families, log):
    """Part 2: how cost grows with N and m (markovgmm, lumped, balanced start)."""
    rows = []
    for m, mode, Ns in families:
        specs = [{"m": m, "N": N, "mode": mode, "lump": True} for N in Ns]
        for spec, r in zip(specs, run_child("markovgmm", specs, GROWTH_TIMEOUT)):
            log(f"growth m={m} N={spec['N']} {mode}: {_brief(r)}")
            rows.append({"m": m, "N": spec["N"], "mode": mode, **r})
    fits = []
    for m, mode, _ in families:
        pts = [(r["states"], r["build_s"] + r["solve_s"], r["N"]) for r in rows if r["m"] == m and r["mode"] == mode and "error" not in r]
        pts = [p for p in pts if p[1] >= 0.02]  # below this, timer noise dominates
        if len(pts) >= 2:
            slope, _ = np.polyfit(np.log([p[0] for p in pts]), np.log([p[1] for p in pts]), 1)
            fits.append((m, mode, f"{pts[0][2]}..{pts[-1][2]}", slope))
    return rows, fits


def render(side, checks, grow, fits, seconds, have_certified):
    import flint
    import scipy

    try:
        import stormpy

        storm_version = getattr(stormpy, "__version__", "?")
    except ImportError:
        storm_version = "not installed"
    lines = [
        "# Scale benchmark (issue 5)",
        "",
        f"Generated by `benchmarks/bench_scale.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: "
        f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"python-flint {flint.__version__}, stormpy {storm_version}, {os.cpu_count()} cores (shared with other jobs); "
        f"whole run {seconds:.0f} s.",
        "",
        "K = 2, r = 1, sync, support ownership, complete graph, balanced start; P = P(polarisation).  "
        "Each engine runs in its own fresh process; *peak* is that process's peak resident memory "
        "(python + numpy + flint imports included, about the *base* column; in part 2 one process runs a "
        "family in increasing N, so *peak* is the running maximum).  Timings exclude imports and first-call set-up "
        "(each process first solves a tiny case of the same kind).  markovgmm builds the chain "
        "lumped on orbits of the agents' symmetry group (`build_chain(lump=True)`) unless marked otherwise; "
        "Storm reads the *full* chain from a DRN file (exact fractions; writing it is the *DRN s* column, "
        "not included in Storm's time).  *ratio* = Storm (build + check) / markovgmm (build + solve), "
        "same arithmetic.",
        "",
        "## 1. markovgmm and Storm side by side",
        "",
        "| case | engine | arithmetic | states | transitions | build s | solve s | peak MiB (base) | ratio | P(polarisation) | check |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in side:
        if "error" in r:
            lines.append(f"| {r['case']} | {r['engine']} | {r['mode']} | | | | | | | error: {r['error']} | |")
            continue
        if "value" in r:
            value = r["value"]
            shown = f"{float(Fraction(value)):.10e}" if "/" in value or r["mode"].startswith("exact") else f"{float(value):.10e}"
        else:
            shown = f"[{float(Fraction(r['lo'])):.10e}, {float(Fraction(r['hi'])):.10e}]"
        ratio = f"{r['ratio']:.2g}" if r.get("ratio") else ""
        states = f"{r['states']:,}" + (f" of {r['full_states']:,}" if r.get("full_states") and r["full_states"] != r["states"] else "")
        extra = f" (DRN {fmt_s(r['drn_s'])} s)" if r.get("drn_s") is not None else ""
        lines.append(
            f"| {r['case']} | {r['engine']}{extra} | {r['mode']} | {states} | {r['transitions']:,} | {fmt_s(r['build_s'])} | "
            f"{fmt_s(r['solve_s'])} | {r['peak_mib']:.0f} ({r['base_mib']:.0f}) | {ratio} | {shown} | {r.get('check', '')} |"
        )
    if not have_certified:
        lines += ["", "`markovgmm.analysis.certified` was not installed when this ran: no certified rows."]
    lines += ["", "Checks in this run:", ""]
    lines += [f"- {'ok' if ok else 'FAILED'}: {text}" for text, ok in checks] or ["- none"]
    lines += [
        "",
        "## 2. How cost grows with N and m (markovgmm, lumped chain)",
        "",
        "| m | N | arithmetic | orbits (full states) | transitions | build s | solve s | peak MiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in grow:
        if "error" in r:
            lines.append(f"| {r['m']} | {r['N']} | {r['mode']} | | | | | error: {r['error']} |")
            continue
        lines.append(
            f"| {r['m']} | {r['N']} | {r['mode']} | {r['states']:,} ({r['full_states']:,}) | {r['transitions']:,} | "
            f"{fmt_s(r['build_s'])} | {fmt_s(r['solve_s'])} | {r['peak_mib']:.0f} |"
        )
    lines += ["", "Log-log fit of build + solve time against the number of orbits, `time ~ orbits^b`:", ""]
    lines += ["| m | arithmetic | N (points with time >= 0.02 s) | b |", "|---|---|---|---|"]
    lines += [f"| {m} | {mode} | {n} | {b:.2f} |" for m, mode, n, b in fits]
    return "\n".join(lines) + "\n"


# Part 1: Storm exact on small cases only (it needs ~800 s at m=3, N=10); Storm float on the larger ones.
CASES = [
    {"m": 2, "N": 10, "modes": ["exact", "float"], "lump": [True, False], "storm": ["exact", "float"], "certified": True},
    {"m": 2, "N": 20, "modes": ["exact", "float"], "storm": ["exact", "float"], "certified": True},
    {"m": 3, "N": 4, "modes": ["exact", "float"], "lump": [True, False], "storm": ["exact", "float"], "certified": True},
    {"m": 3, "N": 6, "modes": ["exact", "float"], "storm": ["exact", "float"], "certified": True},
    {"m": 3, "N": 10, "modes": ["exact", "float"], "lump": [True, False], "storm": ["float"], "certified": True},
    {"m": 3, "N": 20, "modes": ["exact", "float"], "storm": ["float"], "certified": True, "timeout": 180},
    {"m": 3, "N": 40, "modes": ["float"], "storm": ["float"], "certified": True},
    {"m": 4, "N": 10, "modes": ["float"], "storm": ["float"], "certified": True},
    {"m": 4, "N": 20, "modes": ["float"], "storm": ["float"], "certified": True, "timeout": 300},
]
# Part 2: (m, arithmetic, memories), one process per family, in increasing N.
FAMILIES = [
    (2, "exact", [10, 20, 30, 40]),
    (3, "exact", [4, 6, 8, 10, 14]),
    (4, "exact", [4, 5, 6]),
    (2, "float", [20, 40, 80, 160]),
    (3, "float", [10, 20, 30, 40]),
    (4, "float", [5, 10, 15, 20]),
    (3, "certified", [10, 20, 30, 40]),
    (4, "certified", [5, 10, 15, 20]),
]
QUICK_CASES = [
    {"m": 2, "N": 6, "modes": ["exact", "float"], "lump": [True, False], "storm": ["exact", "float"], "certified": True},
    {"m": 3, "N": 4, "modes": ["exact", "float"], "storm": ["exact", "float"], "certified": True},
]
QUICK_FAMILIES = [(2, "exact", [4, 6, 8]), (3, "float", [4, 6])]


# ---------------------------------------------------------------------------
# Many agents (issue 12 item 1): the same lumped chain fed to markovgmm and Storm.
# ---------------------------------------------------------------------------
AGENT_CASES = [(5, 10), (6, 8), (7, 7), (8, 6), (9, 6), (10, 5), (9, 8)]


def many_agents(out_path, cases=AGENT_CASES):
    """markovgmm float end to end (lumped build + solve) and certified (exact
    lumped build + certified enclosure) against Storm's float engine on the
    same lumped chain (its DRN export; Storm's time = DRN parse + model
    check, the export itself not counted), in this one process."""
    sys.path.insert(0, HERE)
    from _shared import storm_float

    from markovgmm.analysis.absorption import absorption_probabilities
    from markovgmm.analysis.certified import certified_absorption
    from markovgmm.chain.build import build_chain

    build_chain(_system({"m": 3, "N": 2}), exact=False, lump=True)  # warm-up
    rows = []
    for m, N in cases:
        system = _system({"m": m, "N": N})
        began = time.perf_counter()
        chain = build_chain(system, exact=False, lump=True)
        start = chain.index(_start(system))
        value = float(absorption_probabilities(chain, start).polarization())
        float_s = time.perf_counter() - began
        began = time.perf_counter()
        exact_chain = build_chain(system, exact=True, lump=True)
        box = certified_absorption(exact_chain, exact_chain.index(_start(system)), rtol=1e-9)
        cert_s = time.perf_counter() - began
        storm_value, storm_s = storm_float(exact_chain, exact_chain.index(_start(system)))
        lo, hi = float(box.lower), float(box.upper)
        rows.append((m, N, chain.n_states, chain.n_transitions, float_s, value, cert_s, lo, hi, box.relative_width, storm_s, storm_value))
        print(rows[-1], flush=True)
        _write_agents(out_path, rows)  # after every case: a stopped run keeps the rows it finished


def _write_agents(out_path, rows):
    lines = [
        "# Many agents: markovgmm against Storm on the same lumped chain (issue 12 item 1)",
        "",
        f"`python benchmarks/bench_scale.py --agents` on {platform.node()} ({os.cpu_count()} cores); K = 2, r = 1, sync, support,",
        "complete graph, balanced start; the chain lumped by S_m (population build).  markovgmm float = lumped float build",
        "+ solve from the System; certified = exact lumped build + certified enclosure (rtol 1e-9); Storm = float engine",
        "(default settings) reading the same lumped chain's DRN export, parse + check (the export is not counted).",
        "Ratio = markovgmm time / Storm time (target <= 1 for float); all in one process, one run;",
        f"machine shared (1-minute load average {os.getloadavg()[0]:.1f} when this table was written on 2 cores).",
        "",
        "| m, N | orbits | transitions | markovgmm float | certified (rel. width) | Storm float | float / Storm | certified / float |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m, N, n, T, fs, v, cs, lo, hi, w, ss, sv in rows:
        ratio = f"{fs / ss:.2f}" if ss else "-"
        storm = f"{ss:.2f} s ({sv:.6e})" if ss else "no stormpy"
        lines.append(
            f"| {m}, {N} | {n:,} | {T:,} | {fs:.2f} s ({v:.6e}) | {cs:.2f} s ({w:.1e}) | {storm} | {ratio} | {cs / fs:.2f} |"
        )
    with open(out_path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def certified_memory(out_path, memories=(70, 80, 100, 150, 200)):
    """m = 3, K = 2, balanced start: certified P(polarisation) to rtol 1e-9 at
    large N (issue 12 item 3); one line per N, with the reason where it stops.
    The chain is lumped by agents and components (S_3 x S_2: the balanced start
    and the default means are symmetric under swapping the two components)."""
    import resource

    from markovgmm.analysis.certified import certified_absorption
    from markovgmm.chain.lumped import build_lumped_chain

    lines = [
        "# Certified P(polarisation) at large memory (issue 12 item 3)",
        "",
        "`python benchmarks/bench_scale.py --certified-memory`; m = 3, K = 2, r = 1, sync, support, complete graph,",
        "balanced start, chain lumped by S_3 x S_2 (agents and components), rtol = 1e-9.  Every interval below is",
        f"proven (exact final checks).  Machine: {os.cpu_count()} cores shared with other jobs; peak RSS of the whole process.",
        "",
        "| N | orbits | build | certify | P(polarisation) in | rel. width | peak RSS | path |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for N in memories:
        system = _system({"m": 3, "N": N})
        began = time.perf_counter()
        try:
            chain = build_lumped_chain(system, exact=True, components=True)
            build_s = time.perf_counter() - began
            began = time.perf_counter()
            box = certified_absorption(chain, chain.index(_start(system)), rtol=1e-9, max_refinements=30)
            cert_s = time.perf_counter() - began
            lo, hi = box.decimal(12)
            path = "whole system" if box.refinements else "blockwise (small blocks exact, large ones LU or ILU-BiCGSTAB)"
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
            lines.append(
                f"| {N} | {chain.n_states:,} | {build_s:.1f} s | {cert_s:.1f} s | [{lo}, {hi}] | {box.relative_width:.1e} | {rss:.1f} GB | {path} |"
            )
        except Exception as err:  # one line, why
            lines.append(f"| {N} | {system.n_states:,} full | - | - | not certified | - | - | {type(err).__name__}: {str(err)[:160]} |")
        print(lines[-1], flush=True)
        with open(out_path, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")


DEFAULT_OUT = os.path.join(HERE, "results_scale.md")


def main(argv=None):
    sys.set_int_max_str_digits(0)  # exact results are compared as Fractions parsed from "p/q"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "SPEC"), help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="smallest cases only (smoke run)")
    parser.add_argument("--agents", action="store_true", help="only the many-agent comparison (results_scale_agents.md)")
    parser.add_argument("--certified-memory", action="store_true", help="only m=3 certified at N=70..200 (results_scale_certified.md)")
    parser.add_argument("--memories", default="70,80,100,150,200", help="with --certified-memory: the values of N (comma-separated)")
    parser.add_argument("--out", default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.child:
        child_main(args.child[0], json.loads(args.child[1]))
        return 0
    if args.agents:
        many_agents(os.path.join(HERE, "results_scale_agents.md"))
        return 0
    if args.certified_memory:
        certified_memory(args.out if args.out != DEFAULT_OUT else os.path.join(HERE, "results_scale_certified.md"),
                         tuple(int(n) for n in args.memories.split(",")))
        return 0
    began = time.perf_counter()
    log = lambda text: print(f"[{time.perf_counter() - began:6.1f} s] {text}", file=sys.stderr, flush=True)  # noqa: E731
    with tempfile.TemporaryDirectory() as folder:
        side, checks = side_by_side(QUICK_CASES if args.quick else CASES, folder, log)
    grow, fits = growth(QUICK_FAMILIES if args.quick else FAMILIES, log)
    text = render(side, checks, grow, fits, time.perf_counter() - began, certified_available())
    with open(args.out, "w") as handle:
        handle.write(text)
    print(text)
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
