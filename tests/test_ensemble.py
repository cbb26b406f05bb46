"""Seed 004 / MODEL.md 5: mixture-model ensembling checked exactly (markovgmm.ensemble).

Independent computations used here: a naive enumeration of all outcomes
with the product / mixture formulas read straight from the raw tables
(``naive_laws``), hand-derived values, a closed form for prefix-independent
models (covariance), chi-square tests of seeded samples, and the chain core's
per-agent laws (``markovgmm.chain.build.agent_laws``) for the reading step.
"""

import itertools
import json
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare

from markovgmm.chain.build import agent_laws, build_chain
from markovgmm.chain.states import local_states, rank_counts
from markovgmm.cli import main
from markovgmm.ensemble import (
    DEFAULT_MODELS,
    METHODS,
    Ensemble,
    TableModel,
    compare,
    default_example,
    ensemble_from_dict,
    ensemble_law,
    mixture_label_law,
    pool_ensemble,
    pool_label_law,
    sample,
    sequence_level_law,
    token_level_law,
    total_variation,
)
from markovgmm.errors import InputError
from markovgmm.system import System


# ---------------------------------------------------------------------------
# An independent naive implementation from the raw file structure
# ---------------------------------------------------------------------------
def naive_laws(data, L):
    vocab, end = data["vocabulary"], data.get("end")
    M = len(data["models"])
    weights = [Fraction(w) for w in data.get("weights", [Fraction(1, M)] * M)]
    tables = []
    for spec in data["models"]:
        table = {}
        for context, row in spec["table"].items():
            if isinstance(row, dict):
                row = [row.get(v, 0) for v in vocab]
            table[tuple(context.split())] = dict(zip(vocab, (Fraction(x) for x in row)))
        tables.append(table)

    def p(m, prefix, token):
        for start in range(len(prefix) + 1):  # longest listed suffix first
            if prefix[start:] in tables[m]:
                return tables[m][prefix[start:]][token]
        raise AssertionError

    ensemble, sequence = {}, {}
    for n in range(1, L + 1):
        for x in itertools.product(vocab, repeat=n):
            if (end is not None and end in x[:-1]) or (n < L and x[-1] != end):
                continue
            ens = Fraction(1)
            for t in range(n):
                ens *= sum(weights[m] * p(m, x[:t], x[t]) for m in range(M))
            seq = Fraction(0)
            for m in range(M):
                term = weights[m]
                for t in range(n):
                    term *= p(m, x[:t], x[t])
                seq += term
            ensemble[x], sequence[x] = ens, seq
    return ensemble, sequence


def positive(law):
    return {x: v for x, v in law.items() if v}


def naive_tv(p, q):
    return sum(abs(p.get(x, 0) - q.get(x, 0)) for x in set(p) | set(q)) / 2


# ---------------------------------------------------------------------------
# Exact laws
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("L", [1, 2, 3, 4])
def test_default_example_laws(L):
    example = default_example()
    naive_ens, naive_seq = naive_laws(DEFAULT_MODELS, L)
    laws = {name: law.probabilities for name, law in ((m, f(example, L)) for m, f in (("e", ensemble_law), ("t", token_level_law), ("s", sequence_level_law)))}
    assert laws["e"] == positive(naive_ens)
    assert laws["t"] == positive(naive_ens)
    assert laws["s"] == positive(naive_seq)
    for law in laws.values():
        assert sum(law.values()) == 1
    report = compare(example, L)
    assert report["tv_token_level"] == 0
    assert report["tv_sequence_level"] == naive_tv(naive_seq, naive_ens)
    assert (report["tv_sequence_level"] > 0) == (L >= 2)  # one token: the marginals agree
    assert report["evaluations_per_token"] == {"ensemble": 2, "token_level": 1, "sequence_level": 1}


def test_default_example_hand_values():
    # By hand from the tables: ensemble P(a, end) = (2/3*2/3 + 1/3*1/4)(2/3*1/4 + 1/3*1/2) = 19/36 * 1/3;
    # sequence level = 2/3 * (2/3*1/4) + 1/3 * (1/4*1/2) = 11/72.
    example = default_example()
    assert token_level_law(example, 2).probabilities[("a", "<end>")] == Fraction(19, 108)
    assert ensemble_law(example, 2).probabilities[("a", "<end>")] == Fraction(19, 108)
    assert sequence_level_law(example, 2).probabilities[("a", "<end>")] == Fraction(11, 72)


@st.composite
def small_models(draw):
    V = draw(st.integers(2, 3))
    has_end = draw(st.booleans())
    vocab = [f"t{v}" for v in range(V - 1)] + ["END" if has_end else f"t{V - 1}"]
    plain = vocab[:-1] if has_end else vocab
    L = draw(st.integers(1, 3))
    M = draw(st.integers(1, 3))

    def row():
        values = draw(st.lists(st.integers(0, 4), min_size=V, max_size=V))
        if not any(values):
            values[draw(st.integers(0, V - 1))] = 1
        return [str(Fraction(x, sum(values))) for x in values]

    models = []
    for m in range(M):
        table = {"": row()}
        for n in range(1, L):
            for prefix in itertools.product(plain, repeat=n):
                if draw(st.booleans()):
                    table[" ".join(prefix)] = row()
        models.append({"name": f"m{m}", "table": table})
    raw = draw(st.lists(st.integers(0, 3), min_size=M, max_size=M).filter(any))
    data = {"vocabulary": vocab, "models": models, "weights": [str(Fraction(w, sum(raw))) for w in raw]}
    if has_end:
        data["end"] = "END"
    return data, L


@settings(max_examples=40, deadline=None)
@given(small_models())
def test_token_level_equals_ensemble_on_random_models(case):
    data, L = case
    ensemble = ensemble_from_dict(data)
    naive_ens, naive_seq = naive_laws(data, L)
    ens, tok, seq = ensemble_law(ensemble, L), token_level_law(ensemble, L), sequence_level_law(ensemble, L)
    assert tok.probabilities == ens.probabilities == positive(naive_ens)
    assert seq.probabilities == positive(naive_seq)
    assert total_variation(tok, ens) == 0
    assert total_variation(seq, ens) == naive_tv(naive_seq, naive_ens)
    assert ens.total() == tok.total() == seq.total() == 1
    assert tok.evaluations_per_token == seq.evaluations_per_token == 1
    assert ens.evaluations_per_token == ensemble.n_models


def _unigram(vocab, row, name):
    return TableModel(vocab, {(): row}, name=name)


def test_sequence_level_is_zero_only_in_the_documented_cases():
    vocab = ("a", "b", "c")
    p1, p2 = ("1/2", "1/3", "1/6"), ("1/5", "1/5", "3/5")
    # One token: every method has the averaged law.
    distinct = Ensemble((_unigram(vocab, p1, "1"), _unigram(vocab, p2, "2")), ("1/3", "2/3"))
    assert compare(distinct, 1)["tv_sequence_level"] == 0
    # A single model of positive weight.
    assert compare(Ensemble(distinct.models, (0, 1)), 3)["tv_sequence_level"] == 0
    # Identical prefix-independent models.
    same = Ensemble((_unigram(vocab, p1, "1"), _unigram(vocab, p1, "2")), ("1/3", "2/3"))
    assert compare(same, 3)["tv_sequence_level"] == 0
    # Models that agree everywhere except at the last position (L = 3: prefixes of length 2).
    shared = {(): p1, ("a",): p2, ("b",): p1, ("c",): p2}
    late_a = TableModel(vocab, {**shared, ("a", "a"): ("1", "0", "0")}, name="late-a")
    late_b = TableModel(vocab, {**shared, ("a", "a"): ("0", "0", "1")}, name="late-b")
    late = Ensemble((late_a, late_b), ("1/2", "1/2"))
    assert compare(late, 3)["tv_sequence_level"] == 0
    assert compare(late, 4)["tv_sequence_level"] > 0  # now they differ before the last position


def test_prefix_independent_distinct_models_are_not_enough():
    # Closed form (proofs/ensemble_token_level.md, Claim 2): L = 2, no end token,
    # P_seq(a,b) - P_ens(a,b) = Cov_lambda(p(a), p(b)), so TV = (1/2) sum_ab |Cov|.
    vocab = ("a", "b", "c")
    rows = [tuple(map(Fraction, r)) for r in (("1/2", "1/3", "1/6"), ("1/5", "1/5", "3/5"), ("0", "1/4", "3/4"))]
    lam = (Fraction(1, 4), Fraction(1, 4), Fraction(1, 2))
    ensemble = Ensemble(tuple(_unigram(vocab, r, str(i)) for i, r in enumerate(rows)), lam)
    assert all(model.prefix_independent for model in ensemble.models)
    mean = [sum(l * r[v] for l, r in zip(lam, rows)) for v in range(3)]
    cov = [[sum(l * (r[a] - mean[a]) * (r[b] - mean[b]) for l, r in zip(lam, rows)) for b in range(3)] for a in range(3)]
    expected = sum(abs(cov[a][b]) for a in range(3) for b in range(3)) / 2
    assert expected > 0
    assert compare(ensemble, 2)["tv_sequence_level"] == expected
    # The one-token marginals agree although the joint laws do not.
    seq = sequence_level_law(ensemble, 2).probabilities
    for v, token in enumerate(vocab):
        assert sum(p for x, p in seq.items() if x[0] == token) == mean[v]
        assert sum(p for x, p in seq.items() if x[1] == token) == mean[v]


# ---------------------------------------------------------------------------
# Samplers
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_sampler_frequencies_match_exact_law(method):
    example, L, n = default_example(), 3, 20_000
    exact = {"ensemble": ensemble_law, "token_level": token_level_law, "sequence_level": sequence_level_law}[method](example, L)
    result = sample(example, L, method, n, seed=20261125)
    assert set(result.counts) <= set(exact.probabilities)
    cells = list(exact.probabilities)
    observed = [result.counts.get(x, 0) for x in cells]
    expected = [float(exact.probabilities[x]) * n for x in cells]
    assert min(expected) > 5 and sum(observed) == n
    # Deterministic with the seed; a correct sampler fails this with probability 1e-3.
    assert chisquare(observed, np.array(expected) * n / sum(expected)).pvalue > 1e-3
    # Tokens counted agree with the drawn sequences' lengths; evaluations per token by method.
    assert result.tokens == sum(len(x) * c for x, c in result.counts.items())
    assert result.evaluations == result.tokens * (example.n_models if method == "ensemble" else 1)
    assert result.evaluations_per_token == (2 if method == "ensemble" else 1)


def test_chi_square_has_power_against_sequence_level():
    example, L, n = default_example(), 3, 20_000
    exact = ensemble_law(example, L)
    result = sample(example, L, "sequence_level", n, seed=7)
    cells = list(exact.probabilities)
    observed = [result.counts.get(x, 0) for x in cells]
    expected = np.array([float(exact.probabilities[x]) for x in cells]) * n
    assert chisquare(observed, expected * n / expected.sum()).pvalue < 1e-10


def test_sampler_counts_three_models_and_is_seeded():
    vocab = ("x", "y")
    models = tuple(TableModel(vocab, {(): r}, name=str(i)) for i, r in enumerate((("1", "0"), ("0", "1"), ("1/2", "1/2"))))
    ensemble = Ensemble(models)
    for method, per_token in (("ensemble", 3), ("token_level", 1), ("sequence_level", 1)):
        result = sample(ensemble, 4, method, 300, seed=5)
        assert result.tokens == 300 * 4 and result.evaluations_per_token == per_token
        assert result.counts == sample(ensemble, 4, method, 300, seed=5).counts
    assert compare(ensemble, 4)["evaluations_per_token"]["ensemble"] == 3


# ---------------------------------------------------------------------------
# The chain's reading step (MODEL.md 2, step 1)
# ---------------------------------------------------------------------------
def _q_from_agent_laws(system):
    """q_i at every state, read off the chain core's per-agent law (open, r = 1, K = 2):
    P(c -> c - e_a + e_b) = (c_a / N) q_i(b) for b != a."""
    N = system.memory
    chain = build_chain(system, exact=True)
    table = local_states(N, 2)
    succ, vals, denom = agent_laws(system, chain.agent_ranks, exact=True)
    out = []
    for s, ranks in enumerate(chain.agent_ranks):
        per_agent = []
        for i, rank in enumerate(ranks):
            c = table[rank]
            a = 0 if c[0] > 0 else 1
            target = c.copy()
            target[a] -= 1
            target[1 - a] += 1
            goal = rank_counts(target, N)
            p = sum(Fraction(int(v), int(denom)) for r, v in zip(succ[s, i], vals[s, i]) if r == goal)
            q_other = p / Fraction(int(c[a]), N)
            per_agent.append((1 - q_other, q_other) if a == 0 else (q_other, 1 - q_other))
        out.append((tuple(tuple(int(x) for x in table[r]) for r in ranks), tuple(per_agent)))
    return out


@pytest.mark.parametrize("graph", ["complete", "path"])
def test_pool_reading_is_the_mixture_on_every_chain_state(graph):
    system = System(agents=3, components=2, memory=3, ownership="open", graph=graph)
    states = _q_from_agent_laws(system)
    assert len(states) == 64
    for state, q_chain in states:
        pool = pool_label_law(system, state)
        assert pool == mixture_label_law(system, state) == q_chain
        for law in pool:
            assert sum(law) == 1


def test_pool_reading_with_unequal_weights_and_two_posts():
    W = (("1/2", "1/3", "1/6"), ("0", "1/4", "3/4"), ("1/5", "2/5", "2/5"))
    system = System(agents=3, components=3, memory=2, reading=W)
    for state in (((2, 0, 0), (0, 1, 1), (1, 0, 1)), ((1, 1, 0), (1, 1, 0), (0, 0, 2))):
        q = pool_label_law(system, state)
        assert q == mixture_label_law(system, state)
        for i in range(3):
            by_hand = tuple(sum(Fraction(W[i][j]) * Fraction(state[j][k], 2) for j in range(3)) for k in range(3))
            assert q[i] == by_hand
            # Two posts from freshly drawn authors: i.i.d. q_i (MODEL.md 2 step 3); one author for both: not.
            pool = pool_ensemble(system, state, i)
            two = token_level_law(pool, 2).probabilities
            iid = {(str(a), str(b)): q[i][a] * q[i][b] for a in range(3) for b in range(3)}
            assert two == positive(iid)
            assert total_variation(sequence_level_law(pool, 2), two) > 0


# ---------------------------------------------------------------------------
# CLI and bad input
# ---------------------------------------------------------------------------
def test_cli_json_default(capsys):
    assert main(["ensemble", "--json", "--samples", "500", "--seed", "3"]) == 0
    report = json.loads(capsys.readouterr().out)
    naive_ens, naive_seq = naive_laws(DEFAULT_MODELS, 3)
    assert report["tv_token_level"] == "0"
    assert Fraction(report["tv_sequence_level"]) == naive_tv(naive_seq, naive_ens) > 0
    assert report["evaluations_per_token"] == {"ensemble": "2", "token_level": "1", "sequence_level": "1"}
    assert {tuple(row["sequence"]): Fraction(row["ensemble"]) for row in report["table"]} == positive(naive_ens)
    measured = {m: report["sampling"]["methods"][m]["evaluations_per_token"] for m in METHODS}
    assert measured == {"ensemble": "2", "token_level": "1", "sequence_level": "1"}


def test_cli_models_file_and_length(tmp_path, capsys):
    data = {
        "vocabulary": ["x", "y"],
        "length": 2,
        "weights": [0.25, "3/4"],
        "models": [{"name": "X", "table": {"": {"x": 1}}}, {"name": "Y", "table": {"": [0, 1]}}],
    }
    path = tmp_path / "models.json"
    path.write_text(json.dumps(data))
    assert main(["ensemble", "--models", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    # Sequence level: xx 1/4, yy 3/4; ensemble: i.i.d. (1/4, 3/4), so TV = 1/4*3/4 + 3/4*1/4 = 3/8.
    assert report["length"] == 2 and report["tv_sequence_level"] == "3/8" and report["tv_token_level"] == "0"
    assert main(["ensemble", "--models", str(path), "--length", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tv_sequence_level"] == "0"
    assert main(["ensemble", "--models", str(path)]) == 0
    assert "TV(sequence-level, ensemble)" in capsys.readouterr().out


def test_cli_print_example_round_trip(tmp_path, capsys):
    assert main(["ensemble", "--print-example"]) == 0
    path = tmp_path / "example.json"
    path.write_text(capsys.readouterr().out)
    assert main(["ensemble", "--models", str(path), "--json"]) == 0
    from_file = json.loads(capsys.readouterr().out)
    assert main(["ensemble", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == from_file


GOOD = {"vocabulary": ["a", "b", "E"], "end": "E", "models": [{"name": "A", "table": {"": ["1/2", "1/2", "0"], "a": ["0", "1/2", "1/2"]}}]}


def _bad(**change):
    data = json.loads(json.dumps(GOOD))
    for key, value in change.items():
        if key == "table":
            data["models"][0]["table"] = value
        else:
            data[key] = value
    return data


@pytest.mark.parametrize(
    "data, words",
    [
        (_bad(table={"": ["1/2", "1/3", "0"]}), "sum to 1"),
        (_bad(table={"": ["3/2", "-1/2", "0"]}), ">= 0"),
        (_bad(table={"": ["1/2", "1/2"]}), "one probability per vocabulary token"),
        (_bad(table={"": ["1", "0", "0"], "z": ["1", "0", "0"]}), "not in the vocabulary"),
        (_bad(table={"": ["1", "0", "0"], "a E": ["1", "0", "0"]}), "end token"),
        (_bad(table={"a": ["1", "0", "0"]}), "empty context"),
        (_bad(table={"": ["x", "0", "1"]}), "rational number"),
        (_bad(weights=["1/2", "1/2"]), "one weight per model"),
        (_bad(weights=["2"]), "sum to 1"),
        (_bad(vocabulary=["a", "a", "E"]), "distinct"),
        (_bad(end="Z"), "not in the vocabulary"),
        (_bad(length=0), "length"),
        (_bad(models=[]), "nonempty list"),
        (_bad(colour="red"), "unknown key"),
        ({"vocabulary": ["a"]}, "'models' is required"),
    ],
)
def test_bad_models_file(tmp_path, capsys, data, words):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    assert main(["ensemble", "--models", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("markovgmm ensemble: error:") and err.count("\n") == 1 and words in err


def test_bad_files_and_arguments(tmp_path, capsys):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert main(["ensemble", "--models", str(broken)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert main(["ensemble", "--models", str(tmp_path / "missing.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["ensemble", "--length", "0"]) == 2
    assert main(["ensemble", "--length", "40"]) == 2  # refused before enumerating 3^40 prefixes
    assert "limit" in capsys.readouterr().err
    with pytest.raises(InputError, match="method"):
        sample(default_example(), 2, "per-paragraph", 10)
    with pytest.raises(InputError, match="samples"):
        sample(default_example(), 2, "ensemble", 0)
    with pytest.raises(InputError, match="reader"):
        pool_ensemble(System(agents=2, components=2, memory=2), ((2, 0), (1, 1)), 2)
    with pytest.raises(InputError, match="state"):
        pool_label_law(System(agents=2, components=2, memory=2), ((2, 0), (1, 0)))


def test_sequence_level_can_equal_the_ensemble_while_the_posterior_moves():
    """Seed 004: the posterior staying at lambda is sufficient, not necessary (issue 13, item 7)."""
    from fractions import Fraction

    from markovgmm.ensemble import Ensemble, TableModel, ensemble_law, sequence_level_law, total_variation

    a = TableModel(("x", "y"), {(): ("9/10", "1/10"), ("x",): ("1/2", "1/2"), ("y",): ("1/2", "1/2")}, name="a")
    b = TableModel(("x", "y"), {(): ("1/10", "9/10"), ("x",): ("1/2", "1/2"), ("y",): ("1/2", "1/2")}, name="b")
    pair = Ensemble((a, b))
    prior_x = [w * model.next_law(())[0] for w, model in zip(pair.weights, pair.models)]
    assert prior_x[0] / sum(prior_x) == Fraction(9, 10)  # the posterior after "x" has moved
    assert total_variation(sequence_level_law(pair, 2), ensemble_law(pair, 2)) == 0
    assert total_variation(sequence_level_law(pair, 3), ensemble_law(pair, 3)) == 0
