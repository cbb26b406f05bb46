"""Building the memory-replacement chain: state index, per-agent laws, assembly."""

from .build import Chain, agent_laws, build_chain, estimate_cost, incoming_label_laws
from .lumped import build_lumped_chain, build_streamed_chain
from .symmetry import AgentGroup, agent_group
from .states import all_states, global_index, local_ranks, local_states, rank_counts, state_counts

__all__ = [
    "Chain",
    "build_chain",
    "agent_laws",
    "incoming_label_laws",
    "build_lumped_chain",
    "build_streamed_chain",
    "agent_group",
    "AgentGroup",
    "estimate_cost",
    "local_states",
    "rank_counts",
    "global_index",
    "local_ranks",
    "all_states",
    "state_counts",
]
