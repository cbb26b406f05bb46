"""Real LLM interaction runs (seed 000's mirroring experiment) measured with
the same silo observables as the GMM mirroring system (MODEL.md 6).

- :mod:`markovgmm.llm.runs` -- read runs (the shipped gzipped-CSV format or
  a plain JSONL format), assign silos by a flower vocabulary, observables;
- :mod:`markovgmm.llm.embed` -- the embedding metric ``D_t``, ``||D_t||_F``
  and classical MDS, with an offline stand-in embedding model (extra
  ``[embed]``);
- :mod:`markovgmm.llm.compare` -- LLM runs vs the continuous GMM mirroring
  system vs the mirroring chain's Monte Carlo, cell by cell.

Import the modules themselves; this file imports nothing heavy.
"""
