"""Check camps_mean_field.md in exact rationals (exits non-zero on failure).

Each ``check_*`` function returns a list of violations (empty when the claim
holds) and takes the recursion under test as an argument, so that
``tests/test_camps.py`` can inject a wrong one and watch it fail.
"""

import random
import sys
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from markovgmm import System, build_chain  # noqa: E402
from markovgmm.analysis import camps  # noqa: E402

ONE_STEP_CASES = [
    dict(agents=2, components=2, memory=3),
    dict(agents=3, components=2, memory=3),
    dict(agents=4, components=2, memory=2),
    dict(agents=2, components=2, memory=4, replace=2),
    dict(agents=2, components=3, memory=2),
    dict(agents=3, components=3, memory=2),
    dict(agents=2, components=3, memory=3, replace=2),
]


def open_neighbourhood_step(system, mu, labels=None):
    """A wrong recursion: each agent's pool without its own memory (weights 1/(m-1)), for m = 2."""
    N, K = system.memory, system.components
    labels = labels if labels is not None else camps._labels(system)
    out = {}
    states = list(mu)
    for c, w in mu.items():
        # the other agent's memory, for an empirical measure of two agents
        others = [d for d in states if d != c] or [c]
        if len(mu) == 1 or mu[c] == 1:
            others = [c]
        q = tuple(Fraction(sum(d[k] for d in others), N * len(others)) for k in range(K))
        for c2, p in camps.one_agent_law(system, c, q, labels).items():
            out[c2] = out.get(c2, Fraction(0)) + w * p
    return out


def scaled_pool_step(system, mu, labels=None):
    """A wrong recursion: the pool frequency pulled towards component 0 by a factor."""
    N, K = system.memory, system.components
    labels = labels if labels is not None else camps._labels(system)
    q = camps._pool(mu, N, K)
    q = (q[0] + (1 - q[0]) / 3,) + tuple(x * 2 / 3 for x in q[1:])
    out = {}
    for c, w in mu.items():
        for c2, p in camps.one_agent_law(system, c, q, labels).items():
            out[c2] = out.get(c2, Fraction(0)) + w * p
    return out


def one_step_deviation(system, chain, step=camps.mean_field_step):
    """``max_s ||E[e_s' | s] - step(e_s)||_1`` from the chain's own rows."""
    m = system.agents
    labels = camps._labels(system)
    worst = Fraction(0)
    for s in range(chain.n_states):
        predicted = step(system, camps._empirical(chain.counts(s)), labels)
        lo, hi = chain.indptr[s], chain.indptr[s + 1]
        observed = {}
        for t, v in zip(chain.indices[lo:hi].tolist(), chain.values[lo:hi].tolist()):
            p = Fraction(int(v), int(chain.denominator))
            for c in chain.counts(t):
                observed[c] = observed.get(c, Fraction(0)) + p / m
        worst = max(worst, 2 * camps.total_variation(observed, predicted))
    return worst


def check_one_step(step=camps.mean_field_step, cases=ONE_STEP_CASES):
    bad = []
    for params in cases:
        system = System(**params)
        dev = one_step_deviation(system, build_chain(system, exact=True), step)
        if dev != 0:
            bad.append(("one-step identity", params, dev))
    return bad


def _pool_trajectory(system, steps, step):
    return [q for _, q in camps.mean_field_exact(system, steps=steps, step=step)]


def check_fixed_time_bound(step=camps.mean_field_step, agents=(2, 3, 4, 5, 6), memory=3, horizon=8):
    """Claim (2): |E q_k(s_t) - q_t(k)| <= L (2^t - 1) / (2 sqrt m), r = 1, K = 2, compared exactly (squared).

    On these m the bound is >= 1 for t >= 2 and the gap is 0 for t <= 1 (claim (1)), so this cannot fail here;
    :func:`check_conditional_spread` checks the proof's step (b) instead."""
    bad = []
    L = memory + 1
    for m in agents:
        system = System(agents=m, components=2, memory=memory)
        mf = _pool_trajectory(system, horizon, step)
        ex = camps.pool_frequencies(system, horizon=horizon)
        for t in range(horizon + 1):
            gap = max(abs(a - b) for a, b in zip(ex[t], mf[t]))
            if 4 * m * gap**2 > (L * (2**t - 1)) ** 2:
                bad.append(("fixed-time bound", m, t, gap))
    return bad


def conditional_spread(system, chain, step=camps.mean_field_step):
    """``max_s 4 m E[||e_s' - step(e_s)||_1 | s]^2 / L^2`` from the chain's own rows (claim (2), step (b): <= 1)."""
    m, L = system.agents, len(camps._local_states(system.memory, system.components))
    labels = camps._labels(system)
    worst = Fraction(0)
    for s in range(chain.n_states):
        predicted = step(system, camps._empirical(chain.counts(s)), labels)
        lo, hi = chain.indptr[s], chain.indptr[s + 1]
        spread = Fraction(0)
        for t, v in zip(chain.indices[lo:hi].tolist(), chain.values[lo:hi].tolist()):
            spread += Fraction(int(v), int(chain.denominator)) * 2 * camps.total_variation(
                camps._empirical(chain.counts(t)), predicted)
        worst = max(worst, 4 * m * spread**2 / L**2)
    return worst


def check_conditional_spread(step=camps.mean_field_step, cases=ONE_STEP_CASES, scale=1):
    """Claim (2) step (b): E[||e_s' - F(e_s)||_1 | s] <= scale * L / (2 sqrt m) at every state, exactly (squared).

    The measured maximum is 0.43 to 0.68 of the bound on these cases, so ``scale = 1/2`` must fail."""
    bad = []
    for params in cases:
        system = System(**params)
        worst = conditional_spread(system, build_chain(system, exact=True), step)
        if worst > Fraction(scale) ** 2:
            bad.append(("conditional spread", params, worst))
    return bad


def _random_measure(rng, states):
    w = [Fraction(rng.randint(0, 9)) for _ in states]
    if not sum(w):
        w[0] = Fraction(1)
    return {c: x / sum(w) for c, x in zip(states, w)}


def check_lipschitz(step=camps.mean_field_step, samples=40, seed=1):
    """||F(mu) - F(nu)||_1 <= (1 + r) ||mu - nu||_1 on random rational pairs."""
    rng = random.Random(seed)
    bad = []
    for params in (dict(agents=1, components=2, memory=3), dict(agents=1, components=3, memory=2),
                   dict(agents=1, components=2, memory=4, replace=2)):
        system = System(**params)
        states = camps._local_states(system.memory, system.components)
        for _ in range(samples):
            mu, nu = _random_measure(rng, states), _random_measure(rng, states)
            lhs = 2 * camps.total_variation(step(system, mu), step(system, nu))
            rhs = (1 + system.replace) * 2 * camps.total_variation(mu, nu)
            if lhs > rhs:
                bad.append(("lipschitz", params, lhs, rhs))
    return bad


def check_monotone(samples=40, seed=2):
    """Claim (3): lo <= hi (and pools) gives sum lo P_qlo <= sum hi P_qhi componentwise."""
    rng = random.Random(seed)
    bad = []
    for params in (dict(agents=1, components=2, memory=3), dict(agents=1, components=3, memory=3, replace=2)):
        system = System(**params)
        N, K = system.memory, system.components
        states = camps._local_states(N, K)
        labels = camps._labels(system)
        for _ in range(samples):
            hi = {c: Fraction(rng.randint(0, 6), 7) for c in states}
            lo = {c: hi[c] * Fraction(rng.randint(0, 5), 5) for c in states}
            qhi, qlo = camps._pool(hi, N, K), camps._pool(lo, N, K)
            out_lo, out_hi = {}, {}
            for mu, q, out in ((lo, qlo, out_lo), (hi, qhi, out_hi)):
                for c, w in mu.items():
                    for c2, p in camps.one_agent_law(system, c, q, labels).items():
                        out[c2] = out.get(c2, 0) + w * p
            if any(out_lo.get(c, 0) > out_hi.get(c, 0) for c in states):
                bad.append(("monotone", params))
    return bad


def check_enclosure(steps=6):
    """Claims (3)-(4): the interval iteration encloses the exact recursion; vertex mass non-decreasing."""
    bad = []
    for params in (dict(agents=1, components=2, memory=3), dict(agents=1, components=3, memory=3),
                   dict(agents=1, components=2, memory=4), dict(agents=1, components=2, memory=4, replace=2)):
        system = System(**params)
        N = system.memory
        exact = camps.mean_field_exact(system, steps=steps)
        enc = camps.mean_field_enclosure(system, steps=steps)
        for t, (mu, q) in enumerate(exact):
            for c in enc["lower"][t]:
                if not enc["lower"][t][c] <= mu.get(c, 0) <= enc["upper"][t][c]:
                    bad.append(("enclosure mu", params, t, c))
            if not all(a <= x <= b for a, x, b in zip(enc["q_lower"][t], q, enc["q_upper"][t])):
                bad.append(("enclosure q", params, t))
        vertices = [c for c in enc["lower"][0] if max(c) == N]
        for v in vertices:
            seq = [mu.get(v, 0) for mu, _ in exact]
            if any(a > b for a, b in zip(seq, seq[1:])):
                bad.append(("vertex mass decreases", params, v))
        lim = camps.mean_field_limit(system, tol=Fraction(1, 10**12))
        final = exact[-1][0]
        for k, v in enumerate(sorted(vertices, key=lambda c: c.index(N))):
            if not lim["lower"][k] >= final.get(v, 0) - Fraction(1, 2**150):
                bad.append(("limit below an earlier vertex mass", params, k))
            if not lim["lower"][k] <= lim["upper"][k]:
                bad.append(("empty enclosure", params, k))
        # the reported point: inside the box and a probability vector, also for a short (wide) enclosure
        for short in (lim, camps.mean_field_limit(system, max_steps=3)):
            if not (box_point_ok(short["lower"], short["point"], short["upper"])
                    and sum(short["lower"]) <= 1 <= sum(short["upper"])):
                bad.append(("point outside the box", params, short["steps"]))
    if box_point_ok(WIDE_BOX[0], normalised_midpoint(*WIDE_BOX), WIDE_BOX[1]):
        bad.append(("the point check misses the normalised midpoint of", WIDE_BOX))
    if not box_point_ok(WIDE_BOX[0], camps.box_point(*WIDE_BOX), WIDE_BOX[1]):
        bad.append(("box_point outside", WIDE_BOX))
    return bad


#: A box holding probability vectors (sum lower <= 1 <= sum upper) whose normalised midpoint lies outside it.
WIDE_BOX = ((Fraction(9, 10), Fraction(0)), (Fraction(1), Fraction(1, 2)))


def normalised_midpoint(lower, upper):
    """A wrong choice of point (the old one): the box's midpoint divided by its sum."""
    mid = [(a + b) / 2 for a, b in zip(lower, upper)]
    return tuple(x / sum(mid) for x in mid)


def box_point_ok(lower, point, upper):
    return all(a <= x <= b for a, x, b in zip(lower, point, upper)) and sum(point) == 1


def _incoming(system, c, q, labels):
    p = [Fraction(0)] * system.components
    for k in range(system.components):
        p[int(labels[sum(1 << i for i in range(system.components) if c[i] > 0), k])] += q[k]
    return p


def j_move(c, j, b, r):
    """Claim (4b)'s move: remove min(c_j, r) items j and the rest from the other labels (lowest index first),
    add r items b."""
    c = list(c)
    take = min(c[j], r)
    c[j] -= take
    rest = r - take
    for k in range(len(c)):
        if k != j and rest:
            x = min(c[k], rest)
            c[k] -= x
            rest -= x
    c[b] += r
    return tuple(c)


def check_escape_moves(samples=6, seed=3, scale=1):
    """Claim (4b), one step: at every interior c, for every j in supp(c) and several q, the j-move towards
    b = argmax p has probability >= scale * K^-r / C(N, r), keeps the support inside supp(c), and changes c_j
    as the proof says; p depends on c only through supp(c)."""
    from math import comb

    rng = random.Random(seed)
    bad = []
    for params in (dict(agents=1, components=2, memory=4), dict(agents=1, components=2, memory=5, replace=2),
                   dict(agents=1, components=3, memory=3), dict(agents=1, components=3, memory=4, replace=2),
                   dict(agents=1, components=3, memory=3, replace=3)):
        system = System(**params)
        N, K, r = system.memory, system.components, system.replace
        labels = camps._labels(system)
        delta0 = Fraction(scale) * Fraction(1, K**r * comb(N, r))
        qs = [tuple(Fraction(int(i == k)) for i in range(K)) for k in range(K)]
        for _ in range(samples):
            w = [Fraction(rng.randint(0, 9)) for _ in range(K)]
            w[0] += 1
            qs.append(tuple(x / sum(w) for x in w))
        by_support = {}
        for c in camps._local_states(N, K):
            if max(c) == N:
                continue
            S = {k for k in range(K) if c[k] > 0}
            for q in qs:
                p = _incoming(system, c, q, labels)
                key = (frozenset(S), q)
                if by_support.setdefault(key, p) != p:
                    bad.append(("p depends on more than the support", params, c, q))
                b = max(sorted(S), key=lambda k: (p[k], -k))
                law = camps.one_agent_law(system, c, q, labels)
                for j in S:
                    c2 = j_move(c, j, b, r)
                    want = max(c[j] - r, 0) if b != j else max(c[j], r)
                    if law.get(c2, 0) < delta0 or c2[j] != want or any(c2[k] and k not in S for k in range(K)):
                        bad.append(("escape move", params, c, q, j, c2))
    return bad


def escape_walk_fails(N, r, size, window):
    """Claim (4b), the counting: for every sequence b_1..b_window over a support of ``size`` labels and every
    start c_j <= N - 1, some j reaches c_j = 0 under the update rules.  Returns the sequences where none does."""
    from itertools import product as seqs

    failures = []
    for bs in seqs(range(size), repeat=window):
        for start in range(1, N):
            ok = False
            for j in range(size):
                cj = start
                for b in bs:
                    cj = max(cj - r, 0) if b != j else max(cj, r)
                    if cj == 0:
                        break
                ok = ok or cj == 0
            if not ok:
                failures.append((bs, start))
                break
    return failures


def check_escape_counting():
    bad = []
    for N, r, size in ((2, 1, 2), (3, 1, 2), (4, 1, 2), (5, 1, 2), (5, 2, 2), (6, 4, 2), (3, 1, 3), (4, 1, 3),
                       (4, 3, 3)):
        W = 2 * -(-N // r)
        if escape_walk_fails(N, r, size, W):
            bad.append(("escape counting", N, r, size))
    return bad


def check_symmetry():
    """Claim (5): swap equivariance of P_q for K = 2 and the exact symmetric iteration."""
    bad = []
    for params in (dict(agents=1, components=2, memory=4), dict(agents=1, components=2, memory=3, replace=2)):
        system = System(**params)
        labels = camps._labels(system)
        states = camps._local_states(system.memory, 2)
        for q0 in (Fraction(0), Fraction(1, 3), Fraction(1, 2), Fraction(4, 5)):
            q = (q0, 1 - q0)
            for c in states:
                a = camps.one_agent_law(system, c, q, labels)
                b = camps.one_agent_law(system, (c[1], c[0]), (q[1], q[0]), labels)
                if any(a.get(d, 0) != b.get((d[1], d[0]), 0) for d in states):
                    bad.append(("swap equivariance", params, c, q))
    system = System(agents=1, components=2, memory=4)
    exact = camps.mean_field_exact(system, steps=6)
    enc = camps.mean_field_enclosure(system, steps=6)
    for t, (mu, q) in enumerate(exact):
        if q != (Fraction(1, 2), Fraction(1, 2)) or any(enc["lower"][t][c] != mu.get(c, 0) for c in enc["lower"][t]):
            bad.append(("symmetric iteration", t))
    lim = camps.mean_field_limit(system)
    if not (lim["exact"] and lim["lower"][0] <= Fraction(1, 2) <= lim["upper"][0]):
        bad.append(("symmetric limit", lim["lower"], lim["upper"]))
    return bad


def main():
    failures = []
    for check in (check_one_step, check_fixed_time_bound, check_conditional_spread, check_lipschitz, check_monotone,
                  check_enclosure, check_escape_moves, check_escape_counting, check_symmetry):
        bad = check()
        print(f"{check.__name__}: {'ok' if not bad else bad[:3]}")
        failures += bad
    # negative controls: wrong recursions must be caught
    wrong_one = check_one_step(open_neighbourhood_step, cases=ONE_STEP_CASES[:1])
    wrong_bound = check_one_step(scaled_pool_step, cases=ONE_STEP_CASES[:2])
    halved = check_conditional_spread(cases=ONE_STEP_CASES[2:3], scale=Fraction(1, 2))
    print(f"negative controls: open-neighbourhood recursion caught: {bool(wrong_one)}; scaled pool caught: "
          f"{bool(wrong_bound)}; halved spread bound L/(4 sqrt m) caught: {bool(halved)}")
    # claim (4b): four times the per-step bound, and a window of ceil(N/r) steps, are too strong
    strong_step = check_escape_moves(samples=0, scale=4)
    short_window = escape_walk_fails(4, 1, 2, 4)
    print(f"negative controls (4b): 4 x the step bound caught: {bool(strong_step)}; window ceil(N/r) caught: "
          f"{bool(short_window)}")
    if not wrong_one or not wrong_bound or not halved or not strong_step or not short_window:
        failures.append("a negative control was not caught")
    if failures:
        print("FAILED", failures[:5])
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
