"""DCGAN and ConditionalGAN: the model harness with the registry's recipes, VI, errors."""

import keras
import numpy as np
import pytest

from keras_gen import presets, zoo
from keras_gen.testing import run_model_test

RNG = np.random.default_rng(0)
X = RNG.random((20, 8, 8, 1), dtype="float32")  # small images keep the tests fast
Y = np.arange(20) % 4
TINY = {"image_shape": (8, 8, 1), "latent_dim": 4, "filters": (4, 8), "seed": 0}


def test_recommended_recipe_with_spectral_norm_and_vi_passes_the_model_harness(mirrored):
    # The registry's dcgan recipe: non-saturating + R1, an EMA of the generator's weights.
    assert presets.get("dcgan").recipe["r1_penalty"] > 0
    config = {**TINY, "spectral_norm": True, "vi_weight": 1.0}

    def outputs(model):  # sampling with the generator's weights and with their EMA
        return model.generate(3, seed=3), model.generate(3, seed=3, ema=True)

    run_model_test(zoo.DCGAN, config, (X[:15],), "dcgan", outputs=outputs, strategy=mirrored)


def test_wgan_gp_with_critic_steps_passes_the_model_harness(mirrored):
    # 20 examples: 2 critic slices of 10, of 5 on each replica (the slices are the same).
    recipe = {
        "g_optimizer": presets.adam(1e-3, beta_1=0.5, beta_2=0.9),
        "d_optimizer": presets.adam(1e-3, beta_1=0.5, beta_2=0.9),
        "loss": "wasserstein",
        "gradient_penalty": 10.0,
        "d_steps": 2,
    }
    # Per-player loss scaling under mixed_float16 is checked with the recipe above.
    run_model_test(zoo.DCGAN, TINY, (X,), recipe, strategy=mirrored, precisions=["mixed_bfloat16"])


def test_conditional_gan_passes_the_model_harness(mirrored):
    def outputs(model):
        return model.generate(3, seed=3, labels=[0, 1, 3])

    run_model_test(
        zoo.ConditionalGAN,
        {**TINY, "num_classes": 4},
        (X[:15], Y[:15]),
        "conditional-gan",
        outputs=outputs,
        strategy=mirrored,
        precisions=["mixed_bfloat16"],
    )


def test_ema_generator_differs_from_the_trained_one():
    gan = zoo.DCGAN(**TINY)
    presets.get("dcgan").compile(gan)
    gan.fit(X, batch_size=10, epochs=1, verbose=0)
    assert not np.allclose(gan.generate(4, seed=3, ema=True), gan.generate(4, seed=3))


def test_vi_regulariser_pulls_towards_the_generator_before_its_last_update():
    gan = zoo.DCGAN(**{**TINY, "vi_weight": 1.0})
    gan.compile(g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(0.1))
    trained = [w.trainable for w in gan.generator.weights]
    before = [np.asarray(w) for w in gan.generator.weights]
    gan.train_on_batch(X)
    # After one update the lagged copy holds the trained weights from before it (the
    # batch-norm statistics already moved in the discriminator's step).
    for old, w, t in zip(gan.generator_old.weights, before, trained):
        if t:
            np.testing.assert_array_equal(np.asarray(old), w)
    assert [v.path for v in gan.trainable_variables] == [
        v.path for v in gan.generator_variables + gan.discriminator_variables
    ]
    logs = gan.train_on_batch(X, return_dict=True)
    assert logs["vi"] > 0  # G has moved away from G_old, so the term is active
    with pytest.raises(ValueError, match="vi_weight must be >= 0"):
        zoo.DCGAN(**{**TINY, "vi_weight": -1.0})


def test_bad_input_is_a_clear_error():
    gan = zoo.DCGAN(**TINY)
    gan.compile()
    with pytest.raises(ValueError, match=r"expects images of shape \(8, 8, 1\)"):
        gan.fit(np.zeros((4, 32, 32, 3), "float32"), verbose=0)
    cgan = zoo.ConditionalGAN(**{**TINY, "num_classes": 10})
    cgan.compile()
    with pytest.raises(ValueError, match="class-conditional: pass labels"):
        cgan.fit(X[:8], verbose=0)
    with pytest.raises(ValueError, match="not class-conditional"):
        gan.generate(2, labels=[1, 2])
    with pytest.raises(ValueError, match=r"needs keras_gen\.optimizers\.EMA"):
        gan.generate(2, ema=True)
    with pytest.raises(ValueError, match="divisible by 4"):
        zoo.DCGAN(**{**TINY, "image_shape": (10, 10, 1)})


@pytest.mark.parametrize(
    "replicas, steps_per_execution, as_dataset",
    [(1, 1, False), (2, 1, True), (1, 3, True)],
    ids=["numpy", "tf.data-2-replicas", "tf.data-3-steps-per-execution"],
)
def test_conditional_gan_labels_out_of_range_are_an_error(
    mirrored, replicas, steps_per_execution, as_dataset
):
    """Out-of-range labels were one-hot rows of zeros that trained silently (the shared
    check of keras_gen.zoo.image_model, as for the CVAE)."""
    import contextlib

    import tensorflow as tf

    scope = mirrored.scope() if replicas == 2 else contextlib.nullcontext()
    with scope:
        gan = zoo.ConditionalGAN(**{**TINY, "num_classes": 4})
        gan.compile(steps_per_execution=steps_per_execution)
    before = gan.get_weights()
    y = Y.copy()
    y[7] = -2  # in the first batch of 8, the second replica's half
    data = (tf.data.Dataset.from_tensor_slices((X, y)).batch(8),) if as_dataset else (X, y)
    expected = r"ConditionalGAN: labels must be integers in \[0, 4\); got (labels from )?-2"
    with pytest.raises(ValueError, match=expected):
        gan.fit(*data, batch_size=None if as_dataset else 8, epochs=1, verbose=0)
    if steps_per_execution == 1:  # the failing step was the first: nothing changed
        for a, b in zip(before, gan.get_weights()):
            np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 4\)"):
        gan.generate(2, labels=[4, 0])


@pytest.mark.parametrize("as_dataset", [False, True], ids=["numpy", "tf.data"])
def test_pixels_outside_the_unit_range_are_an_error(as_dataset):
    import tensorflow as tf

    gan = zoo.DCGAN(**TINY)
    gan.compile()
    before = gan.get_weights()
    x = X * 255
    data = tf.data.Dataset.from_tensor_slices(x).batch(10) if as_dataset else x
    with pytest.raises(ValueError, match=r"DCGAN expects finite pixel values in \[0, 1\]"):
        gan.fit(data, epochs=1, verbose=0)
    for a, b in zip(before, gan.get_weights()):  # the discriminator saw no such batch
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"filters": (4, 8.5)}, "filters must be a sequence of positive integers"),
        ({"latent_dim": 2.5}, "latent_dim must be a positive integer"),
        ({"num_classes": 2.5}, "num_classes must be an integer >= 0"),
    ],
)
def test_sizes_must_be_integers(kwargs, message):
    with pytest.raises(ValueError, match=message):
        zoo.DCGAN(**{**TINY, **kwargs})
    with pytest.raises(ValueError, match="num_classes must be a positive integer"):
        zoo.ConditionalGAN(**{**TINY, "num_classes": 4.5})
