"""Codebook health of vector-quantized models: usage, perplexity, dead codes, restarts."""

from __future__ import annotations

import keras

from keras_gen.layers.quantizer import VectorQuantizer


def find_quantizer(model: keras.Model) -> VectorQuantizer:
    """The first :class:`~keras_gen.layers.VectorQuantizer` inside ``model``."""
    for layer in model._flatten_layers(include_self=True, recursive=True):
        if isinstance(layer, VectorQuantizer):
            return layer
    raise ValueError(f"model {model.name!r} has no VectorQuantizer layer")


@keras.saving.register_keras_serializable(package="keras_gen")
class CodebookMonitor(keras.callbacks.Callback):
    """Log codebook usage, perplexity and dead codes every epoch; optionally restart them.

    Counts the codes the quantizer assigns during each training epoch (over all
    replicas) and adds to the epoch's logs (so to ``History``):
    ``codebook_usage`` (fraction of codes used in the epoch),
    ``codebook_perplexity`` (exp of the entropy of the epoch's code histogram)
    and ``dead_codes`` (codes unused for ``unused_steps`` training steps;
    by default the quantizer's ``restart_after``, or the whole epoch if that is None). With
    ``restart=True`` the dead codes are re-initialised from recent encoder
    outputs at the end of the epoch and ``restarted_codes`` is logged.

    Args:
        quantizer: the :class:`~keras_gen.layers.VectorQuantizer` to watch; None
            (default): the first one found inside the model when training starts.
        unused_steps: optional positive int, how many training steps without use make a
            code dead; None (default): the quantizer's ``restart_after``, or the codes
            unused in the whole epoch if that is None too.
        restart: whether to re-initialise the dead codes at the end of each epoch;
            default False (only count them).
        verbose: if non-zero, print these values once per epoch; default 0 (silent).

    Example:

    >>> import numpy as np
    >>> from keras_gen.zoo import VQVAE
    >>> vqvae = VQVAE((28, 28, 1), num_embeddings=16, embedding_dim=4,
    ...               hidden_channels=8, residual_channels=4, num_residual_layers=0)
    >>> vqvae.compile(optimizer="adam")
    >>> x = np.random.default_rng(0).random((8, 28, 28, 1), dtype="float32")
    >>> h = vqvae.fit(x, epochs=1, verbose=0, callbacks=[CodebookMonitor(restart=True)])
    >>> sorted(k for k in h.history if "cod" in k)
    ['codebook', 'codebook_perplexity', 'codebook_usage', 'dead_codes', 'restarted_codes']
    """

    def __init__(
        self,
        quantizer: VectorQuantizer | None = None,
        unused_steps: int | None = None,
        restart: bool = False,
        verbose: int = 0,
    ):
        super().__init__()
        if unused_steps is not None and (isinstance(unused_steps, bool) or int(unused_steps) < 1):
            raise ValueError(
                f"unused_steps must be a positive integer or None; got {unused_steps!r}"
            )
        self.quantizer = quantizer
        self.unused_steps = unused_steps
        self.restart = bool(restart)
        self.verbose = int(verbose)

    def _vq(self) -> VectorQuantizer:
        if self.quantizer is None:
            self.quantizer = find_quantizer(self.model)
        return self.quantizer

    def on_epoch_begin(self, epoch, logs=None):
        self._vq().reset_code_counts()

    def on_epoch_end(self, epoch, logs=None):
        vq = self._vq()
        stats = vq.codebook_stats()
        dead = vq.dead_codes(self.unused_steps)
        values = {
            "codebook_usage": stats["usage"],
            "codebook_perplexity": stats["perplexity"],
            "dead_codes": int(dead.sum()),
        }
        if self.restart:
            values["restarted_codes"] = vq.restart_dead_codes(dead) if dead.any() else 0
        if logs is not None:
            logs.update(values)
        if self.verbose:
            print(
                f"Epoch {epoch + 1}: codebook usage {values['codebook_usage']:.3f}, "
                f"perplexity {values['codebook_perplexity']:.1f}, dead codes {values['dead_codes']}"
                + (f", restarted {values['restarted_codes']}" if self.restart else "")
            )

    def get_config(self):
        return {"unused_steps": self.unused_steps, "restart": self.restart, "verbose": self.verbose}
