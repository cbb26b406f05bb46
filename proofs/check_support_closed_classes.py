"""Check support_closed_classes.md on built chains (exits non-zero on failure).

For each chain: (i) no agent's support grows along a transition of positive
probability, and the positivity pattern of each agent's incoming label law is
a function of the support profile; (ii) every all-vertex state is absorbing;
(iii) the closed classes are exactly the all-vertex states, one state each.
``violations(chain)`` returns the list of what fails, so that
``tests/test_proofs.py`` can show it is not empty on ``open`` chains.
"""

import sys
from pathlib import Path

import networkx as nx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from markovgmm import System, build_chain  # noqa: E402
from markovgmm.analysis.classes import closed_classes  # noqa: E402
from markovgmm.chain.build import incoming_label_laws  # noqa: E402

WEIGHTED = nx.Graph()
WEIGHTED.add_weighted_edges_from([(0, 1, 3), (1, 2, 1), (0, 2, 1)])

CASES = [
    dict(agents=2, components=2, memory=3),
    dict(agents=2, components=2, memory=4, replace=2, schedule="async"),
    dict(agents=3, components=2, memory=2, graph="path"),
    dict(agents=3, components=2, memory=3, graph="star", schedule="async"),
    dict(agents=3, components=2, memory=2, graph="ring", closed_neighbourhood=False),
    dict(agents=3, components=2, memory=2, graph=nx.DiGraph([(0, 2), (1, 2)])),
    dict(agents=3, components=2, memory=2, graph=WEIGHTED, edge_weight="weight"),
    dict(agents=2, components=3, memory=3),
    dict(agents=2, components=3, memory=3, replace=2, schedule="async", means=((0,), (1,), (3,))),
    dict(agents=2, components=2, memory=5, prune=1),
    dict(agents=2, components=3, memory=4, prune=1, replace=2),
]


def violations(chain):
    """What of (i)-(iii) fails on ``chain``: a list of strings (empty if all holds)."""
    out = []
    C = chain.local_counts[chain.agent_ranks]  # (n, m, K)
    support = C > 0
    n, m, K = C.shape
    rows = np.repeat(np.arange(n), np.diff(chain.indptr))
    cols = chain.indices
    positive = np.array([int(v) != 0 for v in chain.values]) if chain.exact else chain.values > 0
    rows, cols = rows[positive], cols[positive]
    grows = (support[cols] & ~support[rows]).any(axis=(1, 2))
    if grows.any():
        s, t = int(rows[grows][0]), int(cols[grows][0])
        out.append(f"(i) support grows on {grows.sum()} transitions, e.g. {chain.counts(s)} -> {chain.counts(t)}")
    _, p, _ = incoming_label_laws(chain.system, chain.agent_ranks, chain.exact, local_counts=chain.local_counts)
    pattern = {}
    for s in range(n):
        key = support[s].tobytes()
        value = (p[s] != 0).tobytes()
        if pattern.setdefault(key, value) != value:
            out.append(f"(i) incoming-law pattern not a function of the supports at {chain.counts(s)}")
            break
    vertex = (support.sum(axis=2) == 1).all(axis=1)
    self_prob = np.zeros(n, dtype=object)
    for s in np.flatnonzero(vertex).tolist():
        self_prob[s] = chain.probability(s, s)
    not_absorbing = [s for s in np.flatnonzero(vertex).tolist() if self_prob[s] != 1]
    if not_absorbing:
        out.append(f"(ii) {len(not_absorbing)} all-vertex states are not absorbing, e.g. {chain.counts(not_absorbing[0])}")
    structure = closed_classes(chain)
    multi = [c for c in structure.classes if len(c.states) != 1]
    if multi:
        out.append(f"(iii) {len(multi)} closed classes have several states, e.g. {[chain.counts(s) for s in multi[0].states[:3]]}")
    closed_states = sorted(s for c in structure.classes for s in c.states)
    if closed_states != np.flatnonzero(vertex).tolist():
        out.append("(iii) the closed states are not exactly the all-vertex states")
    return out


def main():
    failures = 0
    for kwargs in CASES:
        chain = build_chain(System(**kwargs))
        found = violations(chain)
        label = ", ".join(f"{k}={v if not isinstance(v, nx.Graph) else type(v).__name__}" for k, v in kwargs.items())
        n_closed = len(closed_classes(chain).classes)
        print(("ok   " if not found else "FAIL ") + f"{label}: {chain.n_states} states, {n_closed} closed classes, all single all-vertex states")
        for text in found:
            print("     " + text)
        failures += bool(found)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
