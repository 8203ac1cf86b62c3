"""VQ-VAE + PixelCNN prior: the prior stage, and the whole recipe in one call.

:func:`train_prior` is the second stage: a PixelCNN on the codes of a trained VQ-VAE,
attached to it so that ``vqvae.generate(n)`` samples (and saved in its ``.keras`` file).
``keras-gen train vqvae`` runs it after the VQ-VAE (the preset's ``stages["prior"]``);
:func:`train_pipeline` runs both stages on a data set, in Python:

>>> import os, tempfile
>>> from keras_gen.pipelines.vqvae_prior import train_pipeline
>>> out = tempfile.mkdtemp()
>>> result = train_pipeline("mnist_mini", out_dir=out, limit=32, vqvae_epochs=1, prior_epochs=1,
...                         num_samples=2, vqvae_kwargs={"num_embeddings": 16,
...                         "embedding_dim": 4, "hidden_channels": 8, "residual_channels": 4},
...                         prior_kwargs={"channels": 8, "num_layers": 2})
>>> result.samples.shape
(2, 28, 28, 1)
>>> bool(result.metrics["prior_test_bits_per_code"] > 0)
True
>>> sorted(os.listdir(out))
['metrics.json', 'prior.keras', 'reconstructions.png', 'samples.png', 'vqvae.keras']
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from keras_gen.data import load_arrays
from keras_gen.io import atomic_write, save_model_atomic
from keras_gen.zoo import VQVAE, PixelCNN


@dataclass
class PipelineResult:
    """What :func:`train_pipeline` returns: the two trained models, samples and numbers.

    Attributes:
        vqvae: the trained :class:`~keras_gen.zoo.VQVAE`, with ``prior`` attached (so
            ``vqvae.generate(n)`` samples).
        prior: the :class:`~keras_gen.zoo.PixelCNN` trained on the VQ-VAE's code grids.
        samples: ``num_samples`` generated images, float32 array (n, H, W, C) in [0, 1].
        metrics: dict of floats: ``test_reconstruction``, ``test_perplexity`` (of the
            test codes), ``test_batch_perplexity``, ``test_code_usage`` (fraction of
            the codes used), ``prior_test_bits_per_code``, ``prior_train_bits_per_code``;
            also written to ``metrics.json`` with ``out_dir``.
        histories: dict ``{"vqvae": ..., "prior": ...}`` of the ``History.history``
            dicts of the two ``fit`` calls; default empty.

    Example: see the module docstring.
    """

    vqvae: VQVAE
    prior: PixelCNN
    samples: np.ndarray
    metrics: dict
    histories: dict = field(default_factory=dict)


@dataclass
class PriorResult:
    """What :func:`train_prior` returns: the attached prior, its history and test numbers."""

    prior: PixelCNN
    history: dict
    metrics: dict


def codebook_perplexity(codes: np.ndarray, k: int) -> float:
    """exp(entropy) of the code histogram: how many of the ``k`` codes are in use, softly.

    >>> round(codebook_perplexity(np.array([0, 1, 2, 3]), 8), 6)
    4.0
    """
    counts = np.bincount(np.asarray(codes).ravel(), minlength=k).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    return float(np.exp(-np.sum(p * np.log(p))))


def train_prior(
    vqvae: VQVAE,
    x_train: np.ndarray,
    x_test: np.ndarray | None = None,
    *,
    prior: PixelCNN | None = None,
    config: dict | None = None,
    optimizer=None,
    epochs: int = 20,
    batch_size: int = 64,
    callbacks=None,
    verbose: int = 0,
) -> PriorResult:
    """Train a PixelCNN prior on the codes of ``x_train`` and attach it to ``vqvae``.

    Args:
        vqvae: a trained VQ-VAE.
        x_train, x_test: images in [0, 1]; the test codes give the prior's test NLL in
            bits per code, the code perplexity and the fraction of codes used.
        prior: a prior to train further (e.g. the compiled one a reloaded VQ-VAE carries,
            with its optimizer state); default a new ``PixelCNN(vqvae.code_shape, K,
            **config)``.
        optimizer: for a prior that is not compiled yet (default ``Adam(1e-3)``).
        epochs, batch_size, callbacks, verbose: passed to the prior's ``fit``.
    """
    k = vqvae.quantizer.num_embeddings
    codes_train = vqvae.encode_indices(x_train)
    codes_test = None if x_test is None else vqvae.encode_indices(x_test)
    if prior is None:
        prior = PixelCNN(vqvae.code_shape, k, **(config or {}))
    if not prior.compiled:
        prior.compile(optimizer=optimizer if optimizer is not None else keras.optimizers.Adam(1e-3))
    history = prior.fit(
        codes_train,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=None if codes_test is None else (codes_test,),
        callbacks=callbacks,
        verbose=verbose,
    )
    vqvae.attach_prior(prior)
    metrics = {"prior_train_bits_per_code": float(history.history["bits_per_code"][-1])}
    if codes_test is not None:
        metrics = {
            "test_perplexity": codebook_perplexity(codes_test, k),
            "test_code_usage": float(len(np.unique(codes_test)) / k),
            "prior_test_bits_per_code": prior.bits_per_code(codes_test),
            **metrics,
        }
    return PriorResult(prior, history.history, metrics)


def train_pipeline(
    data: str = "mnist_mini",
    *,
    out_dir: str | os.PathLike | None = None,
    vqvae_epochs: int = 10,
    prior_epochs: int = 20,
    batch_size: int = 64,
    prior_batch_size: int = 64,
    learning_rate: float = 3e-4,
    prior_learning_rate: float = 1e-3,
    num_samples: int = 64,
    limit: int | None = None,
    seed: int = 0,
    vqvae_kwargs: dict | None = None,
    prior_kwargs: dict | None = None,
    verbose: int = 0,
) -> PipelineResult:
    """Train a VQ-VAE on ``data``, a PixelCNN prior on its codes, and sample from both.

    ``data`` is anything :func:`keras_gen.data.load_arrays` takes (``"mnist_mini"``,
    a TFDS name, an .npz or an image tar). The test split (if any) gives the
    reported reconstruction error / data variance, code perplexity and the prior's
    negative log-likelihood in bits per code. With ``out_dir`` the models, a
    sample grid and ``metrics.json`` are written there (each file atomically).
    """
    keras.utils.set_random_seed(seed)
    x_train, _ = load_arrays(data, "train", limit=limit)
    try:
        x_test, _ = load_arrays(data, "test", limit=limit)
    except ValueError:  # no test split: hold out a tenth of the training images
        cut = max(1, len(x_train) // 10)
        x_train, x_test = x_train[cut:], x_train[:cut]
    x_train = x_train.astype("float32") / 255.0
    x_test = x_test.astype("float32") / 255.0

    vqvae = VQVAE(
        x_train.shape[1:],
        data_variance=float(np.var(x_train)),
        seed=seed,
        **(vqvae_kwargs or {}),
    )
    vqvae.compile(optimizer=keras.optimizers.Adam(learning_rate))
    h_vq = vqvae.fit(x_train, epochs=vqvae_epochs, batch_size=batch_size, verbose=verbose)
    test_terms = vqvae.evaluate(x_test, batch_size=batch_size, verbose=0, return_dict=True)

    stage = train_prior(
        vqvae,
        x_train,
        x_test,
        config=prior_kwargs,
        optimizer=keras.optimizers.Adam(prior_learning_rate),
        epochs=prior_epochs,
        batch_size=prior_batch_size,
        verbose=verbose,
    )
    prior = stage.prior
    samples = vqvae.generate(num_samples, seed=seed)
    metrics = {
        "test_reconstruction": float(test_terms["reconstruction"]),
        "test_perplexity": stage.metrics["test_perplexity"],
        "test_batch_perplexity": float(test_terms["perplexity"]),
        "test_code_usage": stage.metrics["test_code_usage"],
        "prior_test_bits_per_code": stage.metrics["prior_test_bits_per_code"],
        "prior_train_bits_per_code": stage.metrics["prior_train_bits_per_code"],
    }
    if out_dir is not None:
        from keras_gen.callbacks import save_image_grid  # callbacks sit on top of the zoo

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        save_model_atomic(vqvae, out / "vqvae.keras")
        save_model_atomic(prior, out / "prior.keras")
        save_image_grid(out / "samples.png", samples)
        save_image_grid(out / "reconstructions.png", vqvae.reconstruct(x_test[:num_samples]))
        text = json.dumps(metrics, indent=2) + "\n"
        atomic_write(out / "metrics.json", lambda tmp: Path(tmp).write_text(text), ".json")
    return PipelineResult(
        vqvae, prior, samples, metrics, {"vqvae": h_vq.history, "prior": stage.history}
    )
