"""StopOnNonFinite: a NaN or infinite loss is an error naming the term, not a quiet stop."""

import keras
import numpy as np
import pytest

from keras_gen import zoo
from keras_gen.callbacks import NonFiniteLossError, StopOnNonFinite

RNG = np.random.default_rng(0)
X = RNG.random((32, 8, 8, 1), dtype="float32")


def test_a_vae_whose_loss_becomes_nan_raises_instead_of_finishing():
    vae = zoo.VAE((8, 8, 1), latent_dim=2, hidden_units=(8,), seed=0)
    vae.compile(optimizer=keras.optimizers.Adam(float("inf")))  # what --lr inf did
    with pytest.raises(NonFiniteLossError, match=r"training loss became nan in epoch 1, batch"):
        vae.fit(X, batch_size=8, epochs=3, verbose=0, callbacks=[StopOnNonFinite()])
    assert vae.optimizer.iterations.numpy() < 4 * 3  # it stopped early
    assert issubclass(NonFiniteLossError, ValueError | FloatingPointError)


def test_a_gan_is_watched_through_its_player_losses():
    # Keras' TerminateOnNaN watches logs["loss"] only, which a GAN does not report.
    gan = zoo.DCGAN((8, 8, 1), latent_dim=2, filters=(4, 8), seed=0)
    gan.compile(g_optimizer=keras.optimizers.Adam(1e30), d_optimizer=keras.optimizers.Adam(1e30))
    with pytest.raises(NonFiniteLossError, match=r"loss term '(d|g)_loss' became"):
        gan.fit(X, batch_size=8, epochs=5, verbose=0, callbacks=[StopOnNonFinite()])


def test_finite_training_and_unwatched_terms_pass():
    callback = StopOnNonFinite()
    callback.set_model(keras.Sequential([keras.layers.Dense(1)]))
    callback.on_train_batch_end(0, {"loss": 1.0, "frechet_distance": float("inf")})
    callback.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.7})
    with pytest.raises(NonFiniteLossError, match="'val_loss' became nan at the end of epoch 1"):
        callback.on_epoch_end(0, {"loss": 0.5, "val_loss": float("nan")})
    watched = StopOnNonFinite(monitor=["kl"])
    watched.set_model(callback.model)
    watched.on_train_batch_end(0, {"loss": float("nan"), "kl": 1.0})
    assert keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(watched)
    ).monitor == ("kl",)
