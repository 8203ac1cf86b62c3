"""Vector quantization with a straight-through estimator (van den Oord et al. 2017)."""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from keras_gen.layers import codebook as vq
from keras_gen.layers.seeding import SavesSeedState
from keras_gen.training import backend

CODEBOOK_UPDATES = ("ema", "gradient")


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


@keras.saving.register_keras_serializable(package="keras_gen")
class VectorQuantizer(SavesSeedState, keras.layers.Layer):
    """Replace each ``embedding_dim`` vector by its nearest codebook entry.

    The output carries straight-through gradients: the gradient that reaches
    the quantized tensor is passed unchanged to the input (the encoder). Two
    losses keep encoder and codebook together, both per example and in float32:
    ``commitment_loss = commitment_cost * mean((x - sg(e))^2)`` pulls the
    encoder to its code, ``codebook_loss = mean((sg(x) - e)^2)`` pulls the
    code to the encoder output (``sg`` = stop gradient, means over positions and
    channels). With ``codebook_update="gradient"`` the codebook is a trainable
    weight that learns from ``codebook_loss``; with ``"ema"`` (the default) it is
    not trainable and follows exponential moving averages of the assigned
    encoder outputs (decay 0.99, Laplace smoothing, zero-debiased as in Sonnet's
    ``VectorQuantizerEMA``), and ``codebook_loss`` is only reported.

    Under a distribution strategy the code counts, the EMA sums, the buffer of
    recent encoder outputs and the k-means sample are summed (gathered) over the
    replicas before use, and random choices come from a seed generator whose
    state is the same on every replica: every replica computes the same
    codebook, equal to the one-device result on the global batch.

    Distances are float32 (also under mixed precision), in row chunks of at most
    ``max_distance_elements`` (:func:`keras_gen.layers.codebook.nearest_codes`). The maths
    is in :mod:`keras_gen.layers.codebook`; this layer keeps the state.

    Args:
        num_embeddings: codebook size K.
        embedding_dim: size D of each code vector; the inputs' last axis.
        commitment_cost: beta, the weight of the commitment loss.
        codebook_update: "ema" or "gradient".
        decay: EMA decay, in [0, 1).
        epsilon: Laplace smoothing of the EMA cluster sizes.
        cosine: l2-normalise inputs and codes (cosine-similarity codebook).
        kmeans_init: initialise the codebook by k-means on (a sample of) the first
            training batch, gathered over the replicas.
        kmeans_iters: Lloyd iterations of that initialisation.
        restart_after: re-initialise codes unused for this many training steps
            from recent encoder outputs (None: never, the Sonnet behaviour).
        restart_buffer_size: rows of recent encoder outputs kept for restarts.
        max_distance_elements: bound on the distances held at once.
        seed: seed of the restart and k-means draws.

    Call it on a tensor of shape (..., embedding_dim) to get the quantized
    tensor (its losses are added with ``add_loss``), or use :meth:`quantize_vectors`
    for everything: indices, per-example losses, perplexity and code usage.

    Example:

    >>> import numpy as np
    >>> vq = VectorQuantizer(num_embeddings=16, embedding_dim=4, seed=0)
    >>> x = np.random.default_rng(0).normal(size=(2, 3, 3, 4)).astype("float32")
    >>> out = vq.quantize_vectors(x)  # training=True would also update the codebook
    >>> tuple(out["quantized"].shape), tuple(out["indices"].shape)
    ((2, 3, 3, 4), (2, 3, 3))
    >>> tuple(out["commitment_loss"].shape)
    (2,)
    >>> bool(np.allclose(vq.lookup(out["indices"]), out["quantized"], atol=1e-6))
    True
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        commitment_cost: float = 0.25,
        codebook_update: str = "ema",
        decay: float = 0.99,
        epsilon: float = 1e-5,
        cosine: bool = False,
        kmeans_init: bool = False,
        kmeans_iters: int = 10,
        restart_after: int | None = None,
        restart_buffer_size: int = 1024,
        max_distance_elements: int = 2**22,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_embeddings = _positive_int("num_embeddings", num_embeddings)
        self.embedding_dim = _positive_int("embedding_dim", embedding_dim)
        if not float(commitment_cost) >= 0:
            raise ValueError(f"commitment_cost must be >= 0; got {commitment_cost!r}")
        if codebook_update not in CODEBOOK_UPDATES:
            raise ValueError(
                f"codebook_update must be one of {CODEBOOK_UPDATES}; got {codebook_update!r}"
            )
        if not 0.0 <= float(decay) < 1.0:
            raise ValueError(f"decay must be in [0, 1); got {decay!r}")
        if not float(epsilon) > 0:
            raise ValueError(f"epsilon must be > 0; got {epsilon!r}")
        if restart_after is not None:
            restart_after = _positive_int("restart_after", restart_after)
        self.commitment_cost = float(commitment_cost)
        self.codebook_update = codebook_update
        self.decay = float(decay)
        self.epsilon = float(epsilon)
        self.cosine = bool(cosine)
        self.kmeans_init = bool(kmeans_init)
        self.kmeans_iters = _positive_int("kmeans_iters", kmeans_iters)
        self.restart_after = restart_after
        self.restart_buffer_size = _positive_int("restart_buffer_size", restart_buffer_size)
        self.max_distance_elements = _positive_int("max_distance_elements", max_distance_elements)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    # -- weights --------------------------------------------------------------------

    def _check_last_axis(self, shape, name: str = "inputs"):
        if len(shape) < 2:
            raise ValueError(
                f"{self.name}: {name} must have shape (batch, ..., {self.embedding_dim}); "
                f"got shape {tuple(shape)}"
            )
        if shape[-1] is not None and int(shape[-1]) != self.embedding_dim:
            raise ValueError(
                f"{self.name}: the last axis of {name} must equal embedding_dim="
                f"{self.embedding_dim}; got shape {tuple(shape)}"
            )

    def build(self, input_shape):
        self._check_last_axis(input_shape)
        k, d = self.num_embeddings, self.embedding_dim
        # Sonnet's initialisation: uniform with variance 1 / D (variance scaling, fan-in D).
        limit = math.sqrt(3.0 / d)
        # Every variable: float32 even under mixed precision (autocast=False), and "mean"
        # aggregation, so replicas that assign the same value keep the same value.
        common = {"dtype": "float32", "autocast": False, "aggregation": "mean"}
        self.embeddings = self.add_weight(
            shape=(k, d),
            initializer=keras.initializers.RandomUniform(-limit, limit, seed=self.seed),
            trainable=self.codebook_update == "gradient",
            name="embeddings",
            **common,
        )
        state = {"trainable": False, "initializer": "zeros", **common}
        if self.codebook_update == "ema":
            # Sonnet's ExponentialMovingAverage: hidden values and a counter for debiasing.
            self.ema_cluster_size_hidden = self.add_weight(
                shape=(k,), name="ema_cluster_size_hidden", **state
            )
            self.ema_dw_hidden = self.add_weight(shape=(k, d), name="ema_dw_hidden", **state)
            self.ema_counter = self.add_weight(shape=(), name="ema_counter", **state)
        self.steps_since_used = self.add_weight(shape=(k,), name="steps_since_used", **state)
        self.code_counts = self.add_weight(shape=(k,), name="code_counts", **state)
        self.restart_buffer = self.add_weight(
            shape=(self.restart_buffer_size, d), name="restart_buffer", **state
        )
        self.buffer_position = self.add_weight(shape=(), name="buffer_position", **state)
        self.buffer_filled = self.add_weight(shape=(), name="buffer_filled", **state)
        if self.kmeans_init:
            self.initialized = self.add_weight(shape=(), name="initialized", **state)

    # -- quantization -------------------------------------------------------------------

    def codebook(self):
        """The codebook as a float32 tensor (K, D), l2-normalised for a cosine codebook."""
        emb = ops.convert_to_tensor(self.embeddings)
        return vq.l2_normalize(emb) if self.cosine else emb

    @property
    def ema_cluster_size(self):
        """Debiased EMA of the code counts (K,), or None for a gradient codebook."""
        if self.codebook_update != "ema":
            return None
        return self.ema_cluster_size_hidden / self._debias()

    def _debias(self):
        return vq.debias_factor(self.decay, self.ema_counter)

    def distances(self, x):
        """Squared distances (N, K) in float32 of rows ``x`` (N, D) to the codebook."""
        x = ops.cast(ops.convert_to_tensor(x), "float32")
        self._check_last_axis(x.shape, "x")
        if self.cosine:
            x = vq.l2_normalize(x)
        return vq.squared_distances(x, self.codebook())

    def nearest(self, flat, emb=None):
        """Index of the nearest code for each row of ``flat`` (N, D float32), chunked."""
        emb = self.codebook() if emb is None else emb
        chunk_rows = max(1, self.max_distance_elements // self.num_embeddings)
        return vq.nearest_codes(flat, emb, chunk_rows)

    def quantize_vectors(self, inputs, training: bool = False) -> dict:
        """Quantize ``inputs`` (batch, ..., embedding_dim); update the codebook if training.

        Returns a dict of tensors: ``quantized`` (inputs' shape and dtype,
        straight-through), ``indices`` (int32, inputs' shape without the last
        axis), per-example float32 ``commitment_loss`` and ``codebook_loss``
        (shape (batch,)), and the scalars ``perplexity`` (exp of the entropy of
        the batch's code histogram, over all replicas) and ``usage`` (fraction
        of codes used in the batch).
        """
        x = ops.convert_to_tensor(inputs)
        if not self.built:
            self.build(x.shape)
        self._check_last_axis(x.shape)
        if "float" not in str(x.dtype):
            raise ValueError(f"{self.name}: inputs must be floating point; got dtype {x.dtype}")
        k, d = self.num_embeddings, self.embedding_dim
        x32 = ops.cast(x, "float32")
        if self.cosine:
            x32 = vq.l2_normalize(x32)
        flat = ops.reshape(x32, (-1, d))
        emb = self.codebook()
        if training and self.kmeans_init:
            emb = self._maybe_kmeans_init(flat, emb)
        idx = self.nearest(flat, emb)
        quant32 = ops.reshape(ops.take(emb, idx, axis=0), ops.shape(x32))

        commitment, codebook = vq.quantization_errors(x32, quant32)
        counts = backend.all_reduce_sum(
            ops.segment_sum(ops.ones_like(idx, "float32"), idx, num_segments=k)
        )
        if training:
            self._training_updates(flat, idx, counts)

        x_out = ops.cast(x32, x.dtype) if self.cosine else x
        return {
            "quantized": vq.straight_through(x_out, quant32),
            "indices": ops.reshape(idx, ops.shape(x)[:-1]),
            "commitment_loss": self.commitment_cost * commitment,
            "codebook_loss": codebook,
            "perplexity": vq.perplexity(counts),
            "usage": ops.mean(ops.cast(counts > 0, "float32")),
        }

    def call(self, inputs, training=None):
        out = self.quantize_vectors(inputs, training=bool(training))
        loss = out["commitment_loss"]
        if self.codebook_update == "gradient":
            loss = loss + out["codebook_loss"]
        self.add_loss(ops.mean(loss))
        return out["quantized"]

    def compute_output_shape(self, input_shape):
        return input_shape

    def lookup(self, indices):
        """Code vectors for integer ``indices`` (any shape): shape (*indices.shape, D).

        Returned in the layer's compute dtype. Out-of-range indices raise a
        ValueError when they can be checked (eager inputs).
        """
        idx = ops.convert_to_tensor(indices)
        if "int" not in str(idx.dtype):
            raise ValueError(f"{self.name}: indices must be integers; got dtype {idx.dtype}")
        try:
            values = ops.convert_to_numpy(idx)
        except Exception:  # symbolic tensor inside a graph: nothing to check here
            values = np.zeros(0)
        if values.size and not 0 <= values.min() <= values.max() < self.num_embeddings:
            raise ValueError(
                f"{self.name}: indices must be in [0, {self.num_embeddings}); "
                f"got values in [{values.min()}, {values.max()}]"
            )
        return ops.cast(
            ops.take(self.codebook(), ops.cast(idx, "int32"), axis=0), self.compute_dtype
        )

    # -- training-time updates ----------------------------------------------------------

    def _maybe_kmeans_init(self, flat, emb):
        rows = math.ceil(max(4 * self.num_embeddings, 1024) / backend.num_replicas())
        sample = backend.all_gather(vq.sample_rows(flat, rows, self.seed_generator))
        start = vq.shared_random_indices(
            (self.num_embeddings,), ops.cast(ops.shape(sample)[0], "float32"), self.seed_generator
        )

        def kmeans():
            centroids = ops.take(sample, start, axis=0)
            return vq.kmeans(sample, centroids, self.kmeans_iters, self.cosine)

        emb = ops.cond(self.initialized > 0.5, lambda: emb, kmeans)
        self.initialized.assign(1.0)
        self.embeddings.assign(emb)
        return emb

    def _training_updates(self, flat, idx, counts):
        k = self.num_embeddings
        self.steps_since_used.assign(ops.where(counts > 0, 0.0, self.steps_since_used + 1.0))
        self.code_counts.assign_add(counts)
        if self.codebook_update == "ema":
            dw = backend.all_reduce_sum(ops.segment_sum(flat, idx, num_segments=k))
            self.ema_counter.assign_add(1.0)
            size_hidden = vq.ema_update(self.ema_cluster_size_hidden, counts, self.decay)
            dw_hidden = vq.ema_update(self.ema_dw_hidden, dw, self.decay)
            self.ema_cluster_size_hidden.assign(size_hidden)
            self.ema_dw_hidden.assign(dw_hidden)
            debias = self._debias()
            self.embeddings.assign(
                vq.ema_codebook(size_hidden / debias, dw_hidden / debias, self.epsilon)
            )
        self._remember(flat)
        if self.restart_after is not None:
            self._restart(self.steps_since_used >= float(self.restart_after))

    def _remember(self, flat):
        rows = math.ceil(min(self.restart_buffer_size, 256) / backend.num_replicas())
        sample = backend.all_gather(vq.sample_rows(flat, rows, self.seed_generator))
        state = (self.restart_buffer, self.buffer_position, self.buffer_filled)
        for variable, value in zip(state, vq.ring_buffer_write(*state, sample)):
            variable.assign(value)

    def _restart(self, dead):
        """Re-initialise the codes where ``dead`` (bool (K,)) from the buffer; graph-safe."""
        new_emb, candidates, dead = vq.restart_codes(
            self.embeddings, dead, self.restart_buffer, self.buffer_filled, self.seed_generator
        )
        self.embeddings.assign(new_emb)
        column = dead[:, None]
        if self.codebook_update == "ema":
            # The restarted code counts as one fresh assignment of its new vector.
            debias = self._debias()
            self.ema_cluster_size_hidden.assign(
                ops.where(dead, debias, self.ema_cluster_size_hidden)
            )
            self.ema_dw_hidden.assign(ops.where(column, candidates * debias, self.ema_dw_hidden))
        self.steps_since_used.assign(ops.where(dead, 0.0, self.steps_since_used))
        return ops.sum(ops.cast(dead, "int32"))

    # -- codebook health (eager) --------------------------------------------------------

    def dead_codes(self, unused_steps: int | None = None) -> np.ndarray:
        """Boolean mask (K,) of codes unused for ``unused_steps`` training steps.

        Defaults to ``restart_after``; with neither, the codes unused since the
        last :meth:`reset_code_counts`.
        """
        steps = self.restart_after if unused_steps is None else unused_steps
        if steps is None:
            return ops.convert_to_numpy(self.code_counts) == 0
        return ops.convert_to_numpy(self.steps_since_used) >= _positive_int("unused_steps", steps)

    def restart_dead_codes(self, dead=None) -> int:
        """Re-initialise ``dead`` codes (a boolean mask (K,), default :meth:`dead_codes`)
        from the buffer of recent encoder outputs; returns how many were restarted.

        Call it between steps (e.g. from :class:`keras_gen.callbacks.CodebookMonitor`).
        """
        dead = self.dead_codes() if dead is None else np.asarray(dead, bool)
        if dead.shape != (self.num_embeddings,):
            raise ValueError(
                f"dead must be a boolean mask of shape ({self.num_embeddings},); "
                f"got shape {dead.shape}"
            )
        return int(self._restart(ops.convert_to_tensor(dead)))

    def reset_code_counts(self) -> None:
        """Zero the code counts accumulated since the last reset."""
        self.code_counts.assign(ops.zeros_like(self.code_counts))

    def codebook_stats(self) -> dict:
        """Usage, perplexity and dead codes of the counts accumulated since the last reset."""
        counts = np.asarray(ops.convert_to_numpy(self.code_counts), np.float64)
        total = counts.sum()
        probs = counts / max(total, 1.0)
        nz = probs[probs > 0]
        return {
            "usage": float(np.mean(counts > 0)),
            "perplexity": float(np.exp(-np.sum(nz * np.log(nz)))) if total else 0.0,
            "dead_codes": int(np.sum(self.dead_codes())),
        }

    def get_config(self):
        return {
            **super().get_config(),
            "num_embeddings": self.num_embeddings,
            "embedding_dim": self.embedding_dim,
            "commitment_cost": self.commitment_cost,
            "codebook_update": self.codebook_update,
            "decay": self.decay,
            "epsilon": self.epsilon,
            "cosine": self.cosine,
            "kmeans_init": self.kmeans_init,
            "kmeans_iters": self.kmeans_iters,
            "restart_after": self.restart_after,
            "restart_buffer_size": self.restart_buffer_size,
            "max_distance_elements": self.max_distance_elements,
            "seed": self.seed,
        }
