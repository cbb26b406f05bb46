"""Input and output: model-checker exports."""

from .export import drn_text, read_prism_tra, state_labels, write_drn, write_prism

__all__ = ["drn_text", "read_prism_tra", "state_labels", "write_drn", "write_prism"]
