"""State index: ranking and unranking (MODEL.md 2)."""

from math import comb

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from markovgmm.chain.states import all_states, global_index, local_ranks, local_states, rank_counts

from reference import local_states as naive_local_states


@settings(max_examples=40, deadline=None)
@given(N=st.integers(1, 12), K=st.integers(2, 5))
def test_local_ranking_is_a_bijection(N, K):
    table = local_states(N, K)
    assert table.shape == (comb(N + K - 1, K - 1), K)
    assert (table.sum(axis=1) == N).all() and (table >= 0).all()
    assert rank_counts(table, N).tolist() == list(range(len(table)))
    assert sorted(map(tuple, table.tolist())) == sorted(naive_local_states(N, K))


@settings(max_examples=30, deadline=None)
@given(L=st.integers(1, 9), m=st.integers(1, 4))
def test_global_index_round_trip(L, m):
    states = all_states(L, m)
    assert len(states) == L**m
    assert global_index(states, L).tolist() == list(range(L**m))
    assert (local_ranks(np.arange(L**m), L, m) == states).all()
