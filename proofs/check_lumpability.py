"""Check proofs/lumpability.md: equivariance, strong lumpability and equal
absorption results of the lumped chain, exactly (sympy + exact rationals)."""

import sys
from fractions import Fraction
from itertools import permutations
from pathlib import Path

import numpy as np
import sympy

# The checkout's package, not a copy installed in site-packages (tests/test_proofs.py runs this from proofs/).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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

# (c) Claims 4-5 (closed classes and the split of their probabilities) on directed, weighted
#     and K = 3 systems, and `open` chains with closed classes of several states.
import networkx as nx  # noqa: E402

from markovgmm.analysis.classes import closed_classes  # noqa: E402
from markovgmm.chain.lumped import split_closed_classes  # noqa: E402
from markovgmm.chain.states import global_index  # noqa: E402

WEIGHTED = nx.Graph()
WEIGHTED.add_weighted_edges_from([(0, 1, 3), (0, 2, 1), (1, 2, 1)])  # swapping 0 and 1 keeps W
CLASS_SYSTEMS = [
    dict(agents=3, components=2, memory=2, graph=nx.DiGraph([(0, 2), (1, 2)])),
    dict(agents=3, components=2, memory=2, graph=nx.DiGraph([(0, 2), (1, 2)]), ownership="open"),
    dict(agents=3, components=2, memory=2, graph=nx.DiGraph([(0, 2), (1, 2)]), ownership="open", schedule="async"),
    dict(agents=3, components=2, memory=2, graph=WEIGHTED, edge_weight="weight"),
    dict(agents=3, components=2, memory=2, graph=WEIGHTED, edge_weight="weight", ownership="open", closed_neighbourhood=False, replace=2),
    dict(agents=3, components=3, memory=2),
    dict(agents=2, components=3, memory=3, schedule="async"),
]


def class_violations(kw):
    """Claim 4 (each lumped closed class is the image of exactly one G-orbit of full closed
    classes, and every full closed class maps onto one lumped class) and Claim 5 (the lumped
    class probability is the sum over that orbit, and split_closed_classes, where it answers,
    gives each full class its probability) on one system; returns failure messages and counts."""
    out = []
    system = System(**kw)
    group = agent_group(system)
    full = build_chain(system, exact=True)
    lumped = build_chain(system, exact=True, lump=True)
    if group.trivial:
        return [f"{kw}: group should be nontrivial"], 0, 0
    orbit = lumping_map(lumped, full)
    fs, ls = closed_classes(full), closed_classes(lumped)
    L = system.n_local_states
    image_of = []  # lumped class of each full class
    for cls in fs.classes:
        images = {int(ls.class_of[orbit[s]]) for s in cls.states}
        if len(images) != 1 or -1 in images:
            out.append(f"{kw}: full class {cls.states} does not map into one lumped closed class")
            image_of.append(None)
            continue
        (d,) = images
        if sorted({int(orbit[s]) for s in cls.states}) != sorted(ls.classes[d].states):
            out.append(f"{kw}: the image of a full class is not the whole lumped class")
        if cls.kind != ls.classes[d].kind:
            out.append(f"{kw}: kind changes under lumping")
        image_of.append(d)
    full_sets = [frozenset(c.states) for c in fs.classes]
    for d in range(len(ls.classes)):
        pre = [c for c, img in enumerate(image_of) if img == d]
        if not pre:
            out.append(f"{kw}: lumped class {d} is the image of no full class")
            continue
        # the G-orbit of the first preimage class, as sets of full states
        rep = full_sets[pre[0]]
        moved = set()
        for sigma in group.permutations:
            inverse = np.argsort(sigma)
            moved.add(frozenset(int(global_index(full.agent_ranks[s][inverse], L)) for s in rep))
        if moved != {full_sets[c] for c in pre}:
            out.append(f"{kw}: the preimage of lumped class {d} is not one orbit of full classes")
    rf, rl = absorption_probabilities(full), absorption_probabilities(lumped)
    answered = 0
    for s in range(full.n_states):
        o = int(orbit[s])
        row_f, row_l = rf.row_of(s), rl.row_of(o)
        full_p = dict(zip([frozenset(c.states) for c in rf.classes], rf.class_probabilities[row_f]))
        lumped_p = list(rl.class_probabilities[row_l])
        lumped_index = {frozenset(c.states): i for i, c in enumerate(ls.classes)}
        for i, cls in enumerate(rl.classes):
            d = lumped_index[frozenset(cls.states)]
            total = sum((full_p[full_sets[c]] for c, img in enumerate(image_of) if img == d), Fraction(0))
            if total != lumped_p[i]:
                out.append(f"{kw}: from state {s}, lumped class probability != sum over its orbit of full classes")
        split = split_closed_classes(lumped, full.agent_ranks[s], rl.classes, lumped_p)
        if split is not None:
            answered += 1
            for ranks, _cls, share in split:
                state = int(global_index(np.asarray(ranks), L))
                if full_p[full_sets[int(fs.class_of[state])]] != share:
                    out.append(f"{kw}: split_closed_classes gives {share} for {full.counts(state)} from {full.counts(s)}")
    return out, full.n_states, answered


for kw in CLASS_SYSTEMS:
    bad, n, answered = class_violations(kw)
    for text in bad[:3]:
        check(False, text)
    if not bad:
        label = {k: (type(v).__name__ + str(sorted(v.edges())) if isinstance(v, nx.Graph) else v) for k, v in kw.items()}
        print(f"ok {label}: closed classes = orbits of full classes; class probabilities add up over orbits; "
              f"split_closed_classes exact from {answered} of {n} starts")

# (d) Component symmetries (claims 6-8): the product group A x T of agent permutations fixing W
#     and component relabellings fixing the ownership rule / the geometry's distance order, on
#     directed, weighted, K = 3, pool and mirror systems, against the unlumped chain, exactly.
from markovgmm.analysis.absorption import absorb  # noqa: E402
from markovgmm.chain.lumped import build_lumped_chain, consensus_split  # noqa: E402
from markovgmm.chain.symmetry import local_permutation, symmetry_group  # noqa: E402

COMPONENT_SYSTEMS = [
    dict(agents=3, components=2, memory=3),
    dict(agents=3, components=2, memory=3, graph=nx.DiGraph([(0, 2), (1, 2)]), ownership="open"),
    dict(agents=3, components=2, memory=3, graph=nx.DiGraph([(0, 2), (1, 2)]), schedule="async"),
    dict(agents=3, components=2, memory=2, graph=WEIGHTED, edge_weight="weight", replace=2),
    dict(agents=3, components=3, memory=2, ownership="open"),
    dict(agents=2, components=3, memory=3, ownership="open", schedule="async", prune=0),
    dict(agents=3, components=2, memory=4, prune=1, graph="path"),
    dict(model="mirror", agents=3, components=2, memory=3, neighbours=1, mirror="1/5"),
    dict(model="mirror", agents=3, components=3, memory=2, neighbours=2, mirror="1/2", geometry="simplex"),
    dict(model="mirror", agents=3, components=3, memory=2, neighbours=1, mirror=0, geometry="line", ties="uniform"),
    dict(model="mirror", agents=2, components=4, memory=2, neighbours=1, mirror="1/3", geometry="circle"),
    dict(model="mirror", agents=4, components=2, memory=2, neighbours=2, mirror="1/2", schedule="async"),
]


def dense_matrix(chain):
    out = np.zeros((chain.n_states, chain.n_states), dtype=object)
    rows = np.repeat(np.arange(chain.n_states), np.diff(chain.indptr))
    out[rows, chain.indices] = chain.values
    return out


def label(kw):
    return {k: (type(v).__name__ + str(sorted(v.edges())) if isinstance(v, nx.Graph) else v) for k, v in kw.items()}


def component_violations(kw):
    out = []
    system = System(**kw)
    group = symmetry_group(system)
    if not group.has_components:
        return [f"{label(kw)}: no component symmetry found"], None
    full = build_chain(system, exact=True)
    lumped = build_lumped_chain(system, exact=True, group=group)
    dense = dense_matrix(full)
    L, m = system.n_local_states, system.agents
    weights = L ** np.arange(m - 1, -1, -1)
    agents = group.permutations if group.permutations is not None else np.array(list(permutations(range(m))))
    # Claim 6: every (sigma, tau) is an automorphism of the full chain.
    for tau, lp in zip(group.component_permutations, group.local_permutations):
        for sigma in agents:
            image = lp[full.agent_ranks[:, np.argsort(sigma)]] @ weights
            if not (dense[np.ix_(image, image)] == dense).all():
                out.append(f"{label(kw)}: (sigma={sigma.tolist()}, tau={tau.tolist()}) is not an automorphism")
    # Claim 7: strong lumpability, and the lumped chain built directly has exactly the orbit sums.
    orbit = lumping_map(lumped, full)
    lumped_dense = dense_matrix(lumped)
    for o in range(lumped.n_states):
        members = np.flatnonzero(orbit == o)
        into = np.array([[sum(dense[s, orbit == p]) for p in range(lumped.n_states)] for s in members], dtype=object)
        if not (into == into[0]).all():
            out.append(f"{label(kw)}: orbit {o} is not strongly lumpable")
        if not (into[0] == lumped_dense[o]).all():
            out.append(f"{label(kw)}: lumped row {o} differs from the orbit sums")
    if (np.bincount(orbit) != lumped.orbit_size).any():
        out.append(f"{label(kw)}: orbit sizes")
    # Claim 8: the invariants agree from every state; P(consensus on k) and the class split wherever
    # the lumped chain says it determines them.
    rf, rl = absorption_probabilities(full), absorption_probabilities(lumped)
    answered = 0
    for s in range(full.n_states):
        o = int(orbit[s])
        if not (rf.polarization(s) == rl.polarization(o) and rf.consensus(s) == rl.consensus(o)
                and rf.other(s) == rl.other(o) and rf.expected_steps[s] == rl.expected_steps[o]):
            out.append(f"{label(kw)}: an invariant differs from state {s}")
        split = consensus_split(lumped, full.agent_ranks[s], rl.classes, rl.class_probabilities[o])
        if split is not None:
            answered += 1
            if split != rf.consensus_by_component(s):
                out.append(f"{label(kw)}: consensus split from {full.counts(s)}: {split} != {rf.consensus_by_component(s)}")
        if s % 7 == 0:  # the whole report (classes recovered with their own components) on a sample of starts
            a, b = absorb(full, s), absorb(lumped, full.counts(s))
            for key in ("polarization", "consensus", "other", "expected_steps"):
                if a[key] != b[key]:
                    out.append(f"{label(kw)}: absorb()[{key}] differs from {full.counts(s)}")
            if b["consensus_by_component"] is not None and b["consensus_by_component"] != a["consensus_by_component"]:
                out.append(f"{label(kw)}: absorb() consensus_by_component differs from {full.counts(s)}")
            if not any("full_states" in c for c in b["classes"]) and b["classes"] != a["classes"]:
                out.append(f"{label(kw)}: absorb() classes differ from {full.counts(s)}")
    return out, (full.n_states, lumped.n_states, group.describe(), answered)


for kw in COMPONENT_SYSTEMS:
    bad, info = component_violations(kw)
    for text in bad[:3]:
        check(False, text)
    if not bad:
        n, orbits, name, answered = info
        print(f"ok {label(kw)}: group {name}, {n} states -> {orbits} orbits; every element an automorphism, "
              f"strongly lumpable, invariants equal from every state, P(consensus on k) split back exactly from "
              f"{answered} of {n} starts")

# Negative controls: what the exact check refuses is indeed not a symmetry of the chain.
for kw, tau in [
    (dict(agents=2, components=3, memory=2), (2, 1, 0)),  # mu = 0,1,2: the tie of 1 goes to 0 both ways
    (dict(agents=2, components=3, memory=2, means=((0, 0), (1, 0), (0, 1))), (0, 2, 1)),  # the tie of 0 goes to 1
    (dict(agents=2, components=2, memory=2, means=(0, 1), covariance=((1,),), ownership="open", prune=0), None),
    (dict(model="mirror", agents=2, components=3, memory=2, geometry="line"), (1, 0, 2)),  # not distance-preserving
]:
    system = System(**kw)
    if tau is None:  # open ownership: every relabelling is a symmetry
        check(len(symmetry_group(system).component_permutations) == 2, f"{kw}: open ownership should keep S_2")
        continue
    group = symmetry_group(system)
    found = [] if not group.has_components else group.component_permutations.tolist()
    check(list(tau) not in found, f"{kw}: {tau} should be refused")
    full = build_chain(system, exact=True)
    dense = dense_matrix(full)
    lp = local_permutation(full.local_counts, tau)
    image = global_index(lp[full.agent_ranks], system.n_local_states)
    check(not (dense[np.ix_(image, image)] == dense).all(), f"{kw}: {tau} is in fact an automorphism")
    print(f"ok {kw}: tau={tau} refused, and it is not an automorphism of the full chain")

if failures:
    print(f"{len(failures)} failures")
    sys.exit(1)
print("all lumpability checks passed")
