"""The later stages of multi-stage presets (``Preset.stages``), by name.

A stage trains on top of the model of the first stage, which carries the result (the
VQ-VAE keeps its prior and saves it in its ``.keras`` file). ``keras-gen train`` runs a
preset's stages in order, after the first model's ``fit``.

>>> from keras_gen.pipelines.stages import STAGES
>>> sorted(STAGES)
['prior']
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from keras_gen.pipelines.vqvae_prior import PriorResult, train_prior


def prior_stage(
    model,
    preset,
    x_train: np.ndarray,
    x_test: np.ndarray | None = None,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    verbose: int = 0,
) -> PriorResult:
    """Train ``preset.stage("prior")`` on the codes of ``model`` (a VQ-VAE) and attach it.

    A model that already carries a compiled prior (a resumed run) trains it further, with
    its optimizer state; otherwise a new prior is built and compiled from the stage's
    recipe. ``learning_rate`` replaces the recipe's (or the resumed optimizer's) rate;
    ``epochs`` and ``batch_size`` default to the stage's.
    """
    stage = preset.stage("prior")
    prior = model.prior
    if prior is None:
        prior = stage.build(
            grid_shape=model.code_shape, num_embeddings=model.quantizer.num_embeddings
        )
    if not prior.compiled:
        stage.compile(prior, learning_rate=learning_rate)
    elif learning_rate is not None:
        prior.optimizer.learning_rate = learning_rate
    return train_prior(
        model,
        x_train,
        x_test,
        prior=prior,
        epochs=epochs if epochs is not None else stage.epochs,
        batch_size=batch_size if batch_size is not None else stage.batch_size,
        verbose=verbose,
    )


STAGES: dict[str, Callable[..., PriorResult]] = {"prior": prior_stage}


def run_stage(name: str, model, preset, x_train, x_test=None, **options) -> PriorResult:
    """Run the stage ``name`` of ``preset`` on ``model`` (see :func:`prior_stage`)."""
    if name not in STAGES:
        raise ValueError(f"unknown stage {name!r} of preset {preset.name!r}; known: {list(STAGES)}")
    return STAGES[name](model, preset, x_train, x_test, **options)
