"""Hostile input (issue 14): every bad input gets one line naming the parameter
and what is allowed, exit 2, before anything is built or allocated, with no
traceback and nothing written.

The table runs through the real command line, a few subprocesses in all: one
runner process per chunk of the table, each case under
``RLIMIT_AS = 2 GiB`` (an input that allocates before refusing dies there
instead of passing) and a per-case time limit.  Each case runs ``main(argv)``
in a forked child, so the package is imported once per chunk.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

HUGE = "1" + "0" * 200
BINARY = b"\xff\xfe\x00\x01\x80\x81binary\x00\xc3\x28"

#: (id, argv, text the one error line must contain).  ``{bin}``, ``{tmp}``,
#: ``{cfg_*}`` are filled in with files made for the test.
CASES = [
    # binary (non-UTF-8) files
    ("absorb-graph-binary", ["absorb", "--graph", "{bin}"], "graph: an edge-list file must be UTF-8 text"),
    ("bounds-graph-binary", ["bounds", "--graph", "{bin}"], "graph: an edge-list file must be UTF-8 text"),
    ("simulate-graph-binary", ["simulate", "--graph", "{bin}"], "graph: an edge-list file must be UTF-8 text"),
    ("simulate-chain-graph-binary", ["simulate-chain", "--graph", "{bin}"], "graph: an edge-list file must be UTF-8 text"),
    ("verify-config-binary", ["verify", "--config", "{bin}"], "config: must be a UTF-8 JSON file"),
    ("ensemble-models-binary", ["ensemble", "--models", "{bin}"], "models: must be a UTF-8 JSON file"),
    ("sweep-config-binary", ["sweep", "{bin}", "--out", "{tmp}/t.csv"], "config: must be a UTF-8 JSON file"),
    ("sweep-out-binary", ["sweep", "{cfg_sweep}", "--out", "{bin}"], "out: must be a new file or a sweep table"),
    ("absorb-graph-directory", ["absorb", "--graph", "{tmp}"], "graph must be one of"),
    # size messages that used to overflow
    ("absorb-agents-442", ["absorb", "--agents", "442"], "agents/memory: C(N+K-1, K-1)^m = about 8.8e+308 states"),
    ("absorb-agents-441", ["absorb", "--agents", "441"], "agents/memory: C(N+K-1, K-1)^m = about"),
    ("absorb-memory-1e200", ["absorb", "-N", HUGE], "memory must be an integer >= 1 and <= 1,000,000,000, got about 10^200"),
    ("claims-agents-1000", ["claims", "--agents", "1000"], "agents/memory:"),
    ("simulate-chain-agents-1001", ["simulate-chain", "--agents", "1001", "--runs", "1", "--max-steps", "1"], "agents must be an integer >= 1 and <= 1,000"),
    ("verify-config-agents-1000", ["verify", "--config", "{cfg_verify_agents}"], "system 0: agents/memory:"),
    ("sweep-config-agents-1001", ["sweep", "{cfg_sweep_agents}", "--out", "{tmp}/t.csv"], "config: agents values must be integers >= 1 and <= 1,000"),
    # estimates in closed form, before anything is tabulated or allocated
    ("absorb-memory-1e9", ["absorb", "--agents", "1", "--memory", "1000000000"], "memory/components: one agent's transition table"),
    ("absorb-K3-N3000", ["absorb", "-m", "1", "-K", "3", "-N", "3000"], "memory/components: one agent's transition table"),
    ("absorb-agents-10000", ["absorb", "--agents", "10000"], "agents must be an integer >= 1 and <= 1,000"),
    ("absorb-components-1e8", ["absorb", "--components", "100000000"], "components must be an integer >= 2 and <= 1,000"),
    ("absorb-mirror-K-big", ["absorb", "--model", "mirror", "-m", "2", "-K", "30", "-N", "5"], "memory/components: one agent's transition table"),
    ("bounds-memory-1e9", ["bounds", "-m", "1", "-N", "1000000000"], "memory/components:"),
    # simulate and ensemble sizes
    ("simulate-steps", ["simulate", "--steps", "1000000000"], "steps must be an integer >= 0 and <= 1,000,000"),
    ("simulate-dim", ["simulate", "--dim", "100000"], "dim must be an integer >= 1 and <= 1,000"),
    ("simulate-n0", ["simulate", "--n0", "10000000000"], "n0 must be an integer >= 0 and <= 10,000,000"),
    ("simulate-agents", ["simulate", "--agents", "1000000"], "agents must be an integer >= 1 and <= 10,000"),
    ("simulate-components", ["simulate", "--components", "100000000"], "components must be an integer >= 2 and <= 10,000"),
    ("simulate-n-post", ["simulate", "--n-post", "100000000"], "n_post must be an integer >= 1 and <= 10,000,000"),
    ("simulate-replicates", ["simulate", "--replicates", "100000000"], "replicates must be an integer >= 1 and <= 1,000,000"),
    ("simulate-run-bytes", ["simulate", "--replicates", "1000000", "--steps", "1000"], "replicates: replicates x steps"),
    ("simulate-pool-growth", ["simulate", "--steps", "1000000", "--agents", "100"], "steps: the pool grows"),
    ("ensemble-samples", ["ensemble", "--samples", "1000000000000"], "samples must be an integer from 0 with samples x length"),
    ("ensemble-length", ["ensemble", "--length", "1000000000"], "length must be an integer from 1 to 10,000"),
    ("simulate-mirror-components", ["simulate", "--model", "mirror", "--components", "100000000"], "--components must be an integer <= 10,000"),
    ("simulate-mirror-delta-overflow", ["simulate", "--model", "mirror", "--delta", "1e308"], "--delta: delta x components / sigma"),
    ("simulate-chain-agents-1000-work", ["simulate-chain", "--agents", "1000"], "runs: runs x max-steps x agents"),
    # huge exponents in exact numbers
    ("absorb-edge-weight-exponent", ["absorb", "--graph", "{graph_exp}", "--weighted"], "the decimal exponent must be between"),
    ("claims-epsilon-exponent", ["claims", "--epsilon", "1e-99999999"], "epsilon: the decimal exponent must be between"),
    ("simulate-lam-exponent", ["simulate", "--lam", "1e-99999999"], "lam: the decimal exponent must be between"),
    ("ensemble-weight-exponent", ["ensemble", "--models", "{models_exp}"], "the decimal exponent must be between"),
    ("verify-means-exponent", ["verify", "--config", "{cfg_verify_means}"], "means[0]: the decimal exponent must be between"),
    ("absorb-mirror-exponent", ["absorb", "--model", "mirror", "--mirror", "1e99999999"], "mirror: the decimal exponent"),
    # horizons, workers, grids
    ("absorb-horizon", ["absorb", "--horizon", "1000000000"], "horizon must be a nonnegative integer up to 10,000"),
    ("bounds-horizon", ["bounds", "--horizon", "1000000000"], "horizon must be a nonnegative integer up to 10,000"),
    ("claims-horizon", ["claims", "--horizon", "1000000000"], "horizon must be a nonnegative integer up to 10,000"),
    ("verify-horizon", ["verify", "--horizon", "1000000000"], "horizon must be a nonnegative integer up to 10,000"),
    ("bounds-paths", ["bounds", "--paths", "1000000000"], "paths must be a positive integer up to 10,000"),
    ("sweep-workers", ["sweep", "{cfg_sweep}", "--out", "{tmp}/t.csv", "--workers", "4096"], "workers must be an integer from 1 to"),
    ("sweep-grid-cells", ["sweep", "{cfg_sweep_grid}", "--out", "{tmp}/t.csv"], "config: the grid must have at most 10,000 cells"),
    ("simulate-chain-runs", ["simulate-chain", "--runs", "1000000000000"], "runs must be a positive integer up to"),
    ("simulate-chain-work", ["simulate-chain", "--runs", "100000000", "--max-steps", "100000000"], "runs: runs x max-steps x agents"),
    ("verify-theorem-memories", ["verify", "--theorem", "order", "--memories", "1000000"], "memories must be up to 20"),
    # NaN output
    ("simulate-separation-overflow", ["simulate", "--seed", "1", "--separation", "1e308", "--components", "3"], "separation must be > 0 with"),
    # negative seeds
    ("simulate-chain-seed", ["simulate-chain", "--seed", "-1"], "seed must be an integer from 0 to 2^128-1"),
    ("ensemble-seed", ["ensemble", "--samples", "10", "--seed", "-1"], "seed must be an integer from 0 to 2^128-1"),
    ("simulate-seed", ["simulate", "--seed", "-1"], "seed must be an integer from 0 to 2^128-1"),
    # sweep output and scheduler
    ("sweep-out-directory", ["sweep", "{cfg_sweep}", "--out", "{tmp}"], "out: must be a CSV file, got the directory"),
    ("sweep-out-empty", ["sweep", "{cfg_sweep}", "--out", ""], "out: must be a CSV file path"),
    ("sweep-out-proc", ["sweep", "{cfg_sweep}", "--out", "/proc/x.csv"], "out: cannot write in '/proc'"),
    ("sweep-out-missing-folder", ["sweep", "{cfg_sweep}", "--out", "{tmp}/no/such/t.csv"], "out: must be in an existing folder"),
    ("sweep-scheduler-bogus", ["sweep", "{cfg_sweep}", "--out", "{tmp}/t.csv", "--scheduler", "bogus-address"], "scheduler: must be an address"),
    ("simulate-out-directory", ["simulate", "--out", "{tmp}"], "--out: must be a file, got the directory"),
    ("simulate-out-proc", ["simulate", "--out", "/proc/x.json"], "--out: cannot write"),
    # misleading messages
    ("start-negative", ["absorb", "--start", "-1,5;2,2"], "start: agent 0 counts must be nonnegative integers"),
    ("start-fullwidth", ["absorb", "--start", "\uff14,0;2,2"], "start: agent 0 needs 2 nonnegative integer counts (ASCII digits)"),
    ("start-arabic", ["absorb", "--start", "\u0662,\u0662;2,2"], "start: agent 0 needs 2 nonnegative integer counts (ASCII digits)"),
    ("verify-start-once", ["verify", "--config", "{cfg_verify_start}"], "system 0: start: agent 0"),
    ("exact-certified", ["absorb", "--exact", "--certified"], "certified: gives intervals from an exact chain"),
    ("weighted-named-graph", ["absorb", "--graph", "path", "--weighted"], "weighted: applies to an edge-list FILE"),
    ("directed-named-graph", ["bounds", "--graph", "ring", "-m", "3", "--directed"], "directed: applies to an edge-list FILE"),
]

#: Monte Carlo builds nothing: a chain far too big to enumerate is simulated (exit 0).
MC_OK = ["simulate-chain", "-m", "50", "-N", "100", "--runs", "2", "--max-steps", "5", "--quiet"]

RUNNER = textwrap.dedent(
    r"""
    import json, os, resource, signal, sys, tempfile, time
    cases = json.loads(sys.argv[1])
    limit, seconds = int(sys.argv[2]), float(sys.argv[3])
    from markovgmm.cli import main  # imported once; each case runs in a fork
    out = []
    for argv, cwd in cases:
        err_r, err_w = os.pipe()
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            try:
                os.chdir(cwd)
                os.dup2(err_w, 2)
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 1)
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
                signal.alarm(int(seconds) + 1)
                code = main(argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                import traceback
                traceback.print_exc()
                code = 99
            sys.stderr.flush()
            os._exit(code if isinstance(code, int) else 1)
        os.close(err_w)
        chunks = []
        while True:
            data = os.read(err_r, 65536)
            if not data:
                break
            chunks.append(data)
        os.close(err_r)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        out.append({"code": code, "stderr": b"".join(chunks).decode("utf-8", "replace"), "seconds": time.monotonic() - start})
    print(json.dumps(out))
    """
)

LIMIT_BYTES = 2 * 2**30
SECONDS = 20


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad_input")
    (tmp / "binary.bin").write_bytes(BINARY)
    (tmp / "sweep.json").write_text(json.dumps({"agents": [2], "memory": [2], "results": ["float"]}))
    (tmp / "sweep_agents.json").write_text(json.dumps({"agents": [1001]}))
    (tmp / "sweep_grid.json").write_text(json.dumps({"agents": list(range(1, 21)), "memory": list(range(1, 21)), "replace": list(range(1, 31))}))
    (tmp / "verify_agents.json").write_text(json.dumps([{"agents": 1000}]))
    (tmp / "verify_means.json").write_text(json.dumps([{"means": ["1e-99999999", 1]}]))
    (tmp / "verify_start.json").write_text(json.dumps([{"start": "-1,5;2,2"}]))
    (tmp / "graph_exp.txt").write_text("0 1 1e-99999999\n")
    models = {"vocabulary": ["a", "b"], "length": 2, "weights": ["1e-99999999", "1"],
              "models": [{"name": "A", "table": {"": ["1/2", "1/2"]}}, {"name": "B", "table": {"": ["1/3", "2/3"]}}]}
    (tmp / "models_exp.json").write_text(json.dumps(models))
    (tmp / "work").mkdir()
    return {
        "bin": str(tmp / "binary.bin"),
        "tmp": str(tmp / "work"),
        "cfg_sweep": str(tmp / "sweep.json"),
        "cfg_sweep_agents": str(tmp / "sweep_agents.json"),
        "cfg_sweep_grid": str(tmp / "sweep_grid.json"),
        "cfg_verify_agents": str(tmp / "verify_agents.json"),
        "cfg_verify_means": str(tmp / "verify_means.json"),
        "cfg_verify_start": str(tmp / "verify_start.json"),
        "graph_exp": str(tmp / "graph_exp.txt"),
        "models_exp": str(tmp / "models_exp.json"),
    }


def _fill(argv, files):
    return [a.format(**files) if "{" in a else a for a in argv]


def _snapshot(folder):
    return sorted((root, tuple(sorted(names)), tuple(sorted(dirs))) for root, dirs, names in os.walk(folder))


def _run(cases, cwd, chunks=1):
    """Run the cases in ``chunks`` runner processes side by side; results in case order."""
    size = -(-len(cases) // chunks)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RUNNER, json.dumps([[argv, cwd] for argv in cases[i : i + size]]), str(LIMIT_BYTES), str(SECONDS)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for i in range(0, len(cases), size)
    ]
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=SECONDS * size + 120)
        assert proc.returncode == 0, stderr[-3000:]
        out += json.loads(stdout.strip().splitlines()[-1])
    return out


@pytest.fixture(scope="module")
def results(files):
    argvs = [_fill(argv, files) for _, argv, _ in CASES]
    before = _snapshot(files["tmp"]), open(files["bin"], "rb").read()
    out = _run(argvs, files["tmp"], chunks=2)
    after = _snapshot(files["tmp"]), open(files["bin"], "rb").read()
    return {case[0]: r for case, r in zip(CASES, out)}, before, after


@pytest.mark.parametrize("name, argv, expected", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2(results, name, argv, expected):
    result = results[0][name]
    err = result["stderr"]
    lines = err.strip().splitlines()
    command = argv[0]
    assert "Traceback" not in err, err[-2000:]
    assert result["code"] == 2, (result["code"], err[-2000:])
    assert len(lines) == 1, err
    assert lines[0].startswith(f"markovgmm {command}: error: "), lines[0]
    assert expected in lines[0], lines[0]
    assert result["seconds"] < SECONDS, result


def test_bad_input_writes_nothing(results):
    _, before, after = results
    assert before == after  # no file created in the working folder; the binary --out untouched


def test_monte_carlo_is_not_refused_as_too_big(files):
    (result,) = _run([MC_OK], files["tmp"])
    assert result["code"] == 0, result["stderr"][-2000:]
    assert "too big" not in result["stderr"] and "explicit chain" not in result["stderr"]


def test_every_issue_item_is_in_the_table():
    names = {c[0] for c in CASES}
    assert len(CASES) == len(names) >= 70


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_shipped_examples_work(capsys):
    """The README's ``examples/`` configs load, and verify's runs (entries default components and memory)."""
    from markovgmm.cli import main
    from markovgmm.cli.verify import read_config
    from markovgmm.sweep import expand_cells, load_config

    cells = expand_cells(load_config(os.path.join(ROOT, "examples", "sweep.json")))
    assert len(cells) == 16
    entries = read_config(os.path.join(ROOT, "examples", "verify.json"))
    assert entries[0]["components"] == 2 and entries[0]["memory"] == 4
    assert main(["verify", "--config", os.path.join(ROOT, "examples", "verify.json"), "--quiet", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["rows"]) == len(entries) and report["rows"][0]["polarization"] == "139813/1630674"


def test_docs_model_is_in_the_repository_and_cited():
    """A fresh clone is self-contained: the model document exists and no help text points outside."""
    text = open(os.path.join(ROOT, "docs", "model.md"), encoding="utf-8").read()
    for section in ("## 1.", "## 2.", "## 3.", "## 4.", "## 5.", "## 6.", "### 6.1", "### 6.2"):
        assert section in text
    from markovgmm.cli import build_parser

    parser = build_parser()
    helps = parser.format_help() + "".join(
        sub.format_help() for action in parser._actions if hasattr(action, "choices") and isinstance(action.choices, dict)
        for sub in action.choices.values()
    )
    assert "docs/model.md" in helps


def test_ctrl_c_during_sweep_cluster_start_up_is_clean(files):
    """Ctrl-C sent to the whole process group while the LocalCluster's workers
    are starting: no Dask AssertionError, no worker tracebacks, at most one line."""
    import signal
    import time

    out = os.path.join(files["tmp"], "ctrl_c.csv")
    proc = subprocess.Popen(
        [sys.executable, "-m", "markovgmm", "sweep", files["cfg_sweep"], "--out", out, "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    deadline = time.monotonic() + 60
    starting = False
    while time.monotonic() < deadline and proc.poll() is None and not starting:
        try:  # a spawned worker (or nanny) process: the cluster is starting
            for task in os.listdir(f"/proc/{proc.pid}/task"):
                for child in open(f"/proc/{proc.pid}/task/{task}/children").read().split():
                    starting = starting or "spawn_main" in open(f"/proc/{child}/cmdline").read()
        except OSError:
            pass
        time.sleep(0.05)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    time.sleep(0.5)
    if os.path.exists(out):
        os.unlink(out)
    assert "Traceback" not in err and "AssertionError" not in err, err[-3000:]
    assert len(err.strip().splitlines()) <= 1, err[-3000:]
    assert proc.returncode in (0, 130), (proc.returncode, err)
