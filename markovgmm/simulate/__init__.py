"""Simulation: the continuous interacting-GMM system (MODEL.md 1) and Monte
Carlo of the memory-replacement chain (MODEL.md 2), independent of the
transition-matrix code, to cross-check the exact analyses.

Import the modules themselves (``markovgmm.simulate.continuous``,
``markovgmm.simulate.chain_mc``); this package file imports nothing so that
each simulator loads only what it needs.
"""
