"""A deliberately naive, independent implementation of MODEL.md section 2.

It shares no code with ``markovgmm.chain``: states are tuples, every
probability is a Fraction, removals are drawn item by item without
replacement, additions label by label, pruning relabels item by item, and the
nearest-mean rule compares squared Euclidean distances of the (1-D or d-D)
means under an identity covariance.  It is slow and only for tiny systems,
which is what makes it a useful referee for the vectorised builder.
"""

from fractions import Fraction
from itertools import product


def local_states(N, K):
    if K == 1:
        return [(N,)]
    return [(a,) + rest for a in range(N, -1, -1) for rest in local_states(N - a, K - 1)]


def _add(dist, key, weight):
    dist[key] = dist.get(key, Fraction(0)) + weight


def label_law(system, state, i):
    """p_i: the law of the label agent i gives an incoming post (steps 1-2)."""
    K, N = system.components, system.memory
    q = [sum(system.W[i][j] * Fraction(state[j][k], N) for j in range(system.agents)) for k in range(K)]
    own = state[i]
    p = [Fraction(0)] * K
    for k in range(K):
        if system.ownership == "open" or own[k] > 0:
            p[k] += q[k]
        else:
            support = [j for j in range(K) if own[j] > 0]

            def dist(j):
                return sum((a - b) ** 2 for a, b in zip(system.means[k], system.means[j]))

            p[min(support, key=lambda j: (dist(j), j))] += q[k]
    return p


def removal_law(counts, r):
    """Law of the memory left after removing r items one at a time without replacement."""
    dist = {tuple(counts): Fraction(1)}
    for _ in range(r):
        new = {}
        for c, w in dist.items():
            total = sum(c)
            for k, ck in enumerate(c):
                if ck:
                    _add(new, c[:k] + (ck - 1,) + c[k + 1 :], w * Fraction(ck, total))
        dist = new
    return dist


def addition_law(middle, p, r):
    dist = {tuple(middle): Fraction(1)}
    for _ in range(r):
        new = {}
        for c, w in dist.items():
            for k, pk in enumerate(p):
                if pk:
                    _add(new, c[:k] + (c[k] + 1,) + c[k + 1 :], w * pk)
        dist = new
    return dist


def prune_law(counts, tau):
    if tau == 0:
        return {tuple(counts): Fraction(1)}
    survivors = [k for k, c in enumerate(counts) if c > tau]
    dropped = [k for k, c in enumerate(counts) if 0 < c <= tau]
    if not dropped:
        return {tuple(counts): Fraction(1)}
    total = sum(counts[k] for k in survivors)
    base = tuple(c if c > tau else 0 for c in counts)
    dist = {base: Fraction(1)}
    for _ in range(sum(counts[k] for k in dropped)):
        new = {}
        for c, w in dist.items():
            for k in survivors:
                _add(new, c[:k] + (c[k] + 1,) + c[k + 1 :], w * Fraction(counts[k], total))
        dist = new
    return dist


def agent_law(system, state, i):
    """Law of agent i's next memory (steps 1-4)."""
    p = label_law(system, state, i)
    out = {}
    for middle, w1 in removal_law(state[i], system.replace).items():
        for added, w2 in addition_law(middle, p, system.replace).items():
            for final, w3 in prune_law(added, system.prune).items():
                _add(out, final, w1 * w2 * w3)
    return out


def transition_row(system, state):
    """{next state: probability} from ``state`` (a tuple of count tuples)."""
    m = system.agents
    laws = [agent_law(system, state, i) for i in range(m)]
    row = {}
    if system.schedule == "sync":
        for combo in product(*[list(law.items()) for law in laws]):
            weight = Fraction(1)
            for _, w in combo:
                weight *= w
            _add(row, tuple(c for c, _ in combo), weight)
    else:
        for i in range(m):
            for c, w in laws[i].items():
                _add(row, state[:i] + (c,) + state[i + 1 :], w / m)
    return row


def all_states(system):
    return list(product(local_states(system.memory, system.components), repeat=system.agents))
