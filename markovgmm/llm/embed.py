"""The embedding metric of LLM runs (seed 002's ``||D_t||_F``; the LLM
experiment's nearness): embed every response, ``D_t[i, j] = ||e_i(t) - e_j(t)||``,
``||D_t||_F`` per step, and classical MDS at chosen steps.

**Stand-in model.** The original runs measured nearness with
nomic-embed-text-v1.5.  Here the default embedder is the offline static model
of the PyPI package ``tokenlearn-static-model`` (extra ``markovgmm[embed]``):
a 10k-token vocabulary of int8 64-d vectors shipped inside the wheel, mean
pooled and normalised, so it loads with no network and embeds tens of
thousands of sentences per second on one core.  Its distances are *not*
nomic's: they show the same kind of collapse, not the same numbers.

Embeddings are cached on disk by content hash (BLAKE2b of model id and text)
under ``--cache DIR``, else ``$MARKOVGMM_CACHE``, else ``~/.cache/markovgmm``,
so each distinct response is embedded once.  Any callable
``list[str] -> array (len, d)`` can replace the model (``embedder=``).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import numpy as np

from ..errors import InputError

__all__ = [
    "MODEL_ID",
    "ORIGINAL_MODEL",
    "static_model_embedder",
    "EmbeddingCache",
    "embed_texts",
    "embed_run",
    "distance_matrices",
    "frobenius_norms",
    "classical_mds",
    "mds_of_run",
    "embedding_report",
    "mds_figure",
    "plot_mds",
]

MODEL_ID = "tokenlearn-static-model-0.1.1"
ORIGINAL_MODEL = "nomic-embed-text-v1.5"
NOTE = f"the original runs used {ORIGINAL_MODEL}; {MODEL_ID} is an offline stand-in, its distances are not the original's"


def static_model_embedder():
    """The default embedder (``tokenlearn-static-model``), or a one-line
    :class:`InputError` naming the extra to install."""
    try:
        from static_model import get_embeddings
    except ImportError:
        raise InputError('embedding model missing: install the extra with pip install "markovgmm[embed]"') from None

    def embed(texts):
        if not texts:
            return np.zeros((0, 64))
        return np.asarray(get_embeddings(list(texts)), dtype=np.float64)

    embed.model_id = MODEL_ID
    return embed


def _cache_dir(cache):
    if cache is not None:
        return Path(cache)
    env = os.environ.get("MARKOVGMM_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "markovgmm"


class EmbeddingCache:
    """Embeddings keyed by ``blake2b(model id, text)`` in ``DIR/embeddings/<model>/*.npz``.

    Each :meth:`add` writes one new shard atomically (temporary file, then
    rename), so concurrent writers never corrupt it; a shard that cannot be
    read is ignored (its texts are embedded again).
    """

    def __init__(self, cache=None, model_id=MODEL_ID):
        self.model_id = model_id
        self.folder = _cache_dir(cache) / "embeddings" / model_id.replace("/", "_")
        self._vectors = {}
        self._loaded = False

    def key(self, text):
        return hashlib.blake2b(f"{self.model_id}\0{text}".encode(), digest_size=16).digest()

    def _load(self):
        if self._loaded:
            return
        self._loaded = True
        if not self.folder.is_dir():
            return
        for shard in sorted(self.folder.glob("*.npz")):
            try:
                with np.load(shard) as data:
                    keys, vectors = data["keys"], data["vectors"]
            except Exception:  # noqa: BLE001 - a damaged shard is recomputed, not fatal
                continue
            for key, vector in zip(keys, vectors):
                self._vectors[bytes(key)] = vector

    def get(self, keys):
        self._load()
        return [self._vectors.get(k) for k in keys]

    def add(self, keys, vectors):
        self._load()
        vectors = np.asarray(vectors, dtype=np.float32)
        for key, vector in zip(keys, vectors):
            self._vectors[key] = vector
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.folder / f".{uuid.uuid4().hex}.tmp.npz"
            np.savez(tmp, keys=np.array(keys, dtype="S16"), vectors=vectors)
            os.replace(tmp, self.folder / f"{uuid.uuid4().hex}.npz")
        except OSError as err:
            raise InputError(f"cache: cannot write {str(self.folder)!r} ({err.strerror})") from None


def embed_texts(texts, embedder=None, cache=None, batch=4096, quiet=True):
    """Embeddings ``(len(texts), d)`` of ``texts``; distinct texts are embedded once.

    ``cache``: an :class:`EmbeddingCache`, a folder, or ``False`` for none.
    Returns ``(array, number newly embedded)``.
    """
    embedder = embedder or static_model_embedder()
    model_id = getattr(embedder, "model_id", None)
    store = None
    if cache is not False and model_id is not None:
        store = cache if isinstance(cache, EmbeddingCache) else EmbeddingCache(cache, model_id)
    distinct = list(dict.fromkeys(texts))
    vectors = {}
    todo = distinct
    if store is not None:
        keys = [store.key(t) for t in distinct]
        todo = []
        for text, vector in zip(distinct, store.get(keys)):
            if vector is None:
                todo.append(text)
            else:
                vectors[text] = vector
    from ..progress import progress_bar

    with progress_bar(len(todo), "embedding", quiet=quiet, unit="text") as bar:
        for start in range(0, len(todo), batch):
            chunk = todo[start : start + batch]
            out = np.asarray(embedder(chunk), dtype=np.float64)
            if out.shape[0] != len(chunk):
                raise InputError(f"embedder: returned {out.shape[0]} vectors for {len(chunk)} texts")
            if store is not None:
                store.add([store.key(t) for t in chunk], out)
            vectors.update(zip(chunk, out))
            bar.update(len(chunk))
    if not texts:
        return np.zeros((0, 0)), 0
    return np.array([vectors[t] for t in texts], dtype=np.float64), len(todo)


def embed_run(run, embedder=None, cache=None):
    """Embeddings ``(steps, agents, d)`` of one :class:`~markovgmm.llm.runs.LLMRun`."""
    flat = [text for row in run.responses for text in row]
    vectors, _ = embed_texts(flat, embedder=embedder, cache=cache)
    return vectors.reshape(run.steps, run.agents, -1)


def distance_matrices(embeddings):
    """``D[..., i, j] = ||e_i - e_j||_2`` for embeddings ``(..., n, d)``.

    >>> distance_matrices(np.array([[0.0, 0.0], [3.0, 4.0]])).tolist()
    [[0.0, 5.0], [5.0, 0.0]]
    """
    e = np.asarray(embeddings, dtype=np.float64)
    diff = e[..., :, None, :] - e[..., None, :, :]
    return np.sqrt(np.einsum("...ijd,...ijd->...ij", diff, diff))


def frobenius_norms(distances):
    """``||D_t||_F`` for distance matrices ``(..., n, n)``."""
    d = np.asarray(distances, dtype=np.float64)
    return np.sqrt((d * d).sum(axis=(-2, -1)))


def classical_mds(distances, dims=2):
    """Classical (Torgerson) MDS of a distance matrix ``(N, N)``: coordinates ``(N, dims)``.

    ``B = -J D^2 J / 2`` with ``J`` the centring matrix; the coordinates are
    the top ``dims`` eigenvectors of ``B`` scaled by the square roots of their
    (clipped at 0) eigenvalues; each axis's sign is fixed so that its largest
    absolute entry is positive.  Exact for Euclidean distances when ``dims``
    reaches their rank.

    >>> x = classical_mds(np.array([[0.0, 2.0], [2.0, 0.0]]), dims=1)
    >>> np.round(np.abs(x.ravel()), 6).tolist()
    [1.0, 1.0]
    """
    d = np.asarray(distances, dtype=np.float64)
    n = d.shape[0]
    j = np.eye(n) - 1.0 / n
    b = -0.5 * j @ (d * d) @ j
    values, vectors = np.linalg.eigh((b + b.T) / 2)
    order = np.argsort(values)[::-1][:dims]
    coords = vectors[:, order] * np.sqrt(np.clip(values[order], 0, None))
    signs = np.sign(coords[np.argmax(np.abs(coords), axis=0), np.arange(coords.shape[1])])
    signs[signs == 0] = 1
    return coords * signs


def mds_of_run(run, embeddings, steps, vocabulary=None):
    """Joint classical MDS of the agents at ``steps`` (one frame for all steps).

    Returns a JSON-ready dict: ``steps``, ``distances`` (the joint
    ``(len(steps) n) x (len(steps) n)`` matrix, rows ordered step-major),
    ``coordinates`` (MDS of exactly that matrix), ``silos`` per point and
    ``D_t``-norms at those steps.
    """
    from .runs import FLOWERS

    vocabulary = vocabulary or FLOWERS
    for t in steps:
        if not 0 <= t < run.steps:
            raise InputError(f"mds-steps: step {t} outside 0..{run.steps - 1}")
    points = np.concatenate([embeddings[t] for t in steps], axis=0)
    joint = distance_matrices(points)
    coords = classical_mds(joint, dims=2)
    silos = run.silos(vocabulary)
    return {
        "p": run.p,
        "k": run.k,
        "replicate": run.replicate,
        "agents": run.agents,
        "steps": list(steps),
        "distances": joint.tolist(),
        "coordinates": coords.tolist(),
        "silos": [int(silos[t, i]) for t in steps for i in range(run.agents)],
        "vocabulary": list(vocabulary),
        "frobenius": [float(frobenius_norms(distance_matrices(embeddings[t]))) for t in steps],
    }


def embedding_report(runs, chosen=None, mds_steps=(0, 10, 40, 79), embedder=None, cache=None, quiet=True):
    """``||D_t||_F`` of every run and the MDS of one (``chosen = (p, k, replicate)``; default the first run)."""
    embedder = embedder or static_model_embedder()
    flat = [text for run in runs for row in run.responses for text in row]
    vectors, new = embed_texts(flat, embedder=embedder, cache=cache, quiet=quiet)
    rows, start, by_run = [], 0, {}
    for run in runs:
        size = run.steps * run.agents
        e = vectors[start : start + size].reshape(run.steps, run.agents, -1)
        start += size
        by_run[(run.p, run.k, run.replicate)] = (run, e)
        rows.append(
            {"p": run.p, "k": run.k, "replicate": run.replicate, "frobenius": frobenius_norms(distance_matrices(e)).tolist()}
        )
    if chosen is None:
        chosen = (runs[0].p, runs[0].k, runs[0].replicate)
    match = [key for key in by_run if key[0] is not None and np.isclose(key[0], chosen[0]) and key[1:] == tuple(chosen[1:])]
    if not match:
        raise InputError(f"run: no run p={chosen[0]:g}, k={chosen[1]}, replicate {chosen[2]} in the data")
    run, e = by_run[match[0]]
    return {
        "model": getattr(embedder, "model_id", "custom"),
        "original_model": ORIGINAL_MODEL,
        "note": NOTE,
        "responses": len(flat),
        "unique_responses": len(set(flat)),
        "newly_embedded": new,
        "runs": rows,
        "mds": mds_of_run(run, e, list(mds_steps)),
    }


def plot_mds(mds, path):
    """Save :func:`mds_figure` as a PNG; returns ``path``."""
    mds_figure(mds).savefig(path, dpi=110)
    return path


def mds_figure(mds):
    """MDS scatter (one panel per step, shared frame, coloured by silo) from an
    :func:`mds_of_run` dict -- the very coordinates it reports (a matplotlib Figure)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    steps, n = mds["steps"], mds["agents"]
    coords = np.asarray(mds["coordinates"])
    silos = np.asarray(mds["silos"])
    fig = Figure(figsize=(3.2 * len(steps), 3.4), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(steps), sharex=True, sharey=True, squeeze=False)[0]
    cmap = _silo_colours()
    for a, (ax, t) in enumerate(zip(axes, steps)):
        block = slice(a * n, (a + 1) * n)
        s = silos[block]
        colours = [cmap(v % 20) if v >= 0 else (0.6, 0.6, 0.6, 1.0) for v in s]
        ax.scatter(coords[block, 0], coords[block, 1], c=colours, s=28, edgecolors="k", linewidths=0.3)
        count = len(set(s[s >= 0].tolist()))
        ax.set_title(f"t = {t}: {count} silo{'s' if count != 1 else ''}", fontsize=9)
        ax.set_xlabel("MDS 1")
    axes[0].set_ylabel("MDS 2")
    fig.suptitle(
        f"LLM run p={mds['p']:g}, k={mds['k']}, replicate {mds['replicate']}: joint classical MDS of response embeddings "
        f"(stand-in {MODEL_ID}, not {ORIGINAL_MODEL}); colour = silo",
        fontsize=8,
    )
    return fig


def _silo_colours():
    from matplotlib import colormaps

    return colormaps["tab20"]
