"""Mixture-model ensembling of small autoregressive models, checked exactly (MODEL.md 5).

Seed 004 (*Rethinking LLM ensembling from the perspective of mixture
models*) observes that sampling each next token from **one** model drawn at
random with weights ``lambda`` (the "mixture-model-like ensemble", ME, here
called *token-level selection*) gives exactly the sequence law of the
conventional ensemble, which samples every token from the weight-averaged
next-token law ``sum_m lambda_m p_m(. | prefix)`` and therefore evaluates all
``M`` models per token.  Drawing one model per **sequence** (*sequence-level
selection*) does not give that law in general.

This module checks both statements exactly, in rational arithmetic, on small
finite-vocabulary autoregressive models given as tables:

* :class:`TableModel`: a next-token law per context (a tuple of tokens); the
  law after a prefix is the row of the longest suffix of the prefix that the
  table lists (the empty context ``()`` must be listed), so a full prefix
  table, a bigram table and a prefix-independent (unigram) model are all
  tables.  An optional end token stops a sequence; otherwise sequences have
  the fixed length ``L``.
* :class:`Ensemble`: ``M`` models over one vocabulary with weights
  ``lambda``.
* :func:`ensemble_law`, :func:`token_level_law`, :func:`sequence_level_law`:
  the exact law of the generated sequence under each method, over all
  sequences up to length ``L`` (a sequence stops at the end token or after
  ``L`` tokens), and :func:`total_variation` between laws.  The token-level
  law is computed by enumerating every path of model choices (the definition
  of the process), not by the product formula of the ensemble, so their
  agreement is a check, not a tautology (``proofs/ensemble_token_level.md``).
* :func:`sample`: a seeded sampler for each method that counts model
  evaluations per generated token (ensemble ``M``, token-level 1,
  sequence-level 1).
* The connection to the chain (MODEL.md 2, step 1): reading a post from the
  pool, i.e. drawing an author ``j`` with probability ``W[i, j]`` and then one
  of its memory items, is token-level selection over the authors' label laws
  ``c_j / N``; its label law is the mixture ``q_i = sum_j W[i, j] c_j / N``
  (:func:`pool_label_law` counts posts in the pool, :func:`mixture_label_law`
  averages the authors' laws with this module's :class:`Ensemble`).

Models file (``--models FILE`` of ``markovgmm ensemble``, :func:`read_models`)
------------------------------------------------------------------------------
One JSON object::

    {
      "vocabulary": ["a", "b", "<end>"],
      "end": "<end>",
      "length": 3,
      "weights": ["2/3", "1/3"],
      "models": [
        {"name": "A", "table": {"":  ["2/3", "1/3", "0"],
                                "a": ["1/2", "1/4", "1/4"],
                                "b": {"a": "1/4", "b": "1/4", "<end>": "1/2"}}},
        {"name": "B", "table": {"": ["1/3", "2/3", "0"]}}
      ]
    }

* ``vocabulary``: distinct tokens without whitespace (required).
* ``end``: the end token, one of the vocabulary (optional; without it every
  sequence has exactly ``length`` tokens).
* ``length``: the default maximum length ``L`` (optional; the command's
  ``--length`` overrides it; default 3).
* ``weights``: one weight per model, nonnegative, summing to 1 exactly
  (optional; default uniform).
* ``models``: a list of ``{"name": ..., "table": {...}}``; a table maps a
  context, written as its tokens separated by spaces (``""`` is the empty
  context, which is required), to a row: a list with one probability per
  vocabulary token, or an object ``{token: probability}`` (missing tokens
  have probability 0).  Contexts never contain the end token.
* Probabilities are exact: ``"1/3"``, ``"0.25"``, ``0.25`` (read through its
  decimal string) or integers; every row must be nonnegative and sum to 1
  exactly.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from fractions import Fraction
from math import lcm

import numpy as np

from .errors import InputError, TooLargeError
from .numbers import to_fraction

__all__ = [
    "TableModel",
    "Ensemble",
    "SequenceLaw",
    "SampleResult",
    "METHODS",
    "average_laws",
    "model_law",
    "ensemble_law",
    "token_level_law",
    "sequence_level_law",
    "sequence_laws",
    "total_variation",
    "compare",
    "sample",
    "chi_square",
    "default_example",
    "DEFAULT_MODELS",
    "ensemble_from_dict",
    "read_models",
    "pool_ensemble",
    "pool_label_law",
    "mixture_label_law",
]

METHODS = ("ensemble", "token_level", "sequence_level")
"""The three ways of generating from an ensemble, in report order."""

_MAX_WORK = 300_000  # branches of an exact enumeration (Fraction arithmetic, roughly 30 microseconds each)


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------
def _check_row(row, vocabulary, where):
    """A next-token law as a tuple of Fractions in vocabulary order (validated)."""
    V = len(vocabulary)
    if isinstance(row, dict):
        unknown = [t for t in row if t not in vocabulary]
        if unknown:
            raise InputError(f"{where}: token {unknown[0]!r} is not in the vocabulary")
        values = [row.get(t, 0) for t in vocabulary]
    elif isinstance(row, (list, tuple)):
        if len(row) != V:
            raise InputError(f"{where}: needs one probability per vocabulary token ({V}), got {len(row)}")
        values = list(row)
    else:
        raise InputError(f"{where}: a row must be a list of {V} probabilities or an object token -> probability")
    law = tuple(to_fraction(x, name=where) for x in values)
    if any(x < 0 for x in law):
        raise InputError(f"{where}: probabilities must be >= 0, got {min(law)}")
    if sum(law) != 1:
        raise InputError(f"{where}: probabilities must sum to 1 exactly, they sum to {sum(law)}")
    return law


def _check_vocabulary(vocabulary, end):
    if isinstance(vocabulary, str) or not isinstance(vocabulary, (list, tuple)) or not vocabulary:
        raise InputError("vocabulary: must be a nonempty list of tokens")
    vocabulary = tuple(vocabulary)
    for token in vocabulary:
        if not isinstance(token, str) or not token or any(ch.isspace() for ch in token):
            raise InputError(f"vocabulary: tokens must be nonempty strings without whitespace, got {token!r}")
    if len(set(vocabulary)) != len(vocabulary):
        raise InputError("vocabulary: tokens must be distinct")
    if end is not None and end not in vocabulary:
        raise InputError(f"end: the end token {end!r} is not in the vocabulary")
    if end is not None and len(vocabulary) < 2:
        raise InputError("vocabulary: needs a token besides the end token")
    return vocabulary


@dataclass(frozen=True, eq=False)
class TableModel:
    """A finite-vocabulary autoregressive model given as a table (MODEL.md 5).

    Parameters
    ----------
    vocabulary : sequence of str
        Distinct tokens without whitespace.
    table : dict
        Context -> next-token law.  A context is a tuple of tokens (or a
        string of tokens separated by spaces); a law is a sequence of
        probabilities in vocabulary order or a dict ``{token: probability}``.
        Probabilities are read exactly (:func:`markovgmm.numbers.to_fraction`)
        and each row must be nonnegative and sum to 1.  The empty context
        ``()`` is required.
    end : str, optional
        End token: a sequence stops when it is generated.  Without one,
        sequences have a fixed length.
    name : str
        A label for reports.

    Notes
    -----
    The law after a prefix ``x_1 .. x_{t-1}`` is the row of the longest
    suffix ``x_s .. x_{t-1}`` listed in the table (back-off): a table keyed by
    full prefixes is a general autoregressive model, a table keyed by the last
    token a bigram model, and a table with only ``()`` a prefix-independent
    model.  Contexts never contain the end token (generation stops there).

    Examples
    --------
    >>> model = TableModel(("a", "b"), {(): ("1/2", "1/2"), ("a",): (1, 0)})
    >>> [str(p) for p in model.next_law(("b", "a"))], [str(p) for p in model.next_law(("a", "b"))]
    (['1', '0'], ['1/2', '1/2'])
    """

    vocabulary: tuple
    table: dict
    end: str | None = None
    name: str = "model"

    def __post_init__(self):
        vocabulary = _check_vocabulary(self.vocabulary, self.end)
        if not isinstance(self.table, dict) or not self.table:
            raise InputError(f"table of {self.name}: must map contexts to next-token laws")
        table = {}
        for context, row in self.table.items():
            if isinstance(context, str):
                context = tuple(context.split())
            if not isinstance(context, tuple):
                raise InputError(f"table of {self.name}: a context must be a tuple of tokens or a string, got {context!r}")
            label = " ".join(map(str, context)) or "(empty)"
            for token in context:
                if token not in vocabulary:
                    raise InputError(f"table of {self.name}: context {label!r} has token {token!r} not in the vocabulary")
                if token == self.end:
                    raise InputError(f"table of {self.name}: context {label!r} contains the end token (generation stops there)")
            if context in table:
                raise InputError(f"table of {self.name}: context {label!r} is listed twice")
            table[context] = _check_row(row, vocabulary, f"table of {self.name}, context {label!r}")
        if () not in table:
            raise InputError(f"table of {self.name}: the empty context (\"\") is required as the fallback law")
        object.__setattr__(self, "vocabulary", vocabulary)
        object.__setattr__(self, "table", table)
        object.__setattr__(self, "_longest", max(len(c) for c in table))

    def context_of(self, prefix):
        """The longest suffix of ``prefix`` listed in the table."""
        prefix = tuple(prefix)
        for size in range(min(len(prefix), self._longest), 0, -1):
            context = prefix[len(prefix) - size :]
            if context in self.table:
                return context
        return ()

    def next_law(self, prefix):
        """Next-token law after ``prefix``: a tuple of Fractions in vocabulary order."""
        return self.table[self.context_of(prefix)]

    @property
    def prefix_independent(self):
        """True when every listed row equals the empty context's row."""
        base = self.table[()]
        return all(row == base for row in self.table.values())


def average_laws(weights, laws):
    """The weighted average ``sum_m weights[m] * laws[m]`` of next-token laws.

    >>> [str(p) for p in average_laws((Fraction(1, 3), Fraction(2, 3)), ((1, 0), (0, 1)))]
    ['1/3', '2/3']
    """
    return tuple(sum((w * law[v] for w, law in zip(weights, laws)), Fraction(0)) for v in range(len(laws[0])))


@dataclass(frozen=True, eq=False)
class Ensemble:
    """``M`` table models over one vocabulary, with weights ``lambda`` (MODEL.md 5).

    Parameters
    ----------
    models : sequence of TableModel
        At least one; all share the vocabulary and the end token.
    weights : sequence of rationals, optional
        ``lambda_m >= 0`` summing to 1 exactly (default uniform).

    Examples
    --------
    >>> a = TableModel(("x", "y"), {(): (1, 0)}, name="a")
    >>> b = TableModel(("x", "y"), {(): (0, 1)}, name="b")
    >>> pair = Ensemble((a, b), ("1/4", "3/4"))
    >>> [str(p) for p in pair.next_law(())], pair.n_models
    (['1/4', '3/4'], 2)
    """

    models: tuple
    weights: tuple | None = None

    def __post_init__(self):
        models = tuple(self.models) if isinstance(self.models, (list, tuple)) else None
        if not models:
            raise InputError("models: an ensemble needs at least one model")
        if not all(isinstance(model, TableModel) for model in models):
            raise InputError("models: every model must be a TableModel")
        first = models[0]
        for model in models[1:]:
            if model.vocabulary != first.vocabulary:
                raise InputError(f"models: {model.name!r} has a different vocabulary from {first.name!r}")
            if model.end != first.end:
                raise InputError(f"models: {model.name!r} has a different end token from {first.name!r}")
        M = len(models)
        if self.weights is None:
            weights = (Fraction(1, M),) * M
        else:
            if isinstance(self.weights, str) or not isinstance(self.weights, (list, tuple)) or len(self.weights) != M:
                raise InputError(f"weights: needs one weight per model ({M})")
            weights = tuple(to_fraction(w, name="weights") for w in self.weights)
            if any(w < 0 for w in weights):
                raise InputError(f"weights: must be >= 0, got {min(weights)}")
            if sum(weights) != 1:
                raise InputError(f"weights: must sum to 1 exactly, they sum to {sum(weights)}")
        object.__setattr__(self, "models", models)
        object.__setattr__(self, "weights", weights)

    @property
    def vocabulary(self):
        return self.models[0].vocabulary

    @property
    def end(self):
        return self.models[0].end

    @property
    def n_models(self):
        return len(self.models)

    def next_law(self, prefix):
        """The ensemble's averaged next-token law ``sum_m lambda_m p_m(. | prefix)``."""
        return average_laws(self.weights, [model.next_law(prefix) for model in self.models])


# ---------------------------------------------------------------------------
# Exact sequence laws
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SequenceLaw:
    """The exact law of a generated sequence, with the generation's cost.

    ``probabilities`` maps each sequence of positive probability (a tuple of
    tokens, ending with the end token or of length ``L``) to its probability;
    ``expected_tokens`` and ``expected_evaluations`` are the expected number
    of generated tokens and of model evaluations per sequence.
    """

    probabilities: dict
    expected_tokens: Fraction
    expected_evaluations: Fraction

    @property
    def evaluations_per_token(self):
        """Expected model evaluations per generated token (exact)."""
        return self.expected_evaluations / self.expected_tokens

    def total(self):
        """Sum of the probabilities (exactly 1)."""
        return sum(self.probabilities.values(), Fraction(0))


#: Longest sequence length and most sampled tokens (``samples * length``) accepted.
MAX_LENGTH = 10_000
MAX_SAMPLE_TOKENS = 2 * 10**7


def _check_length(length):
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or not 1 <= length <= MAX_LENGTH:
        raise InputError(f"length: must be an integer from 1 to {MAX_LENGTH:,}, got {length!r}")
    return int(length)


def _guard(starts, continuing, per_node, length, what):
    """Refuse an enumeration whose work (branches examined) exceeds the limit.

    ``starts`` initial nodes, each node continued along at most
    ``continuing`` branches, ``per_node`` branches examined per node.
    """
    import math

    # closed form first: the sum below has ``length`` terms of up to ``continuing**length``
    log_work = math.log10(max(starts, 1)) + math.log10(max(per_node, 1)) + (length - 1) * math.log10(max(continuing, 1))
    if log_work > math.log10(_MAX_WORK) + 1:
        raise TooLargeError(
            f"length: the exact {what} examines more than 10^{int(log_work)} branches (limit {_MAX_WORK:,}, about 10 s); "
            "use a smaller length, vocabulary or ensemble"
        )
    work = starts * sum(continuing**t for t in range(length)) * per_node
    if work > _MAX_WORK:
        raise TooLargeError(
            f"length: the exact {what} examines up to {work:,} branches (limit {_MAX_WORK:,}, about 10 s); "
            "use a smaller length, vocabulary or ensemble"
        )


def _continuing(vocabulary, end):
    return len(vocabulary) - (end is not None)


def _expand(end, length, initial, step):
    """Exact law of a sequence generated by ``step``, level by level.

    ``initial`` lists ``(hidden, probability)`` starting points; ``step(prefix,
    hidden)`` returns ``(evaluations, branches)`` with branches ``(hidden',
    token, probability)``.  Nodes with equal prefixes but different hidden
    values are kept apart, so a hidden variable (a model choice) is summed
    over only at the leaves.
    """
    law = {}
    expected_tokens = Fraction(0)
    expected_evaluations = Fraction(0)
    frontier = [((), hidden, p) for hidden, p in initial if p]
    for t in range(length):
        following = []
        for prefix, hidden, p in frontier:
            evaluations, branches = step(prefix, hidden)
            expected_tokens += p
            expected_evaluations += p * evaluations
            for new_hidden, token, q in branches:
                if not q:
                    continue
                sequence = prefix + (token,)
                if token == end or t == length - 1:
                    law[sequence] = law.get(sequence, Fraction(0)) + p * q
                else:
                    following.append((sequence, new_hidden, p * q))
        frontier = following
    return SequenceLaw(law, expected_tokens, expected_evaluations)


def _ordered(law, vocabulary):
    order = {token: v for v, token in enumerate(vocabulary)}
    keys = sorted(law.probabilities, key=lambda seq: (len(seq), [order[t] for t in seq]))
    return SequenceLaw({k: law.probabilities[k] for k in keys}, law.expected_tokens, law.expected_evaluations)


def model_law(model, length):
    """Exact sequence law of one model, sequences up to ``length`` tokens.

    >>> coin = TableModel(("h", "t"), {(): ("1/2", "1/2")})
    >>> law = model_law(coin, 2)
    >>> len(law.probabilities), str(law.probabilities[("h", "t")])
    (4, '1/4')
    """
    length = _check_length(length)
    _guard(1, _continuing(model.vocabulary, model.end), len(model.vocabulary), length, "law")
    vocabulary = model.vocabulary

    def step(prefix, hidden):
        return 1, [(None, token, p) for token, p in zip(vocabulary, model.next_law(prefix))]

    return _ordered(_expand(model.end, length, [(None, Fraction(1))], step), vocabulary)


def ensemble_law(ensemble, length):
    """Exact sequence law of the conventional ensemble (MODEL.md 5).

    Every token is drawn from the averaged law ``sum_m lambda_m p_m(. |
    prefix)``, which evaluates all ``M`` models.

    Parameters
    ----------
    ensemble : Ensemble
    length : int
        Maximum number of tokens ``L`` (a sequence stops at the end token or
        after ``L`` tokens; without an end token every sequence has ``L``).

    Returns
    -------
    SequenceLaw
        ``P(x_1 .. x_n) = prod_t sum_m lambda_m p_m(x_t | x_<t)``;
        ``evaluations_per_token == M``.

    Notes
    -----
    Cost: one node per continued prefix of positive probability, at most
    ``sum_{t < L} V'^t`` (``V'`` the tokens other than the end token), each
    averaging ``M`` rational rows.  Enumerations examining more than 300,000
    branches (about 10 s) are refused with a :class:`TooLargeError`.

    Examples
    --------
    >>> law = ensemble_law(default_example(), 3)
    >>> law.total(), law.evaluations_per_token
    (Fraction(1, 1), Fraction(2, 1))
    """
    length = _check_length(length)
    vocabulary, M = ensemble.vocabulary, ensemble.n_models
    _guard(1, _continuing(vocabulary, ensemble.end), len(vocabulary) * M, length, "ensemble law")

    def step(prefix, hidden):
        return M, [(None, token, p) for token, p in zip(vocabulary, ensemble.next_law(prefix))]

    return _ordered(_expand(ensemble.end, length, [(None, Fraction(1))], step), vocabulary)


def token_level_law(ensemble, length):
    """Exact sequence law of token-level random selection (seed 004's ME).

    Before every token a model ``m`` is drawn with probability ``lambda_m``,
    independently of everything so far, and only that model is evaluated.

    Returns
    -------
    SequenceLaw
        ``P(x) = sum over model paths (m_1 .. m_n) of prod_t lambda_{m_t}
        p_{m_t}(x_t | x_<t)``; ``evaluations_per_token == 1``.

    Notes
    -----
    The law is computed from its definition: the generation tree is
    expanded over (model, token) pairs and the model path is summed out only
    at the leaves, at a cost of up to ``sum_{t < L} (M V')^t`` nodes of ``M V``
    branches each (refused above 300,000 branches, as for the ensemble law).  By
    induction over the prefix it equals :func:`ensemble_law` exactly
    (``proofs/ensemble_token_level.md``): the model drawn at step ``t`` is
    independent of the prefix, so ``P(x_t | x_<t) = sum_m lambda_m p_m(x_t |
    x_<t)``.

    Examples
    --------
    >>> example = default_example()
    >>> total_variation(token_level_law(example, 3), ensemble_law(example, 3))
    Fraction(0, 1)
    """
    length = _check_length(length)
    vocabulary = ensemble.vocabulary
    pairs = [(m, w) for m, w in enumerate(ensemble.weights) if w]
    _guard(1, _continuing(vocabulary, ensemble.end) * len(pairs), len(vocabulary) * len(pairs), length, "token-level law")

    def step(prefix, path):
        branches = []
        for m, w in pairs:
            law = ensemble.models[m].next_law(prefix)
            branches.extend((path + (m,), token, w * p) for token, p in zip(vocabulary, law))
        return 1, branches  # the process evaluates only the drawn model

    return _ordered(_expand(ensemble.end, length, [((), Fraction(1))], step), vocabulary)


def sequence_level_law(ensemble, length):
    """Exact sequence law of sequence-level selection (one model per sequence).

    A model ``m`` is drawn once with probability ``lambda_m`` and generates
    the whole sequence.

    Returns
    -------
    SequenceLaw
        ``P(x) = sum_m lambda_m prod_t p_m(x_t | x_<t)``;
        ``evaluations_per_token == 1``.

    Notes
    -----
    Equivalently each token is drawn from ``sum_m w_m(x_<t) p_m(x_t | x_<t)``
    with the *posterior* weights ``w_m(x_<t) ∝ lambda_m P_m(x_<t)`` in place of
    ``lambda``.  The law equals the ensemble's **if and only if**
    ``Cov_lambda(P_m(u), p_m(v | u)) = 0`` for every continued prefix ``u`` of
    positive probability and every token ``v`` (``proofs/ensemble_token_level.md``,
    Claim 2).  Sufficient: the posterior stays at the prior on every continued
    prefix, e.g. ``L = 1``, a single model of positive weight, or models that
    agree on every next-token law at prefixes shorter than ``L - 1``; not
    necessary: models that differ only at the first token and agree afterwards
    give TV 0 at ``L = 2`` although the posterior moves.  It is **not** enough that the models are
    prefix-independent: for prefix-independent models with ``L >= 2`` (fixed
    length) ``P_seq(a, b) - P_ens(a, b) = Cov_lambda(p_m(a), p_m(b))``, whose
    diagonal is a variance, so the laws agree iff all models of positive
    weight are equal (the single-token marginals always agree).

    Examples
    --------
    >>> example = default_example()
    >>> total_variation(sequence_level_law(example, 3), ensemble_law(example, 3)) > 0
    True
    """
    length = _check_length(length)
    vocabulary = ensemble.vocabulary
    _guard(ensemble.n_models, _continuing(vocabulary, ensemble.end), len(vocabulary), length, "sequence-level law")

    def step(prefix, m):
        return 1, [(m, token, p) for token, p in zip(vocabulary, ensemble.models[m].next_law(prefix))]

    initial = list(enumerate(ensemble.weights))
    return _ordered(_expand(ensemble.end, length, initial, step), vocabulary)


def sequence_laws(ensemble, length):
    """The three exact laws, keyed by method (:data:`METHODS`)."""
    return {
        "ensemble": ensemble_law(ensemble, length),
        "token_level": token_level_law(ensemble, length),
        "sequence_level": sequence_level_law(ensemble, length),
    }


def total_variation(p, q):
    """Exact total variation ``(1/2) sum_x |p(x) - q(x)|`` between two laws.

    ``p`` and ``q`` are :class:`SequenceLaw` or dicts sequence -> probability
    (missing sequences have probability 0).

    >>> total_variation({("a",): Fraction(1)}, {("a",): Fraction(1, 2), ("b",): Fraction(1, 2)})
    Fraction(1, 2)
    """
    p = p.probabilities if isinstance(p, SequenceLaw) else p
    q = q.probabilities if isinstance(q, SequenceLaw) else q
    zero = Fraction(0)
    return sum((abs(p.get(x, zero) - q.get(x, zero)) for x in set(p) | set(q)), zero) / 2


def compare(ensemble, length):
    """The three laws side by side and their exact distances (MODEL.md 5).

    Returns
    -------
    dict
        ``vocabulary``, ``end``, ``length``, ``models`` (names), ``weights``,
        ``sequences`` (number of sequences of positive probability under some
        method), ``tv_token_level`` = TV(token-level, ensemble) (always 0),
        ``tv_sequence_level`` = TV(sequence-level, ensemble),
        ``evaluations_per_token`` and ``expected_tokens`` per method (exact,
        counted while generating), and ``table``: one row per sequence with
        its probability under each method.

    Examples
    --------
    >>> report = compare(default_example(), 3)
    >>> report["tv_token_level"], report["evaluations_per_token"]["ensemble"]
    (Fraction(0, 1), Fraction(2, 1))
    """
    laws = sequence_laws(ensemble, length)
    order = {token: v for v, token in enumerate(ensemble.vocabulary)}
    sequences = sorted(set().union(*(law.probabilities for law in laws.values())), key=lambda s: (len(s), [order[t] for t in s]))
    zero = Fraction(0)
    return {
        "vocabulary": list(ensemble.vocabulary),
        "end": ensemble.end,
        "length": int(length),
        "models": [model.name for model in ensemble.models],
        "weights": list(ensemble.weights),
        "sequences": len(sequences),
        "tv_token_level": total_variation(laws["token_level"], laws["ensemble"]),
        "tv_sequence_level": total_variation(laws["sequence_level"], laws["ensemble"]),
        "evaluations_per_token": {name: law.evaluations_per_token for name, law in laws.items()},
        "expected_tokens": {name: law.expected_tokens for name, law in laws.items()},
        "table": [
            {"sequence": list(seq), **{name: laws[name].probabilities.get(seq, zero) for name in METHODS}} for seq in sequences
        ],
    }


# ---------------------------------------------------------------------------
# Sampling
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SampleResult:
    """Sequences drawn by one method: ``counts`` maps each drawn sequence to its
    frequency; ``tokens`` and ``evaluations`` are the numbers of generated
    tokens and of model evaluations (one model's next-token law for one
    sequence) over all samples."""

    method: str
    samples: int
    counts: dict
    tokens: int
    evaluations: int

    @property
    def evaluations_per_token(self):
        """Model evaluations per generated token (exact ratio)."""
        return Fraction(self.evaluations, self.tokens) if self.tokens else Fraction(0)


def _uniform_below(rng, bound, size):
    """``size`` independent uniform integers in ``[0, bound)``, exactly."""
    if bound < 2**63:
        return rng.integers(0, bound, size=size, dtype=np.int64)
    words = (bound.bit_length() + 63) // 64
    out = np.empty(size, dtype=object)
    for i in range(size):  # rejection sampling on 64-bit words; only for huge denominators
        while True:
            value = int.from_bytes(rng.bytes(8 * words), "little") >> (64 * words - bound.bit_length())
            if value < bound:
                out[i] = value
                break
    return out


def _draw(rng, law, size):
    """``size`` indices drawn exactly from a law given as Fractions."""
    denominator = lcm(*(p.denominator for p in law))
    cumulative = np.cumsum(np.array([int(p * denominator) for p in law], dtype=object))
    u = _uniform_below(rng, denominator, size)
    if denominator < 2**63:
        return np.searchsorted(cumulative.astype(np.int64), u, side="right")
    return np.array([int(np.searchsorted(cumulative, x, side="right")) for x in u], dtype=np.int64)


def sample(ensemble, length, method, samples, seed=None):
    """Draw ``samples`` sequences with one of the :data:`METHODS`, counting
    model evaluations.

    Parameters
    ----------
    ensemble : Ensemble
    length : int
        Maximum number of tokens ``L``.
    method : {"ensemble", "token_level", "sequence_level"}
        ``ensemble``: each token from the averaged law (evaluates all ``M``
        models); ``token_level``: each token from one model drawn with
        weights ``lambda`` (evaluates 1); ``sequence_level``: one model drawn
        per sequence generates all of it (evaluates 1 per token).
    samples : int
        Number of sequences.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    SampleResult

    Notes
    -----
    Draws are exact given the generator's uniform integers: a law ``p`` with
    common denominator ``D`` is sampled by a uniform integer below ``D``
    against the cumulative numerators, so no float rounding enters.  The
    samples are advanced together, one token position at a time, grouped by
    prefix (and model), so the work is ``O(samples * L)`` numpy operations
    plus one table look-up per distinct prefix.

    Examples
    --------
    >>> result = sample(default_example(), 3, "token_level", 50, seed=1)
    >>> result.evaluations_per_token, sum(result.counts.values())
    (Fraction(1, 1), 50)
    """
    length = _check_length(length)
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
        raise InputError(f"samples: must be an integer >= 1, got {samples!r}")
    if samples * length > MAX_SAMPLE_TOKENS:
        raise TooLargeError(
            f"samples: samples x length must be at most {MAX_SAMPLE_TOKENS:,} tokens, got {samples:,} x {length:,}; "
            "draw fewer samples"
        )
    try:
        rng = np.random.default_rng(seed)
    except (ValueError, TypeError):
        raise InputError(f"seed: must be a nonnegative integer, got {seed!r}") from None
    vocabulary, M = ensemble.vocabulary, ensemble.n_models
    end = vocabulary.index(ensemble.end) if ensemble.end is not None else -1
    tokens = np.full((samples, length), -1, dtype=np.int64)
    alive = np.ones(samples, dtype=bool)
    model_of = _draw(rng, ensemble.weights, samples) if method == "sequence_level" else np.zeros(samples, dtype=np.int64)
    generated = evaluations = 0
    for t in range(length):
        active = np.flatnonzero(alive)
        if not len(active):
            break
        if method == "token_level":
            model_of[active] = _draw(rng, ensemble.weights, len(active))
        if t:
            prefixes, group = np.unique(tokens[active, :t], axis=0, return_inverse=True)
            group = group.reshape(-1)
        else:
            prefixes, group = np.zeros((1, 0), dtype=np.int64), np.zeros(len(active), dtype=np.int64)
        for g, prefix_ids in enumerate(prefixes):
            members = active[group == g]
            prefix = tuple(vocabulary[v] for v in prefix_ids)
            if method == "ensemble":
                evaluations += M * len(members)
                tokens[members, t] = _draw(rng, ensemble.next_law(prefix), len(members))
                continue
            for m in np.unique(model_of[members]):
                chosen = members[model_of[members] == m]
                evaluations += len(chosen)
                tokens[chosen, t] = _draw(rng, ensemble.models[m].next_law(prefix), len(chosen))
        generated += len(active)
        if end >= 0:
            alive[active[tokens[active, t] == end]] = False
    rows, frequency = np.unique(tokens, axis=0, return_counts=True)
    counts = {tuple(vocabulary[v] for v in row if v >= 0): int(n) for row, n in zip(rows, frequency)}
    return SampleResult(method, int(samples), counts, int(generated), int(evaluations))


def chi_square(result, law, min_expected=5):
    """Pearson chi-square test of sampled counts against an exact law (float).

    Cells (sequences) with expected count below ``min_expected`` are pooled
    into one cell; a sequence drawn outside the law's support gives p-value 0.

    Returns
    -------
    (statistic, p_value) : floats (scipy.stats.chisquare).
    """
    from scipy.stats import chisquare

    probabilities = law.probabilities if isinstance(law, SequenceLaw) else law
    if any(seq not in probabilities for seq in result.counts):
        return float("inf"), 0.0
    n = result.samples
    observed, expected = [], []
    pooled_observed, pooled_expected = 0, 0.0
    for seq, p in probabilities.items():
        e = float(p) * n
        if e < min_expected:
            pooled_observed += result.counts.get(seq, 0)
            pooled_expected += e
        else:
            observed.append(result.counts.get(seq, 0))
            expected.append(e)
    if pooled_expected > 0:
        observed.append(pooled_observed)
        expected.append(pooled_expected)
    if len(observed) < 2:
        return 0.0, 1.0
    expected = np.array(expected) * (sum(observed) / sum(expected))  # remove float rounding of the total
    statistic, p_value = chisquare(observed, expected)
    return float(statistic), float(p_value)


# ---------------------------------------------------------------------------
# Built-in example and models files
# ---------------------------------------------------------------------------
DEFAULT_MODELS = {  # the built-in example in the models-file format (``markovgmm ensemble --print-example``)
    "vocabulary": ["a", "b", "<end>"],
    "end": "<end>",
    "length": 3,
    "weights": ["2/3", "1/3"],
    "models": [
        {
            "name": "likes-a",
            "table": {"": ["2/3", "1/3", "0"], "a": ["1/2", "1/4", "1/4"], "b": ["1/4", "1/4", "1/2"]},
        },
        {
            "name": "likes-b",
            "table": {"": ["1/4", "3/4", "0"], "a": ["1/4", "1/4", "1/2"], "b": ["1/8", "5/8", "1/4"]},
        },
    ],
}


def default_example():
    """The built-in example: two bigram models over ``a, b`` and an end token,
    weights ``2/3, 1/3``, default length 3.  Token-level selection matches the
    ensemble exactly, sequence-level selection does not.

    >>> example = default_example()
    >>> [model.name for model in example.models], [str(w) for w in example.weights]
    (['likes-a', 'likes-b'], ['2/3', '1/3'])
    """
    return ensemble_from_dict(DEFAULT_MODELS)


def ensemble_from_dict(data, where="models"):
    """An :class:`Ensemble` from the models-file structure (module docstring).

    The structure's ``length`` (the default maximum length) is validated but
    not part of the ensemble; :func:`read_models` returns it beside.
    """
    if not isinstance(data, dict):
        raise InputError(f"{where}: must be a JSON object with 'vocabulary' and 'models'")
    unknown = set(data) - {"vocabulary", "end", "length", "weights", "models"}
    if unknown:
        raise InputError(f"{where}: unknown key {sorted(unknown)[0]!r} (allowed: vocabulary, end, length, weights, models)")
    for key in ("vocabulary", "models"):
        if key not in data:
            raise InputError(f"{where}: the key {key!r} is required")
    end = data.get("end")
    if end is not None and not isinstance(end, str):
        raise InputError(f"{where}: 'end' must be a token (string) or absent, got {end!r}")
    vocabulary = _check_vocabulary(data["vocabulary"], end)
    specs = data["models"]
    if not isinstance(specs, list) or not specs:
        raise InputError(f"{where}: 'models' must be a nonempty list of {{'name': ..., 'table': {{...}}}}")
    models = []
    for index, spec in enumerate(specs):
        if not isinstance(spec, dict) or "table" not in spec:
            raise InputError(f"{where}: model {index} must be an object with a 'table'")
        extra = set(spec) - {"name", "table"}
        if extra:
            raise InputError(f"{where}: model {index} has unknown key {sorted(extra)[0]!r} (allowed: name, table)")
        name = str(spec.get("name", f"model {index}"))
        if not isinstance(spec["table"], dict):
            raise InputError(f"{where}: the table of {name!r} must map contexts to rows")
        models.append(TableModel(vocabulary, dict(spec["table"]), end=end, name=name))
    if "length" in data:
        _check_length(data["length"])
    return Ensemble(tuple(models), data.get("weights"))


def read_models(path):
    """Read an ensemble and its default length from a models JSON file.

    Returns
    -------
    (Ensemble, int or None)
        The ensemble and the file's ``length`` (None if absent).
    """
    try:
        if os.path.isdir(path):
            raise InputError(f"models: must be a JSON file, got the directory {path!r}")
        if os.path.exists(path) and os.path.getsize(path) > 16 * 2**20:
            raise InputError(f"models: must be a JSON file of at most 16 MiB, got {path!r}")
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as err:
        raise InputError(f"models: cannot read {path!r} ({err.strerror})") from None
    except (UnicodeDecodeError, RecursionError):
        raise InputError(f"models: must be a UTF-8 JSON file, got unreadable data in {path!r}") from None
    except json.JSONDecodeError as err:
        raise InputError(f"models: {path} is not valid JSON (line {err.lineno}: {err.msg})") from None
    if not isinstance(data, dict):
        raise InputError(f"models: {path} must hold a JSON object with 'vocabulary' and 'models', got {type(data).__name__}")
    ensemble = ensemble_from_dict(data, where=f"models: {path}")
    return ensemble, data.get("length")


# ---------------------------------------------------------------------------
# The chain's reading step as token-level selection (MODEL.md 2, step 1)
# ---------------------------------------------------------------------------
def pool_ensemble(system, state, reader):
    """Reader ``i``'s view of the pool as an ensemble: the authors.

    Author ``j`` is the prefix-independent model whose next-"token" law is
    its label law ``c_j / N`` (vocabulary ``"0" .. "K-1"``, no end token),
    with weight ``W[i, j]``.  Reading ``r`` posts, each from a freshly drawn
    author, is token-level selection (:func:`token_level_law` at length
    ``r``), which the chain's step 3 models as ``r`` i.i.d. labels from
    ``q_i``; reading ``r`` posts of one author would be sequence-level
    selection, a different law once two visible authors differ.

    Examples
    --------
    >>> from markovgmm.system import System
    >>> pool = pool_ensemble(System(agents=2, components=2, memory=4), ((3, 1), (0, 4)), 0)
    >>> [str(p) for p in pool.next_law(())]
    ['3/8', '5/8']
    """
    state = system.check_state(state, name="state")
    if isinstance(reader, bool) or not isinstance(reader, (int, np.integer)) or not 0 <= reader < system.agents:
        raise InputError(f"reader: must be an agent index from 0 to {system.agents - 1}, got {reader!r}")
    labels = tuple(str(k) for k in range(system.components))
    N = system.memory
    authors = tuple(
        TableModel(labels, {(): tuple(Fraction(c, N) for c in counts)}, name=f"author {j}") for j, counts in enumerate(state)
    )
    return Ensemble(authors, system.W[reader])


def mixture_label_law(system, state):
    """Every reader's incoming component law as the mixture of its authors' laws.

    ``q_i = sum_j W[i, j] c_j / N``, computed as the averaged next-token law
    of :func:`pool_ensemble` (seed 004's ensemble side).

    Returns
    -------
    tuple of tuples of Fraction, shape (m, K)

    Examples
    --------
    >>> from markovgmm.system import System
    >>> [[str(p) for p in q] for q in mixture_label_law(System(agents=2, components=2, memory=4), ((3, 1), (0, 4)))]
    [['3/8', '5/8'], ['3/8', '5/8']]
    """
    return tuple(pool_ensemble(system, state, i).next_law(()) for i in range(system.agents))


def pool_label_law(system, state):
    """Every reader's incoming component law by reading the pool (MODEL.md 2, step 1).

    The pool visible to reader ``i`` holds every memory item of every author
    it reads, author ``j``'s items each with multiplicity ``W[i, j] * D``
    (``D`` the common denominator of row ``i``, so multiplicities are
    integers; on an unweighted graph they are all equal and the pool is the
    plain multiset of visible posts).  A post drawn uniformly from it has
    component ``k`` with probability (multiplicity of posts labelled ``k``) /
    (total multiplicity): a count of posts, independent of the mixture formula
    of :func:`mixture_label_law`.  Vectorised over the pool's posts.

    Returns
    -------
    tuple of tuples of Fraction, shape (m, K)

    Examples
    --------
    >>> from markovgmm.system import System
    >>> [[str(p) for p in q] for q in pool_label_law(System(agents=3, components=2, memory=2, graph="path"), ((2, 0), (1, 1), (0, 2)))]
    [['3/4', '1/4'], ['1/2', '1/2'], ['1/4', '3/4']]
    """
    state = system.check_state(state, name="state")
    K = system.components
    counts = np.array(state, dtype=np.int64)  # (m, K)
    # The posts: one row per memory item, (author, component).
    authors = np.repeat(np.arange(system.agents), counts.sum(axis=1))
    components = np.concatenate([np.repeat(np.arange(K), row) for row in counts])
    out = []
    for row in system.W:
        D = lcm(*(w.denominator for w in row))
        multiplicity = np.array([int(w * D) for w in row], dtype=object)[authors]  # per post
        per_label = [int(multiplicity[components == k].sum()) for k in range(K)]
        total = int(multiplicity.sum())
        out.append(tuple(Fraction(x, total) for x in per_label))
    return tuple(out)
