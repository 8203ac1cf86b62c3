"""The discriminator's gradient penalties and WGAN-GP's interpolation, by hand."""

import numpy as np

from keras_gen import losses


def test_gradient_penalty_is_the_squared_distance_of_the_gradient_norm_to_one():
    sq_norm = np.array([0.0, 0.25, 1.0, 9.0], "float32")  # |grad| = 0, 0.5, 1, 3
    np.testing.assert_allclose(
        losses.gradient_penalty(sq_norm), [1.0, 0.25, 0.0, 4.0], rtol=1e-5, atol=1e-6
    )


def test_r1_is_half_gamma_times_the_squared_gradient_norm():
    np.testing.assert_allclose(losses.r1_penalty(np.array([0.0, 2.0, 3.0]), 10.0), [0, 10, 15])


def test_interpolation_mixes_each_example_with_its_own_weight():
    real = (np.ones((2, 2, 2, 1), "float32"), np.full((2, 3), 4.0, "float32"))  # nested, ALI
    fake = (np.zeros((2, 2, 2, 1), "float32"), np.zeros((2, 3), "float32"))
    x_mix, z_mix = losses.interpolate(real, fake, np.array([0.25, 1.0]))
    np.testing.assert_allclose(np.asarray(x_mix)[:, 0, 0, 0], [0.25, 1.0])
    np.testing.assert_allclose(np.asarray(z_mix)[:, 0], [1.0, 4.0])
