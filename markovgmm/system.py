"""System: the validated description of an interacting-GMM chain (MODEL.md 2).

A :class:`System` holds everything that determines the memory-replacement
chain: agents ``m``, components ``K``, memory ``N``, replacements ``r``, the
schedule, the ownership rule, the pruning threshold ``tau``, the component
means and covariance, and the reading matrix ``W``.  It is checked once, when
made; building and analysis trust it.

The reading matrix comes from a networkx graph (:func:`reading_matrix`):
agent ``i`` is the ``i``-th node in the graph's node order, and row ``i`` of
``W`` is the law of the author of a post that reader ``i`` reads.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from fractions import Fraction
from math import comb

from .errors import InputError
from .numbers import to_fraction

__all__ = [
    "System",
    "reading_matrix",
    "graph_from_name",
    "read_edge_list",
    "balanced_counts",
    "parse_start",
    "default_start",
    "state_text",
    "MODELS",
    "GEOMETRIES",
    "TIE_RULES",
    "SCHEDULES",
    "OWNERSHIPS",
    "GRAPH_NAMES",
    "MAX_AGENTS",
    "MAX_COMPONENTS",
    "MAX_MEMORY",
    "MAX_STATES",
    "TABLE_LIMIT",
    "log10_states",
    "size_text",
    "check_table_size",
]

MODELS = ("pool", "mirror")
GEOMETRIES = ("line", "circle", "simplex")
TIE_RULES = ("clipped", "uniform")
SCHEDULES = ("sync", "async")
OWNERSHIPS = ("support", "open", "gaussian")
GRAPH_NAMES = ("complete", "path", "ring", "star")

#: Hard caps on a description, checked before anything is allocated (the
#: reading matrix is ``m x m`` rationals, the default means ``K`` rationals).
MAX_AGENTS = 1000
MAX_COMPONENTS = 1000
MAX_MEMORY = 10**9
#: Default cap on ``C(N+K-1, K-1)^m`` global states (``System(max_states=None)`` lifts it,
#: for the chain Monte Carlo, which enumerates no states).
MAX_STATES = 10**12
#: Cap on the work of one agent's local table (pool: ``L * C(r+K-1, K-1)^2``;
#: mirror: ``L * K^3``), refused before the table is built (:func:`check_table_size`).
TABLE_LIMIT = 2 * 10**6
#: Largest edge-list file read (bytes).
MAX_GRAPH_FILE = 64 * 2**20


def _log10_comb(n, k):
    """``log10 C(n, k)`` in closed form (lgamma), for any size."""
    return (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)) / math.log(10)


def log10_states(agents, components, memory):
    """``log10`` of ``C(N+K-1, K-1)^m``, computed without forming the number.

    >>> round(log10_states(2, 2, 4), 6)  # 25 states
    1.39794
    """
    return agents * _log10_comb(memory + components - 1, components - 1)


def size_text(log10):
    """A count given by its ``log10``, as text that cannot overflow: ``1.2e+45``.

    >>> size_text(math.log10(25)), size_text(400.5)
    ('25', '3.2e+400')
    """
    if log10 < 15:
        return f"{round(10**log10):,}"
    exponent = math.floor(log10)
    mantissa = 10 ** (log10 - exponent)
    if mantissa >= 9.95:
        mantissa, exponent = 1.0, exponent + 1
    return f"{mantissa:.1f}e+{exponent}"


def check_table_size(system, limit=None):
    """Refuse (:class:`~markovgmm.errors.TooLargeError`) a chain whose per-agent
    table alone would be too large to tabulate, from the parameters in closed
    form, before :func:`~markovgmm.chain.build.estimate_cost` builds it.

    Pool: ``L * A^2`` entries with ``L = C(N+K-1, K-1)`` memories and
    ``A = C(r+K-1, K-1)`` removal/addition vectors; mirror: ``L * K^3``.
    Returns the estimate (entries).
    """
    from .errors import TooLargeError

    limit = TABLE_LIMIT if limit is None else limit
    K, N = system.components, system.memory
    log_local = _log10_comb(N + K - 1, K - 1)
    if system.model == "mirror":
        log_work = log_local + 3 * math.log10(K)
        what = f"C(r+K-1, K-1) * K^3 with r={N}, K={K}"
    else:
        log_work = log_local + 2 * _log10_comb(system.replace + K - 1, K - 1)
        what = f"C(N+K-1, K-1) * C(r+K-1, K-1)^2 with N={N}, K={K}, r={system.replace}"
    if log_work < 15:  # small enough to count exactly
        L = comb(N + K - 1, K - 1)
        work = L * K**3 if system.model == "mirror" else L * comb(system.replace + K - 1, K - 1) ** 2
        log_work = math.log10(work)
    if log_work > math.log10(limit):
        raise TooLargeError(
            f"memory/components: one agent's transition table has about {size_text(log_work)} entries "
            f"({what}), over the limit of {limit:,}; use a smaller memory, fewer components or fewer replacements"
        )
    return round(10**log_work)


def _int_param(value, name, low, high=None, what=None):
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            as_int = int(value)
        except (TypeError, ValueError):
            as_int = None
        if as_int is None or as_int != value:
            raise InputError(f"{name} must be an integer, got {value!r}")
        value = as_int
    if value < low or (high is not None and value > high):
        allowed = what or (f"an integer >= {low}" if high is None else f"an integer >= {low} and <= {high:,}")
        shown = str(value) if abs(value) < 10**30 else f"about {'-' if value < 0 else ''}10^{len(str(abs(value))) - 1}"
        raise InputError(f"{name} must be {allowed}, got {shown}")
    return value


def graph_from_name(name, m):
    """The named reading graph on ``m`` agents: complete, path, ring or star.

    >>> sorted(graph_from_name("path", 3).edges())
    [(0, 1), (1, 2)]
    """
    import networkx as nx

    _named_edges(name, m)  # the same refusals as the System's own (networkx-free) path
    if name == "complete":
        return nx.complete_graph(m)
    if name == "path":
        return nx.path_graph(m)
    if name == "ring":
        return nx.cycle_graph(m)
    return nx.star_graph(m - 1)


def _named_edges(name, m):
    """Edges of the named graph on nodes ``0..m-1``, as networkx's
    ``complete_graph``, ``path_graph``, ``cycle_graph`` and ``star_graph``
    (node 0 the centre) have them; checked against networkx in
    ``tests/test_startup.py``."""
    if name == "complete":
        return [(i, j) for i in range(m) for j in range(i + 1, m)]
    if name == "path":
        return [(i, i + 1) for i in range(m - 1)]
    if name == "ring":
        if m < 3:
            raise InputError(f"graph: a ring needs at least 3 agents, got agents={m}")
        return [(i, (i + 1) % m) for i in range(m)]
    if name == "star":
        return [(0, i) for i in range(1, m)]
    raise InputError(f"graph must be one of {', '.join(GRAPH_NAMES)} or an edge-list file, got {name!r}")


class _NamedGraph:
    """An undirected simple graph on ``0..m-1`` with the few methods of a
    networkx graph that :func:`reading_matrix` reads, so that a named graph
    needs no networkx (its import costs about as much as a small chain)."""

    def __init__(self, name, m):
        self.m = m
        self.adjacent = [set() for _ in range(m)]
        for u, v in _named_edges(name, m):
            self.adjacent[u].add(v)
            self.adjacent[v].add(u)

    def nodes(self):
        return range(self.m)

    def is_directed(self):
        return False

    def neighbors(self, node):
        return iter(sorted(self.adjacent[node]))

    def get_edge_data(self, u, v, default=None):
        return {} if v in self.adjacent[u] else default

    def has_edge(self, u, v):
        return v in self.adjacent[u]


def read_edge_list(path, directed=False):
    """Read a reading graph from an edge-list file.

    One edge per line, ``u v`` or ``u v weight`` (weights are read exactly:
    ``1/3`` or ``0.25``); ``#`` starts a comment.  Node labels that all look
    like integers are sorted numerically, otherwise as strings; agent ``i`` is
    the ``i``-th label in that order.  A line ``u`` alone adds an isolated
    node.  On a directed graph an edge ``u v`` means ``v`` reads ``u``.
    """
    try:
        size = os.path.getsize(path)
        if size > MAX_GRAPH_FILE:
            raise InputError(
                f"graph: an edge-list file must be at most {MAX_GRAPH_FILE // 2**20} MiB, got {path!r} ({size / 2**20:,.0f} MiB)"
            )
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError as err:
        raise InputError(f"graph: cannot read edge-list file {path!r} ({err.strerror})") from None
    except UnicodeDecodeError:
        raise InputError(f"graph: an edge-list file must be UTF-8 text ('u v [weight]' lines), got binary data in {path!r}") from None
    if "\0" in "".join(lines[:1000]):
        raise InputError(f"graph: an edge-list file must be UTF-8 text ('u v [weight]' lines), got binary data in {path!r}")
    import networkx as nx

    graph = nx.DiGraph() if directed else nx.Graph()
    rows = []
    for number, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) > 3:
            raise InputError(f"graph: {path}:{number}: expected 'u v [weight]', got {raw.strip()!r}")
        rows.append((number, parts))
    labels = {p for _, parts in rows for p in parts[:2]}
    if len(labels) > MAX_AGENTS:
        raise InputError(f"graph: an edge-list file may name at most {MAX_AGENTS} agents, got {len(labels):,} in {path!r}")
    numeric = all(_looks_int(label) for label in labels)
    convert = int if numeric else str
    for number, parts in rows:
        if len(parts) == 1:
            graph.add_node(convert(parts[0]))
            continue
        attrs = {}
        if len(parts) == 3:
            attrs["weight"] = to_fraction(parts[2], name=f"graph: {path}:{number}: weight")
        graph.add_edge(convert(parts[0]), convert(parts[1]), **attrs)
    relabel = {node: i for i, node in enumerate(sorted(graph.nodes()))}
    ordered = graph.__class__()
    ordered.add_nodes_from(range(len(relabel)))  # node order = sorted label order = agent order
    ordered.add_edges_from((relabel[u], relabel[v], data) for u, v, data in graph.edges(data=True))
    return ordered


def _is_networkx_graph(graph):
    import networkx as nx

    return isinstance(graph, nx.Graph)


def _looks_int(text):
    try:
        int(text)
        return True
    except ValueError:
        return False


def reading_matrix(graph, m=None, closed=True, weight=None):
    """Row-stochastic "who reads whom" matrix ``W`` of a graph, as Fractions.

    ``W[i][j]`` is the probability that a post read by agent ``i`` was written
    by agent ``j``.  The complete graph gives ``W[i][j] = 1/m`` (the shared
    Internet of seed 002).  Otherwise reader ``i`` reads uniformly over its
    closed in-neighbourhood (itself and the agents it reads; on a directed
    graph an edge ``u -> v`` means ``v`` reads ``u``), or its open
    in-neighbourhood with ``closed=False``.  With ``weight`` (an edge
    attribute name) the reader weighs authors by that attribute; its own
    weight is the self-loop's if the graph has one, else 1 (closed) or 0
    (open).

    >>> [[str(x) for x in row] for row in reading_matrix(graph_from_name("path", 3))]
    [['1/2', '1/2', '0'], ['1/3', '1/3', '1/3'], ['0', '1/2', '1/2']]
    """
    nodes = list(graph.nodes())
    if m is not None and len(nodes) != m:
        raise InputError(f"graph: has {len(nodes)} nodes but agents={m}; it needs exactly one node per agent")
    n = len(nodes)
    index = {node: i for i, node in enumerate(nodes)}
    rows = [[Fraction(0)] * n for _ in range(n)]
    for reader in nodes:
        i = index[reader]
        authors = graph.predecessors(reader) if graph.is_directed() else graph.neighbors(reader)
        for author in authors:
            if author == reader:
                continue
            w = Fraction(1)
            if weight is not None:
                data = graph.get_edge_data(author, reader, default={})
                w = to_fraction(data.get(weight, 1), name=f"graph: weight of edge {author}-{reader}")
                if w < 0:
                    raise InputError(f"graph: edge weights must be >= 0, edge {author}-{reader} has {w}")
            rows[i][index[author]] += w
        if closed:
            self_weight = Fraction(1)
            if weight is not None and graph.has_edge(reader, reader):
                self_weight = to_fraction(graph[reader][reader].get(weight, 1), name="graph: self-loop weight")
            rows[i][i] = self_weight
        elif weight is not None and graph.has_edge(reader, reader):
            rows[i][i] = to_fraction(graph[reader][reader].get(weight, 1), name="graph: self-loop weight")
        total = sum(rows[i])
        if total == 0:
            raise InputError(
                f"graph: agent {i} reads nobody (open neighbourhood with no in-neighbours); "
                "use closed neighbourhoods or add an edge"
            )
        rows[i] = [x / total for x in rows[i]]
    return tuple(tuple(row) for row in rows)


def balanced_counts(N, K):
    """The most balanced count vector: ``N // K`` each, the remainder to the
    lowest-index components.

    >>> balanced_counts(5, 2)
    (3, 2)
    """
    base, extra = divmod(N, K)
    return tuple(base + (1 if k < extra else 0) for k in range(K))


def parse_start(text, m, K, N):
    """Parse a start state ``"c11,c12;c21,c22;..."`` into a tuple of count tuples.

    >>> parse_start("3,1;1,3", 2, 2, 4)
    ((3, 1), (1, 3))
    """
    if text is None:
        return tuple(balanced_counts(N, K) for _ in range(m))
    text = str(text)
    if len(text) > 64 * (m + 1) * (K + 1):
        raise InputError(f"start: needs one count vector per agent ({m}), separated by ';', got {len(text):,} characters")
    agents = [part for part in text.split(";")]
    if len(agents) != m:
        raise InputError(f"start: needs one count vector per agent ({m}), separated by ';', got {len(agents)}")
    state = []
    for i, part in enumerate(agents):
        items = [x.strip() for x in part.split(",")]
        if not all(_ASCII_COUNT.match(x) for x in items):
            shown = part if len(part) <= 40 else part[:37] + "..."
            raise InputError(
                f"start: agent {i} needs {K} nonnegative integer counts (ASCII digits) separated by ',', got {shown!r}"
            )
        state.append(tuple(int(x) for x in items))
    return tuple(state)


_ASCII_COUNT = re.compile(r"^[+-]?[0-9]{1,12}$")


def default_start(system):
    """The default start state of a system: the most balanced memory for every
    agent (pool model, MODEL.md 2), or agent ``i`` at the vertex of component
    ``i mod K`` (mirror model, MODEL.md 6.2, the authors' start).

    >>> default_start(System(model="mirror", agents=3, components=2, memory=2))
    ((2, 0), (0, 2), (2, 0))
    """
    K, N = system.components, system.memory
    if system.model == "mirror":
        return tuple(tuple(N if k == i % K else 0 for k in range(K)) for i in range(system.agents))
    return tuple(balanced_counts(N, K) for _ in range(system.agents))


def state_text(state):
    """A state as the text :func:`parse_start` reads: ``"c11,c12;c21,c22;..."``.

    >>> state_text(((3, 1), (1, 3)))
    '3,1;1,3'
    """
    return ";".join(",".join(str(int(x)) for x in counts) for counts in state)


@dataclass(frozen=True)
class System:
    """A validated interacting-GMM chain description (MODEL.md section 2).

    Parameters
    ----------
    agents, components, memory : int
        ``m >= 1`` agents, ``K >= 2`` components, memory size ``N >= 1``.
    replace : int
        Items replaced per update, ``1 <= r <= N`` (``alpha = r / N``).
    schedule : {"sync", "async"}
        ``sync``: every agent updates each step, independently given the
        state; ``async``: one uniformly chosen agent updates.
    ownership : {"support", "open", "gaussian"}
        How an incoming point is labelled (MODEL.md 2, step 2).
    prune : int
        Pruning threshold ``tau >= 0`` (0 = off); ``K * tau < N`` so some
        component always survives pruning.
    means : tuple of tuples, optional
        Component means ``mu_k`` (default ``mu_k = k`` in one dimension).
    covariance : tuple of tuples, optional
        Shared symmetric positive definite covariance (default identity).
    graph : str or networkx graph, optional
        ``complete`` (default), ``path``, ``ring``, ``star``, or a graph.
    reading : m x m rationals, optional
        The reading matrix ``W`` itself (rows sum to 1); overrides ``graph``.
    closed_neighbourhood : bool
        Readers also read their own posts (default True).
    edge_weight : str, optional
        Edge attribute to weigh authors by.
    model : {"pool", "mirror"}
        ``pool`` (default): the shared-pool memory-replacement chain of
        MODEL.md 2.  ``mirror``: the mirroring network of MODEL.md 6.2 (seed
        000), where ``agents`` is ``n``, ``memory`` is the store size ``r``
        and the fields below apply; ``replace``, ``ownership``, ``prune``,
        ``means``, ``covariance`` and the graph fields do not (partners are
        the ``k`` nearest agents in weight space, not a reading graph) and
        must stay at their defaults.
    neighbours : int
        ``k``, mirror model: a partner is drawn among the ``k`` nearest
        agents, ``1 <= k <= n - 1`` (default 1).
    mirror : rational
        ``p``, mirror model: the probability of querying oneself, in
        ``[0, 1]``, exact (``"1/2"``, ``0.2`` and ``Fraction(1, 5)`` all give
        1/5 and 1/2 exactly as written; default 0).
    geometry : {"line", "circle", "simplex"}
        Mirror model: where the component means sit (MODEL.md 6.1); the
        chain uses only the order of their distances (farthest rule).
    delta, sigma, eps : rational
        Mirror model: mean spacing, component standard deviation and weight
        clipping of the continuous system (MODEL.md 6.1; the chain is its
        ``delta / sigma -> infinity`` limit and does not depend on them).
    ties : {"clipped", "uniform"}
        Mirror model: how equal distances between compositions are ranked
        (MODEL.md 6.2; ``clipped``, the default, is the exact limit of the
        clipped weights of 6.1).
    max_states : int or None
        Refuse (:class:`~markovgmm.errors.TooLargeError`) at once, before the
        reading matrix or means are built, a description whose explicit chain
        would have more than this many states (default ``10**12``; ``None``:
        no limit, for the chain Monte Carlo).  Agents, components and memory
        are capped at 1000, 1000 and ``10**9`` regardless.

    Examples
    --------
    >>> s = System(agents=2, components=2, memory=4)
    >>> s.n_local_states, s.n_states, [str(w) for w in s.W[0]]
    (5, 25, ['1/2', '1/2'])
    >>> System(model="mirror", agents=4, components=2, memory=3, neighbours=1, mirror="1/2").describe()
    'mirror n=4, K=2, r=3, k=1, p=1/2, line, ties=clipped, sync'
    """

    agents: int
    components: int
    memory: int
    replace: int = 1
    schedule: str = "sync"
    ownership: str = "support"
    prune: int = 0
    means: tuple | None = None
    covariance: tuple | None = None
    graph: object = "complete"
    reading: tuple | None = None
    closed_neighbourhood: bool = True
    edge_weight: str | None = None
    model: str = "pool"
    neighbours: int = 1
    mirror: object = 0
    geometry: str = "line"
    delta: object = 1
    sigma: object = "1/5"
    eps: object = "1e-12"
    ties: str = "clipped"
    max_states: object = field(default=MAX_STATES, repr=False, compare=False)
    W: tuple = field(init=False, repr=False)
    graph_name: str = field(init=False, repr=False)

    def __post_init__(self):
        if self.model not in MODELS:
            raise InputError(f"model must be one of {', '.join(MODELS)}, got {self.model!r}")
        if self.model == "mirror":
            self._check_mirror()
            return
        set_ = object.__setattr__
        m = _int_param(self.agents, "agents", 1, MAX_AGENTS)
        K = _int_param(self.components, "components", 2, MAX_COMPONENTS)
        N = _int_param(self.memory, "memory", 1, MAX_MEMORY)
        self._check_states(m, K, N, "agents")
        r = _int_param(self.replace, "replace", 1, N, what=f"an integer from 1 to memory={N}")
        tau = _int_param(self.prune, "prune", 0)
        if K * tau >= N:
            raise InputError(
                f"prune must satisfy components*prune < memory so some component survives, "
                f"got prune={tau} with components={K}, memory={N} (largest allowed {(N - 1) // K})"
            )
        if self.schedule not in SCHEDULES:
            raise InputError(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if self.ownership not in OWNERSHIPS:
            raise InputError(f"ownership must be one of {', '.join(OWNERSHIPS)}, got {self.ownership!r}")
        for name, value in (("agents", m), ("components", K), ("memory", N), ("replace", r), ("prune", tau)):
            set_(self, name, value)
        set_(self, "means", self._checked_means(K))
        set_(self, "covariance", self._checked_covariance(len(self.means[0])))
        if self.reading is not None:
            W = self._checked_reading(self.reading, m)
            graph_name = "matrix"
        else:
            graph = self.graph
            graph_name = graph if isinstance(graph, str) else "custom"
            if isinstance(graph, str):
                graph = _NamedGraph(graph, m)  # the same edges as graph_from_name, without importing networkx
            elif not _is_networkx_graph(graph):
                raise InputError(f"graph must be a name ({', '.join(GRAPH_NAMES)}) or a networkx graph, got {type(graph).__name__}")
            W = reading_matrix(graph, m=m, closed=self.closed_neighbourhood, weight=self.edge_weight)
        set_(self, "W", W)
        set_(self, "graph_name", graph_name)

    def _check_states(self, m, K, N, who):
        """Fail early, before means, reading matrix or any state is built, when
        the chain cannot be stored at all (closed form, log scale)."""
        limit = self.max_states
        if limit is None:
            return
        log10 = log10_states(m, K, N)
        if log10 > math.log10(limit) + 1e-12 and (log10 > 15 or comb(N + K - 1, K - 1) ** m > limit):
            from .errors import TooLargeError

            unit = "C(r+K-1, K-1)" if self.model == "mirror" else "C(N+K-1, K-1)"
            advice = (
                "reduce agents, components or memory (or use the chain Monte Carlo)"
                if self.model == "mirror"
                else "reduce agents, components or memory (simulate-chain needs no explicit chain)"
            )
            raise TooLargeError(
                f"{who}/memory: {unit}^{'n' if self.model == 'mirror' else 'm'} = about {size_text(log10)} states, "
                f"over the limit of {limit:.0e} for an explicit chain; {advice}"
            )

    def _check_mirror(self):
        """Validate a mirroring-network description (MODEL.md 6.2)."""
        set_ = object.__setattr__
        n = _int_param(self.agents, "agents", 2, MAX_AGENTS,
                       what=f"an integer >= 2 and <= {MAX_AGENTS:,} (the mirroring network needs partners)")
        K = _int_param(self.components, "components", 2, MAX_COMPONENTS)
        r = _int_param(self.memory, "memory", 1, MAX_MEMORY, what=f"an integer >= 1 and <= {MAX_MEMORY:,} (the store size r)")
        self._check_states(n, K, r, "agents")
        k = _int_param(self.neighbours, "neighbours", 1, n - 1, what=f"an integer from 1 to agents-1={n - 1}")
        p = to_fraction(self.mirror, name="mirror")
        if not 0 <= p <= 1:
            raise InputError(f"mirror must be a probability in [0, 1], got {p}")
        if self.geometry not in GEOMETRIES:
            raise InputError(f"geometry must be one of {', '.join(GEOMETRIES)}, got {self.geometry!r}")
        if self.ties not in TIE_RULES:
            raise InputError(f"ties must be one of {', '.join(TIE_RULES)}, got {self.ties!r}")
        if self.schedule not in SCHEDULES:
            raise InputError(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        delta = to_fraction(self.delta, name="delta")
        sigma = to_fraction(self.sigma, name="sigma")
        eps = to_fraction(self.eps, name="eps")
        if delta <= 0 or sigma <= 0:
            raise InputError(f"delta and sigma must be positive, got delta={delta}, sigma={sigma}")
        if not 0 < eps < Fraction(1, K):
            raise InputError(f"eps must be in (0, 1/components), got {eps}")
        unused = {
            "replace": (self.replace, 1),
            "ownership": (self.ownership, "support"),
            "prune": (self.prune, 0),
            "means": (self.means, None),
            "covariance": (self.covariance, None),
            "graph": (self.graph, "complete"),
            "reading": (self.reading, None),
            "closed_neighbourhood": (self.closed_neighbourhood, True),
            "edge_weight": (self.edge_weight, None),
        }
        for name, (value, default) in unused.items():
            if not (value is default or (isinstance(value, str) and value == default) or (type(value) is type(default) and value == default)):
                raise InputError(
                    f"{name}: not a parameter of model=mirror (partners are the k nearest agents, MODEL.md 6.2); "
                    f"leave it at {default!r}, got {value!r}"
                )
        for name, value in (("agents", n), ("components", K), ("memory", r), ("neighbours", k), ("mirror", p),
                            ("delta", delta), ("sigma", sigma), ("eps", eps)):
            set_(self, name, value)
        set_(self, "W", None)
        set_(self, "graph_name", "nearest")

    def _checked_means(self, K):
        if self.means is None:
            return tuple((Fraction(k),) for k in range(K))
        means = tuple(
            tuple(to_fraction(x, name=f"means[{k}]") for x in (mu if isinstance(mu, (list, tuple)) else (mu,)))
            for k, mu in enumerate(self.means)
        )
        if len(means) != K:
            raise InputError(f"means must list one mean per component ({K}), got {len(means)}")
        if len({len(mu) for mu in means}) != 1:
            raise InputError("means must all have the same dimension")
        return means

    def _checked_covariance(self, d):
        if self.covariance is None:
            return tuple(tuple(Fraction(int(a == b)) for b in range(d)) for a in range(d))
        cov = tuple(tuple(to_fraction(x, name="covariance") for x in row) for row in self.covariance)
        if len(cov) != d or any(len(row) != d for row in cov):
            raise InputError(f"covariance must be a {d} x {d} matrix (the means' dimension)")
        if any(cov[a][b] != cov[b][a] for a in range(d) for b in range(d)):
            raise InputError("covariance must be symmetric")
        # Positive definite iff every leading principal minor is positive (Sylvester), exactly.
        import sympy

        matrix = sympy.Matrix(d, d, lambda a, b: sympy.Rational(cov[a][b].numerator, cov[a][b].denominator))
        if any(matrix[:k, :k].det() <= 0 for k in range(1, d + 1)):
            raise InputError("covariance must be positive definite")
        return cov

    @staticmethod
    def _checked_reading(reading, m):
        rows = [list(row) for row in reading]
        if len(rows) != m or any(len(row) != m for row in rows):
            raise InputError(f"reading: W must be an {m} x {m} matrix (agents x agents)")
        W = tuple(tuple(to_fraction(x, name=f"reading[{i}]") for x in row) for i, row in enumerate(rows))
        for i, row in enumerate(W):
            if any(x < 0 for x in row):
                raise InputError(f"reading: W must be nonnegative, row {i} has a negative entry")
            if sum(row) != 1:
                raise InputError(f"reading: W must be row-stochastic, row {i} sums to {sum(row)}")
        return W

    # ---- derived quantities -------------------------------------------------
    @property
    def n_local_states(self):
        """Count vectors of one agent: ``C(N+K-1, K-1)``."""
        return comb(self.memory + self.components - 1, self.components - 1)

    @property
    def n_states(self):
        """Global states before symmetry reduction: ``C(N+K-1, K-1)^m``."""
        return self.n_local_states ** self.agents

    @property
    def is_complete_reading(self):
        """True when every reader weighs every author by ``1/m`` (never for the mirror model)."""
        if self.model == "mirror":
            return False
        m = self.agents
        return all(x == Fraction(1, m) for row in self.W for x in row)

    @property
    def exact_supported(self):
        """Whether transition probabilities are rational (not under ``gaussian``)."""
        return self.ownership != "gaussian"

    def check_state(self, state, name="start"):
        """Validate a global state given as one count vector per agent."""
        m, K, N = self.agents, self.components, self.memory
        if len(state) != m:
            raise InputError(f"{name}: needs one count vector per agent ({m}), got {len(state)}")
        out = []
        for i, counts in enumerate(state):
            counts = tuple(counts)
            if len(counts) != K:
                raise InputError(f"{name}: agent {i} needs {K} counts (one per component), got {len(counts)}")
            if any((not isinstance(c, int)) or c < 0 for c in counts):
                raise InputError(f"{name}: agent {i} counts must be nonnegative integers, got {counts}")
            if sum(counts) != N:
                raise InputError(f"{name}: agent {i} counts must sum to memory={N}, got {counts} (sum {sum(counts)})")
            out.append(counts)
        return tuple(out)

    def describe(self):
        """One-line human description."""
        if self.model == "mirror":
            return (
                f"mirror n={self.agents}, K={self.components}, r={self.memory}, k={self.neighbours}, p={self.mirror}, "
                f"{self.geometry}, ties={self.ties}, {self.schedule}"
            )
        extra = f", prune={self.prune}" if self.prune else ""
        return (
            f"m={self.agents}, K={self.components}, N={self.memory}, r={self.replace}, "
            f"{self.schedule}, {self.ownership}, graph={self.graph_name}{extra}"
        )
