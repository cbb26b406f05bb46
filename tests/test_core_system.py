"""System validation and reading matrices (MODEL.md 2)."""

from fractions import Fraction

import networkx as nx
import pytest

from markovgmm import InputError, System
from markovgmm.cli import main
from markovgmm.system import balanced_counts, parse_start, read_edge_list, reading_matrix

F = Fraction


def test_defaults_and_sizes():
    s = System(agents=3, components=2, memory=10)
    assert (s.replace, s.schedule, s.ownership, s.prune) == (1, "sync", "support", 0)
    assert s.n_local_states == 11 and s.n_states == 1331
    assert s.W == ((F(1, 3),) * 3,) * 3
    assert s.means == ((F(0),), (F(1),)) and s.covariance == ((F(1),),)
    assert s.is_complete_reading


def test_reading_matrices_of_named_graphs():
    star = System(agents=4, components=2, memory=2, graph="star").W
    assert star[0] == (F(1, 4),) * 4  # the hub reads everyone and itself
    assert star[1] == (F(1, 2), F(1, 2), F(0), F(0))
    ring = System(agents=4, components=2, memory=2, graph="ring").W
    assert ring[0] == (F(1, 3), F(1, 3), F(0), F(1, 3))
    open_path = System(agents=3, components=2, memory=2, graph="path", closed_neighbourhood=False).W
    assert open_path == ((0, 1, 0), (F(1, 2), 0, F(1, 2)), (0, 1, 0))


def test_directed_and_weighted_edge_list(tmp_path):
    path = tmp_path / "g.txt"
    path.write_text("# author reader weight\n10 2 1/3\n2 10 0.5\n7\n")
    g = read_edge_list(path, directed=True)
    assert list(g.nodes()) == [0, 1, 2]  # labels 2, 7, 10 sorted numerically
    W = reading_matrix(g, weight="weight")
    # reader 2 (label 10) reads label 2 (agent 0) with weight 1/2 and itself with 1: (1/3, 0, 2/3)
    assert W[2] == (F(1, 3), F(0), F(2, 3))
    assert W[0] == (F(3, 4), F(0), F(1, 4))  # reader 0 reads agent 2 with 1/3, itself 1
    assert W[1] == (F(0), F(1), F(0))
    s = System(agents=3, components=2, memory=2, graph=g, edge_weight="weight")
    assert s.W == W


def test_balanced_and_parse_start():
    assert balanced_counts(7, 3) == (3, 2, 2)
    assert parse_start(None, 2, 2, 5) == ((3, 2), (3, 2))
    assert parse_start("4,0;1,3", 2, 2, 4) == ((4, 0), (1, 3))


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(agents=0, components=2, memory=4), "agents"),
        (dict(agents=2, components=1, memory=4), "components"),
        (dict(agents=2, components=2, memory=0), "memory"),
        (dict(agents=2, components=2, memory=4, replace=5), "replace"),
        (dict(agents=2, components=2, memory=4, replace=0), "replace"),
        (dict(agents=2, components=2, memory=4, prune=2), "prune"),
        (dict(agents=2, components=2, memory=4, schedule="random"), "schedule"),
        (dict(agents=2, components=2, memory=4, ownership="soft"), "ownership"),
        (dict(agents=2, components=2, memory=4, reading=((F(1, 2), F(1, 3)), (0, 1))), "row-stochastic"),
        (dict(agents=2, components=2, memory=4, reading=((2, -1), (0, 1))), "nonnegative"),
        (dict(agents=2, components=2, memory=4, reading=((1,),)), "2 x 2"),
        (dict(agents=3, components=2, memory=4, graph=nx.path_graph(4)), "4 nodes but agents=3"),
        (dict(agents=2, components=2, memory=4, graph="ring"), "ring"),
        (dict(agents=2, components=2, memory=4, graph="lattice"), "graph"),
        (dict(agents=2, components=2, memory=4, means=(0, 1, 2)), "means"),
        (dict(agents=2, components=2, memory=4, covariance=((1, 2), (2, 1)), means=((0, 0), (1, 1))), "positive definite"),
        (dict(agents=2, components=2, memory=4, covariance=((1, 0), (1, 1)), means=((0, 0), (1, 1))), "symmetric"),
        (dict(agents=2.5, components=2, memory=4), "agents"),
        (dict(agents=40, components=5, memory=40), "states"),
    ],
)
def test_bad_input_is_one_clear_line(kwargs, words):
    with pytest.raises(InputError) as info:
        System(**kwargs)
    message = str(info.value)
    assert words in message and "\n" not in message


@pytest.mark.parametrize(
    "state, words",
    [
        (((2, 2),), "one count vector per agent"),
        (((2, 2), (1, 2)), "sum to memory=4"),
        (((2, 2), (2, 1, 1)), "needs 2 counts"),
        (((2, 2), (5, -1)), "nonnegative"),
    ],
)
def test_bad_start_states(state, words):
    with pytest.raises(InputError, match=words):
        System(agents=2, components=2, memory=4).check_state(state)


@pytest.mark.parametrize(
    "argv, words",
    [
        (["absorb", "--memory", "0"], "memory must be an integer >= 1"),
        (["absorb", "--replace", "9"], "replace must be an integer from 1 to memory=4"),
        (["absorb", "--start", "1,2;2,2"], "sum to memory=4"),
        (["absorb", "--graph", "no-such-file.txt"], "graph must be one of"),
        (["absorb", "--horizon", "-1"], "horizon"),
    ],
)
def test_cli_bad_input_exit_2_one_line(argv, words, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and words in lines[0]
