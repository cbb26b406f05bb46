"""A deliberately naive, independent implementation of the mirroring chain
(MODEL.md 6.2).

It shares no code with ``markovgmm.chain``: a global state is a tuple of ``n``
count tuples (each of length ``K``, summing to ``r``), every probability is a
:class:`fractions.Fraction`, and one synchronous step is written exactly as
the spec reads: for every agent, a loop over partners ``j``, over the
component ``a`` of the query ``x``, over the component ``b`` the partner's
copy loses (farthest rule), over the answer's component ``y`` and over the
component ``b'`` the agent's own store loses.  Agents update independently
given the state, so a global row is the product of the agents' marginals.

Absorption: closed classes are the strongly connected components of the
reachable transition graph that have no exit (never assumed to be single
states); the absorption probabilities and the expected number of steps to
enter a closed class solve ``(I - Q) h = R`` by a sparse Fraction Gaussian
elimination written here.  Slow and only for tiny systems, which is what makes
it a useful referee.
"""

from __future__ import annotations

from collections import deque
from fractions import Fraction
from functools import lru_cache
from itertools import product

import networkx as nx

GEOMETRIES = ("line", "circle", "simplex")
TIES = ("clipped", "uniform")


# --- the law of one step -------------------------------------------------------


def compositions(K, r):
    """Every count tuple of length K summing to r (a store's composition)."""
    if K == 1:
        return [(r,)]
    return [(a,) + rest for a in range(r, -1, -1) for rest in compositions(K - 1, r - a)]


def mean_distance(a, b, K, geometry):
    """An order-preserving stand-in for ||mu_a - mu_b|| (only comparisons are used).

    line: |a - b|; circle: the chord length is increasing in the circular
    index distance min(|a - b|, K - |a - b|); simplex: every pair equal.
    """
    if geometry == "line":
        return abs(a - b)
    if geometry == "circle":
        return min(abs(a - b), K - abs(a - b))
    if geometry == "simplex":
        return 0 if a == b else 1
    raise ValueError(f"geometry must be one of {GEOMETRIES}, got {geometry!r}")


@lru_cache(maxsize=None)
def farthest_law(c, a, K, geometry):
    """Law of the component removed when a point of component a arrives in a store c.

    Drawn among the present components (c_b > 0) farthest from mu_a, with
    probability proportional to c_b among those tied.
    """
    present = [b for b in range(K) if c[b] > 0]
    far = max(mean_distance(a, b, K, geometry) for b in present)
    tied = [b for b in present if mean_distance(a, b, K, geometry) == far]
    total = sum(c[b] for b in tied)
    return tuple((b, Fraction(c[b], total)) for b in tied)


def clip_delta(c, r):
    """delta(c): the first-order effect of clipping, delta_k = 1 where c_k = 0, -z c_k / r elsewhere."""
    z = sum(1 for ck in c if ck == 0)
    return tuple(Fraction(1) if ck == 0 else Fraction(-z * ck, r) for ck in c)


@lru_cache(maxsize=None)
def distance_key(ci, cj, r, ties):
    """The rank key of agent j seen from agent i (smaller is nearer)."""
    square = sum((x - y) ** 2 for x, y in zip(ci, cj))
    if ties == "uniform":
        return (square,)
    if ties == "clipped":
        di, dj = clip_delta(ci, r), clip_delta(cj, r)
        first_order = sum((x - y) * (u - v) for x, y, u, v in zip(ci, cj, di, dj))
        return (square, first_order)
    raise ValueError(f"ties must be one of {TIES}, got {ties!r}")


def partner_law(state, i, r, k, p, ties):
    """dict j -> P(partner of agent i is j), MODEL.md 6.2 (and 6.1 step 1)."""
    n = len(state)
    if not 1 <= k <= n - 1:
        raise ValueError(f"k must be in 1..n-1 = 1..{n - 1}, got {k}")
    p = Fraction(p)
    law = {}
    if p:
        law[i] = p
    others = [j for j in range(n) if j != i]
    keys = {j: distance_key(state[i], state[j], r, ties) for j in others}
    kth = sorted(keys.values())[k - 1]
    nearer = [j for j in others if keys[j] < kth]
    tied = [j for j in others if keys[j] == kth]
    L, E = len(nearer), len(tied)
    for j in nearer:
        law[j] = law.get(j, Fraction(0)) + (1 - p) / k
    for j in tied:
        law[j] = law.get(j, Fraction(0)) + (1 - p) * (k - L) / (k * E)
    return {j: q for j, q in law.items() if q}


@lru_cache(maxsize=None)
def step_given_partner(ci, cj, K, r, geometry="line"):
    """dict c_i' -> probability: agent i's next composition given its partner's store c_j.

    Literally: the query's component a ~ c_i / r, the component b the
    partner's copy loses (farthest rule on c_j from a), the answer's component
    y ~ (c_j - e_b + e_a) / r, and the component b' agent i's store loses
    (farthest rule on c_i from y): c_i' = c_i - e_b' + e_y.
    """
    out = {}
    for a in range(K):
        if ci[a] == 0:
            continue
        q_a = Fraction(ci[a], r)
        for b, q_b in farthest_law(cj, a, K, geometry):
            temp = list(cj)
            temp[b] -= 1
            temp[a] += 1
            for y in range(K):
                if temp[y] == 0:
                    continue
                q_y = Fraction(temp[y], r)
                for b2, q_b2 in farthest_law(ci, y, K, geometry):
                    new = list(ci)
                    new[b2] -= 1
                    new[y] += 1
                    new = tuple(new)
                    out[new] = out.get(new, Fraction(0)) + q_a * q_b * q_y * q_b2
    return out


def agent_law(state, i, K, r, k, p, geometry="line", ties="clipped"):
    """dict c_i' -> probability: the law of agent i's next composition given the state.

    Sum over the partner j (partner_law) of P(j) times step_given_partner(c_i, c_j).
    """
    ci = state[i]
    by_store = {}  # partners with the same store give the same step law
    for j, q_partner in partner_law(state, i, r, k, p, ties).items():
        by_store[state[j]] = by_store.get(state[j], Fraction(0)) + q_partner
    out = {}
    for cj, q_partner in by_store.items():
        for new, q in step_given_partner(ci, cj, K, r, geometry).items():
            out[new] = out.get(new, Fraction(0)) + q_partner * q
    return out


def _check_state(state, K, r):
    for c in state:
        if len(c) != K or sum(c) != r or min(c) < 0:
            raise ValueError(f"state: every agent needs K={K} non-negative counts summing to r={r}, got {c}")


def transition_row(state, K, r, k, p, geometry="line", ties="clipped"):
    """dict next_state -> probability for one synchronous step from state."""
    state = tuple(tuple(c) for c in state)
    _check_state(state, K, r)
    marginals = [list(agent_law(state, i, K, r, k, p, geometry, ties).items()) for i in range(len(state))]
    row = {}
    for combo in product(*marginals):
        nxt = tuple(c for c, _ in combo)
        weight = Fraction(1)
        for _, q in combo:
            weight *= q
        row[nxt] = row.get(nxt, Fraction(0)) + weight
    return row


# --- graph, closed classes, absorption -------------------------------------------


def reachable(start, K, r, k, p, geometry="line", ties="clipped"):
    """dict state -> transition row, for every state reachable from start (start included)."""
    start = tuple(tuple(c) for c in start)
    rows = {}
    queue = deque([start])
    while queue:
        s = queue.popleft()
        if s in rows:
            continue
        rows[s] = transition_row(s, K, r, k, p, geometry, ties)
        for t in rows[s]:
            if t not in rows:
                queue.append(t)
    return rows


def closed_classes(rows):
    """The strongly connected components of the graph of rows with no exit (list of frozensets)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(rows)
    for s, row in rows.items():
        graph.add_edges_from((s, t) for t in row)
    closed = []
    for component in nx.strongly_connected_components(graph):
        if all(t in component for s in component for t in rows[s]):
            closed.append(frozenset(component))
    return closed


def is_vertex(c):
    return max(c) == sum(c)


def silo(c):
    """argmax_k c_k, lowest index on ties."""
    return max(range(len(c)), key=lambda k: (c[k], -k))


def number_of_silos(state):
    return len({silo(c) for c in state})


def classify(cls):
    """('consensus', a) | ('polarization', None) | ('other', None) for a closed class (MODEL.md 6.2)."""
    states = sorted(cls)
    if len(states) == 1:
        s = states[0]
        if all(is_vertex(c) for c in s) and len({silo(c) for c in s}) == 1:
            return ("consensus", silo(s[0]))
    if all(all(is_vertex(c) for c in s) and number_of_silos(s) >= 2 for s in states):
        return ("polarization", None)
    return ("other", None)


def solve_sparse(A, rhs):
    """Solve A X = rhs exactly; A: list of dict rows (col -> Fraction), rhs: list of lists.

    Plain Gaussian elimination with partial pivoting by first non-zero, on
    sparse dict rows, all in Fractions.
    """
    m = len(A)
    A = [dict(row) for row in A]
    B = [list(row) for row in rhs]
    ncols = len(B[0]) if B else 0
    pivot_row_of = {}
    remaining = set(range(m))
    for col in range(m):
        candidates = [i for i in remaining if A[i].get(col, 0) != 0]
        if not candidates:
            raise ArithmeticError("singular system")
        piv = min(candidates, key=lambda i: len(A[i]))
        remaining.discard(piv)
        pivot_row_of[col] = piv
        pv = A[piv][col]
        for i in candidates:
            if i == piv:
                continue
            f = A[i][col] / pv
            for c2, v in A[piv].items():
                nv = A[i].get(c2, 0) - f * v
                if nv:
                    A[i][c2] = nv
                else:
                    A[i].pop(c2, None)
            for t in range(ncols):
                B[i][t] -= f * B[piv][t]
    # back substitution
    X = [[Fraction(0)] * ncols for _ in range(m)]
    for col in reversed(range(m)):
        i = pivot_row_of[col]
        for t in range(ncols):
            acc = B[i][t]
            for c2, v in A[i].items():
                if c2 != col:
                    acc -= v * X[c2][t]
            X[col][t] = acc / A[i][col]
    return X


def absorption(start, K, r, k, p, geometry="line", ties="clipped"):
    """Exact absorption quantities of the mirroring chain from start (all Fractions).

    Returns a dict with ``polarization``, ``consensus`` (total),
    ``consensus_by_component`` (list of K), ``other``, ``expected_steps``
    (expected number of steps to enter a closed class), ``silos_law`` (number
    of silos -> probability; the number of silos of a closed class is read on
    its smallest state, every closed class being one state when r >= 2,
    proofs/mirror_closed_classes.md) and ``classes`` (list of (class, kind,
    probability)).
    """
    start = tuple(tuple(c) for c in start)
    rows = reachable(start, K, r, k, p, geometry, ties)
    classes = closed_classes(rows)
    in_class = {}
    for idx, cls in enumerate(classes):
        for s in cls:
            in_class[s] = idx
    transient = sorted(s for s in rows if s not in in_class)
    index = {s: i for i, s in enumerate(transient)}
    if start in in_class:
        probs = [Fraction(int(idx == in_class[start])) for idx in range(len(classes))]
        steps = Fraction(0)
    else:
        A, rhs = [], []
        for s in transient:
            row = {index[s]: Fraction(1)}
            b = [Fraction(0)] * len(classes) + [Fraction(1)]
            for t, q in rows[s].items():
                if t in index:
                    row[index[t]] = row.get(index[t], Fraction(0)) - q
                    if row[index[t]] == 0:
                        del row[index[t]]
                else:
                    b[in_class[t]] += q
            A.append(row)
            rhs.append(b)
        X = solve_sparse(A, rhs)
        sol = X[index[start]]
        probs, steps = sol[: len(classes)], sol[len(classes)]
    result = {
        "polarization": Fraction(0),
        "consensus": Fraction(0),
        "consensus_by_component": [Fraction(0)] * K,
        "other": Fraction(0),
        "expected_steps": steps,
        "silos_law": {},
        "classes": [],
    }
    for cls, q in zip(classes, probs):
        kind, a = classify(cls)
        result["classes"].append((cls, kind, q))
        if q == 0:
            continue
        if kind == "consensus":
            result["consensus"] += q
            result["consensus_by_component"][a] += q
        elif kind == "polarization":
            result["polarization"] += q
        else:
            result["other"] += q
        ns = number_of_silos(min(cls))
        result["silos_law"][ns] = result["silos_law"].get(ns, Fraction(0)) + q
    return result


def default_start(n, K, r):
    """Agent i at vertex i mod K."""
    return tuple(tuple(r if a == i % K else 0 for a in range(K)) for i in range(n))
