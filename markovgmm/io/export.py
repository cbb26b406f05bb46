"""Export a built chain for model checkers: Storm's DRN and PRISM explicit files.

Both formats number states from 0 (our state numbers) and carry the labels
``init`` (the start state), ``absorbed`` (closed-class states), ``polar``
(states of polarised classes), ``consensus`` and ``consensus_k`` (states of
the consensus class at vertex ``k``), and ``other``.  On an exact chain the
probabilities are written as exact fractions ``p/q``, which Storm's exact
engine reads without rounding; on a float chain, with 17 significant digits.

``P=? [F "polar"]`` in Storm then gives P(polarisation) of MODEL.md 3.
"""

from __future__ import annotations

from fractions import Fraction
from math import gcd

from ..analysis.classes import closed_classes
from ..numbers import int_str

__all__ = ["state_labels", "write_drn", "write_prism", "drn_text", "read_prism_tra"]


def state_labels(chain, start=None, structure=None):
    """``{label: sorted state numbers}`` for the labels described above."""
    structure = structure if structure is not None else closed_classes(chain)
    labels = {"absorbed": [], "polar": [], "consensus": [], "other": []}
    for k in range(chain.system.components):
        labels[f"consensus_{k}"] = []
    for cls in structure.classes:
        states = list(cls.states)
        labels["absorbed"] += states
        if cls.kind == "polarised":
            labels["polar"] += states
        elif cls.kind == "consensus":
            labels["consensus"] += states
            labels[f"consensus_{cls.component}"] += states
        else:
            labels["other"] += states
    if start is not None:
        labels["init"] = [int(start)]
    return {name: sorted(states) for name, states in labels.items()}


def _format_value(chain, value):
    if chain.exact:
        numerator, denominator = int(value), int(chain.denominator)
        g = gcd(numerator, denominator)
        numerator, denominator = numerator // g, denominator // g
        return int_str(numerator) if denominator == 1 else f"{int_str(numerator)}/{int_str(denominator)}"
    return repr(float(value))


def drn_text(chain, start):
    """The chain as a Storm DRN (explicit) text, one ``action 0`` per state.

    Examples
    --------
    >>> from markovgmm import System, build_chain
    >>> chain = build_chain(System(agents=1, components=2, memory=1))
    >>> print(drn_text(chain, 0).splitlines()[10])
    state 0 init absorbed consensus consensus_0
    """
    labels = state_labels(chain, start)
    per_state = [[] for _ in range(chain.n_states)]
    for name in ["init", "absorbed", "polar", "consensus", "other"] + [
        f"consensus_{k}" for k in range(chain.system.components)
    ]:
        for s in labels.get(name, []):
            per_state[s].append(name)
    n = str(chain.n_states)
    lines = ["@type: DTMC", "@parameters", "", "@reward_models", "", "@nr_states", n, "@nr_choices", n, "@model"]
    for s in range(chain.n_states):
        lines.append(" ".join([f"state {s}"] + per_state[s]))
        lines.append("\taction 0")
        for k in range(chain.indptr[s], chain.indptr[s + 1]):
            lines.append(f"\t\t{int(chain.indices[k])} : {_format_value(chain, chain.values[k])}")
    return "\n".join(lines) + "\n"


def write_drn(chain, start, path):
    """Write :func:`drn_text` to ``path``."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(drn_text(chain, start))


def write_prism(chain, start, stem, dialect="prism", fractions=False):
    """Write explicit files ``stem.tra`` (transitions) and ``stem.lab``
    (labels); returns the two paths.

    ``dialect="prism"`` writes PRISM's explicit format (first line of ``.tra``
    counts states and transitions; ``.lab`` starts with ``0="init" 1="deadlock"
    ...`` and lists label numbers per state).  ``dialect="storm"`` writes the
    variant Storm's explicit parser reads (``dtmc`` as first line;
    ``#DECLARATION ... #END`` then label names per state).  Both formats hold
    decimals, so probabilities are written with 17 significant digits;
    ``fractions=True`` writes exact ``p/q`` instead (read by neither parser,
    but by :func:`read_prism_tra`).
    """
    if dialect not in ("prism", "storm"):
        from ..errors import InputError

        raise InputError(f"dialect must be prism or storm, got {dialect!r}")
    labels = state_labels(chain, start)
    names = ["init", "deadlock"] + [name for name in labels if name != "init"]
    tra = ["dtmc"] if dialect == "storm" else [f"{chain.n_states} {chain.n_transitions}"]
    for s in range(chain.n_states):
        for k in range(chain.indptr[s], chain.indptr[s + 1]):
            value = chain.values[k]
            if fractions:
                text = _format_value(chain, value)
            else:
                text = repr(float(Fraction(int(value), chain.denominator)) if chain.exact else float(value))
            tra.append(f"{s} {int(chain.indices[k])} {text}")
    per_state = {}
    for i, name in enumerate(names):
        for s in labels.get(name, []):
            per_state.setdefault(s, []).append(name if dialect == "storm" else str(i))
    if dialect == "storm":
        lab = ["#DECLARATION", " ".join(names), "#END"] + [f"{s} {' '.join(per_state[s])}" for s in sorted(per_state)]
    else:
        header = " ".join(f'{i}="{name}"' for i, name in enumerate(names))
        lab = [header] + [f"{s}: {' '.join(per_state[s])}" for s in sorted(per_state)]
    paths = (f"{stem}.tra", f"{stem}.lab")
    for path, lines in zip(paths, (tra, lab)):
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
    return paths


def read_prism_tra(path):
    """Read a PRISM ``.tra`` file back as ``(n, {(s, t): Fraction})`` (for
    tests); ``n`` is None for Storm's variant, which does not count states."""
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    first, *rest = lines
    n = None if first.strip() == "dtmc" else int(first.split()[0])
    entries = {}
    for line in rest:
        if line.strip():
            s, t, p = line.split()
            entries[(int(s), int(t))] = Fraction(p)
    return n, entries

