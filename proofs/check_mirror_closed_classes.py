"""Check proofs/mirror_closed_classes.md with the naive Fraction reference of
the mirroring chain (tests/mirror_reference.py, MODEL.md 6.2).

For every n = 2..5, K = 2..3, r = 1..3, k = 1..n-1, p in {0, 1/3, 1}, every
geometry and both tie rules:

1. MODEL.md 6.2's statement, on every all-vertex state: "under p < 1 an
   all-vertex state is absorbing exactly when every silo has at least k + 1
   agents".  Theorem 1 of the proof: true for r >= 2, false for r = 1 (every
   state is absorbing).  The script checks that the reference agrees with
   Theorem 1 everywhere, that the statement holds on every r >= 2 system, and
   that it fails on r = 1 exactly where Theorem 1 says (and prints the
   smallest counterexample).
2. Every closed class, over the whole state space (not only from one start):
   Theorem 2 says every closed class is one absorbing state, and the
   absorbing states are: r = 1, every state; r >= 2, the all-vertex states
   with p = 1, or with every silo >= k + 1 agents when p < 1.  Checked by
   (a) computing which states are absorbing (every agent's law is a point mass
   on its own store) and (b) showing an absorbing state is reachable from every
   state (then no other closed class exists).  The chain commutes with agent
   permutations (the partner rule sees the others only through their
   compositions), so (a) and (b) are checked on sorted states, one per orbit;
   the orbit of an absorbing state is absorbing and paths lift.  On the
   smaller systems the closed classes are also found literally, as the
   strongly connected components without exit of the full (unlumped) graph
   (tests/mirror_reference.closed_classes), and compared.
3. Geometries whose order of mean distances is the same function give the
   same chain (K = 2: all three; K = 3: circle = simplex); the script asserts
   that equality of the distance functions and runs each distinct one once.

Exits non-zero on the first disagreement.
"""

import sys
import time
from fractions import Fraction
from itertools import combinations_with_replacement, product
from multiprocessing import Pool
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import mirror_reference as ref  # noqa: E402

PS = (Fraction(0), Fraction(1, 3), Fraction(1))
SYSTEMS = [(n, K, r) for n in range(2, 6) for K in (2, 3) for r in (1, 2, 3)]
FULL_GRAPH_LIMIT = 300  # unlumped state count up to which closed classes are also found by SCC


def distinct_geometries(K):
    """One representative per distinct distance order (asserted equal as functions)."""
    reps = []
    for g in ref.GEOMETRIES:
        table = tuple(ref.mean_distance(a, b, K, g) for a in range(K) for b in range(K))
        # compare orders: the farthest rule only uses comparisons of distances from a fixed a
        order = tuple(
            tuple(sorted(range(K), key=lambda b: (ref.mean_distance(a, b, K, g), b))) for a in range(K)
        ) + tuple(
            tuple(ref.mean_distance(a, b, K, g) == ref.mean_distance(a, c, K, g) for b in range(K) for c in range(K))
            for a in range(K)
        )
        for rep in reps:
            if rep[1] == order:
                rep[2].append(g)
                break
        else:
            reps.append((g, order, [g], table))
    return [(rep[0], rep[2]) for rep in reps]


def silo_sizes(state):
    sizes = {}
    for c in state:
        s = ref.silo(c)
        sizes[s] = sizes.get(s, 0) + 1
    return sizes


def predicted_absorbing(state, r, k, p):
    """Theorem 2's absorbing states."""
    if r == 1:
        return True
    if not all(ref.is_vertex(c) for c in state):
        return False
    return p == 1 or min(silo_sizes(state).values()) >= k + 1


def spec_statement(state, k):
    """MODEL.md 6.2 on an all-vertex state under p < 1: absorbing iff every silo >= k + 1."""
    return min(silo_sizes(state).values()) >= k + 1


def check_system(args):
    n, K, r, k, p, geometry, ties = args
    t0 = time.time()
    comps = ref.compositions(K, r)
    laws_cache = {}

    def supports(state):
        """Per agent, its possible next compositions (most concentrated first)."""
        if state not in laws_cache:
            by_comp = {}
            out = []
            for i, c in enumerate(state):
                if c not in by_comp:
                    law = ref.agent_law(state, i, K, r, k, p, geometry, ties)
                    if sum(law.values()) != 1:
                        raise AssertionError(f"agent law does not sum to 1 at {state}")
                    by_comp[c] = sorted(law, key=lambda d: (-max(d), d))
                out.append(by_comp[c])
            laws_cache[state] = out
        return laws_cache[state]

    def absorbing(state):
        return all(s == [c] for s, c in zip(supports(state), state))

    errors = []
    statement_failures = []
    orbits = sorted({tuple(sorted(s)) for s in combinations_with_replacement(comps, n)})  # one sorted tuple per orbit
    absorbing_set = set()
    for s in orbits:
        a = absorbing(s)
        if a != predicted_absorbing(s, r, k, p):
            errors.append(f"absorbing({s}) = {a}, Theorem 2 says {not a}")
        if a:
            absorbing_set.add(s)
        if p < 1 and all(ref.is_vertex(c) for c in s) and a != spec_statement(s, k):
            statement_failures.append(s)
    # (b) an absorbing state is reachable from every orbit (lazy DFS, memo of good orbits)
    good = set(absorbing_set)
    for s in orbits:
        if s in good:
            continue
        stack = [(s, product(*supports(s)))]
        visited = {s}
        found = False
        while stack:
            state, successors = stack[-1]
            for nxt in successors:
                nxt = tuple(sorted(nxt))
                if nxt in good:
                    found = True
                    break
                if nxt not in visited:
                    visited.add(nxt)
                    stack.append((nxt, product(*supports(nxt))))
                    break
            else:
                stack.pop()
                continue
            if found:
                good.update(st for st, _ in stack)
                break
        if not found:
            errors.append(f"no absorbing state reachable from {s}: a closed class that is not a single state")
            break
    # literal closed classes on the full graph of the smaller systems
    full_count = len(comps) ** n
    literal = False
    if not errors and full_count <= FULL_GRAPH_LIMIT:
        literal = True
        rows = {s: ref.transition_row(s, K, r, k, p, geometry, ties) for s in product(comps, repeat=n)}
        for s, row in rows.items():
            if sum(row.values()) != 1:
                errors.append(f"row of {s} does not sum to 1")
        classes = ref.closed_classes(rows)
        expected = {frozenset([s]) for s in rows if predicted_absorbing(s, r, k, p)}
        if set(classes) != expected:
            errors.append(f"closed classes {sorted(map(sorted, classes))[:3]}... differ from Theorem 2")
    return args, errors, statement_failures, literal, time.time() - t0


def main():
    jobs = []
    for n, K, r in SYSTEMS:
        for geometry, same in distinct_geometries(K):
            for k in range(1, n):
                for p in PS:
                    for ties in ref.TIES:
                        jobs.append((n, K, r, k, p, geometry, ties))
    for K in (2, 3):
        print(f"K = {K}: geometries with one distance order: {[same for _, same in distinct_geometries(K)]}")
    failed = False
    literal_count = 0
    counterexample = None
    r1_statement_failures = 0
    t0 = time.time()
    with Pool(2) as pool:
        for (n, K, r, k, p, geometry, ties), errors, statement_failures, literal, dt in pool.imap_unordered(
            check_system, jobs, chunksize=1
        ):
            literal_count += literal
            for e in errors[:3]:
                failed = True
                print(f"FAIL n={n} K={K} r={r} k={k} p={p} {geometry} {ties}: {e}")
            if statement_failures:
                if r >= 2:
                    failed = True
                    print(f"FAIL: MODEL.md 6.2's statement fails with r = {r} >= 2 at {statement_failures[0]}")
                else:
                    r1_statement_failures += len(statement_failures)
                    cand = (n, K, k, p, geometry, ties, statement_failures[0])
                    if counterexample is None or cand[:2] < counterexample[:2]:
                        counterexample = cand
            elif r == 1 and p < 1 and n <= K * k:
                # some all-vertex state has a silo of <= k agents, so the statement must fail
                failed = True
                print(f"FAIL: expected the r = 1 counterexample at n={n} K={K} k={k} p={p}")
    print(f"{len(jobs)} systems checked in {time.time() - t0:.1f} s; closed classes also found by SCC on the "
          f"full graph of {literal_count}")
    if counterexample is None:
        failed = True
        print("FAIL: no r = 1 counterexample found")
    else:
        n, K, k, p, geometry, ties, s = counterexample
        print(f"ok  MODEL.md 6.2's statement holds on every r >= 2 system; it fails for r = 1 "
              f"({r1_statement_failures} all-vertex orbits), e.g. n={n} K={K} k={k} p={p} {geometry} {ties}: "
              f"{s} is absorbing with a silo of fewer than k + 1 agents")
    if failed:
        sys.exit(1)
    print("ok  Theorem 2: every closed class is one absorbing state, and the absorbing states are as stated")


if __name__ == "__main__":
    main()
