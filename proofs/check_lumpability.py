"""Check proofs/lumpability.md: equivariance, strong lumpability and equal
absorption results of the lumped chain, exactly (sympy + exact rationals)."""

import sys
from fractions import Fraction
from itertools import permutations

import numpy as np
import sympy

from markovgmm.analysis.absorption import absorption_probabilities
from markovgmm.chain.build import build_chain
from markovgmm.chain.lumped import lumping_map
from markovgmm.chain.symmetry import agent_group
from markovgmm.system import System

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL", message)


# (a) Step 1 symbolically: q~_{sigma(i)} = q_i when W[sigma i, sigma j] = W[i, j].
a, b, c = sympy.symbols("a b c")
W = sympy.Matrix([[a, 1 - a, 0], [b, c, 1 - b - c], [0, 1 - a, a]])  # invariant under the reflection
counts = sympy.Matrix(3, 2, lambda i, k: sympy.Symbol(f"c{i}{k}"))
for sigma in permutations(range(3)):
    invariant = all(sympy.simplify(W[sigma[i], sigma[j]] - W[i, j]) == 0 for i in range(3) for j in range(3))
    if not invariant:
        continue
    moved = sympy.zeros(3, 2)
    for i in range(3):
        moved[sigma[i], :] = counts[i, :]
    for i in range(3):
        for k in range(2):
            lhs = sum(W[sigma[i], j] * moved[j, k] for j in range(3))
            rhs = sum(W[i, j] * counts[j, k] for j in range(3))
            check(sympy.expand(lhs - rhs) == 0, f"symbolic source identity, sigma={sigma}")

# (b) Small systems, exact.
SYSTEMS = [
    dict(agents=3, components=2, memory=3),
    dict(agents=3, components=3, memory=2, schedule="async"),
    dict(agents=4, components=2, memory=2, graph="ring"),
    dict(agents=4, components=2, memory=2, graph="star", replace=2),
    dict(agents=3, components=2, memory=3, graph="path", prune=1),
    dict(agents=3, components=2, memory=3, ownership="open", schedule="async"),
]
for kw in SYSTEMS:
    system = System(**kw)
    group = agent_group(system)
    full = build_chain(system, exact=True)
    lumped = build_chain(system, exact=True, lump=True)
    check(not group.trivial, f"{kw}: group should be nontrivial")
    d = full.denominator
    check(lumped.denominator == d, f"{kw}: lumped chain keeps the common denominator")
    dense = np.zeros((full.n_states, full.n_states), dtype=object)
    rows = np.repeat(np.arange(full.n_states), np.diff(full.indptr))
    dense[rows, full.indices] = full.values
    L = system.n_local_states
    ranks = full.agent_ranks
    weights = L ** np.arange(system.agents - 1, -1, -1)
    for sigma in group.permutations:
        # (sigma s)_{sigma(i)} = s_i  =>  sigma s = s[sigma^{-1}]
        inverse = np.argsort(sigma)
        image = ranks[:, inverse] @ weights
        check((dense[np.ix_(image, image)] == dense).all(), f"{kw}: equivariance under {sigma.tolist()}")
    orbit = lumping_map(lumped, full)
    n_orbits = lumped.n_states
    into = np.zeros((full.n_states, n_orbits), dtype=object)
    for o in range(n_orbits):
        into[:, o] = dense[:, orbit == o].sum(axis=1)
    lumped_dense = np.zeros((n_orbits, n_orbits), dtype=object)
    lrows = np.repeat(np.arange(n_orbits), np.diff(lumped.indptr))
    lumped_dense[lrows, lumped.indices] = lumped.values
    for o in range(n_orbits):
        members = np.flatnonzero(orbit == o)
        check((into[members] == into[members[0]]).all(), f"{kw}: orbit {o} is not strongly lumpable")
        check((into[members[0]] == lumped_dense[o]).all(), f"{kw}: lumped row {o} differs from the orbit sums")
    check(int(lumped.orbit_size.sum()) == full.n_states, f"{kw}: orbit sizes sum to the state count")
    check((np.bincount(orbit) == lumped.orbit_size).all(), f"{kw}: orbit sizes")
    rf = absorption_probabilities(full)
    rl = absorption_probabilities(lumped)
    for s in range(full.n_states):
        o = int(orbit[s])
        same = (
            rf.polarization(s) == rl.polarization(o)
            and rf.consensus_by_component(s) == rl.consensus_by_component(o)
            and rf.other(s) == rl.other(o)
            and rf.expected_steps[s] == rl.expected_steps[o]
        )
        check(same, f"{kw}: absorption from state {s} differs from its orbit {o}")
    check(isinstance(rl.polarization(0), Fraction), f"{kw}: exact results")
    print(f"ok {kw}: {full.n_states} states, {n_orbits} orbits, group {group.describe()}")

if failures:
    print(f"{len(failures)} failures")
    sys.exit(1)
print("all lumpability checks passed")
