"""Building the memory-replacement chain: state index, per-agent laws, assembly."""

from .build import Chain, agent_laws, build_chain, estimate_cost
from .states import all_states, global_index, local_ranks, local_states, rank_counts, state_counts

__all__ = [
    "Chain",
    "build_chain",
    "agent_laws",
    "estimate_cost",
    "local_states",
    "rank_counts",
    "global_index",
    "local_ranks",
    "all_states",
    "state_counts",
]
