"""Every adversarial loss against its formula, written out in NumPy on fixed logits."""

import keras
import numpy as np
import pytest

from keras_gen.losses import adversarial as adv

R = np.array([2.0, -0.5, 0.3, 1.2], "float32")  # D on real
F = np.array([-1.0, 0.7, 0.3, -2.2], "float32")  # D on fake


def softplus(v):
    return np.log1p(np.exp(v))


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


# (name, D loss, G loss) as functions of (r, f), from the papers' definitions.
FORMULAS = {
    "minimax": (
        lambda r, f: -np.log(sigmoid(r)) - np.log(1 - sigmoid(f)),
        lambda r, f: np.log(1 - sigmoid(f)),
    ),
    "non_saturating": (
        lambda r, f: -np.log(sigmoid(r)) - np.log(1 - sigmoid(f)),
        lambda r, f: -np.log(sigmoid(f)),
    ),
    "wasserstein": (lambda r, f: f - r, lambda r, f: -f),
    "hinge": (
        lambda r, f: np.maximum(0, 1 - r) + np.maximum(0, 1 + f),
        lambda r, f: -f,
    ),
    "least_squares": (
        lambda r, f: 0.5 * (r - 1) ** 2 + 0.5 * f**2,
        lambda r, f: 0.5 * (f - 1) ** 2,
    ),
    "rsgan": (
        lambda r, f: -np.log(sigmoid(r - f)),
        lambda r, f: -np.log(sigmoid(f - r)),
    ),
    "rasgan": (
        lambda r, f: -np.log(sigmoid(r - f.mean())) - np.log(1 - sigmoid(f - r.mean())),
        lambda r, f: -np.log(sigmoid(f - r.mean())) - np.log(1 - sigmoid(r - f.mean())),
    ),
}

# f-GAN, Table 2 of Nowozin et al. (2016): output activation g and conjugate f*.
F_TABLE = {
    "kl": (lambda v: v, lambda t: np.exp(t - 1)),
    "reverse_kl": (lambda v: -np.exp(-v), lambda t: -1 - np.log(-t)),
    "jensen_shannon": (
        lambda v: np.log(2) - np.log1p(np.exp(-v)),
        lambda t: -np.log(2 - np.exp(t)),
    ),
    "pearson": (lambda v: v, lambda t: t**2 / 4 + t),
    "squared_hellinger": (lambda v: 1 - np.exp(-v), lambda t: t / (1 - t)),
    "total_variation": (lambda v: 0.5 * np.tanh(v), lambda t: t),
}


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_loss_matches_its_formula(name):
    loss = adv.get(name)
    d, g = FORMULAS[name]
    np.testing.assert_allclose(loss.discriminator(R, F), d(R, F), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loss.generator(R, F), g(R, F), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("divergence", sorted(F_TABLE))
def test_f_gan_matches_table_2(divergence):
    g, conj = F_TABLE[divergence]
    loss = adv.get(f"f_{divergence}")
    expected_d = -(g(R) - conj(g(F)))  # D maximises E_P[g(v)] - E_Q[f*(g(v))]
    np.testing.assert_allclose(loss.discriminator(R, F), expected_d, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loss.generator(R, F), -g(F), rtol=1e-5, atol=1e-6)
    saddle = adv.FGAN(divergence, generator_objective="saddle")
    np.testing.assert_allclose(saddle.generator(R, F), -conj(g(F)), rtol=1e-5, atol=1e-6)


def test_gan_qp_uses_the_input_distance():
    real_x = np.ones((4, 2, 2, 1), "float32")
    fake_x = np.zeros((4, 2, 2, 1), "float32")
    loss = adv.GANQP(scale=10.0)
    t = R - F
    expected = -t + t**2 / (2 * 10.0 * 1.0)  # mean |x_r - x_f| = 1
    got = loss.discriminator(R, F, real_inputs=real_x, fake_inputs=fake_x)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    np.testing.assert_allclose(loss.generator(R, F), R - F, rtol=1e-6)
    with pytest.raises(ValueError, match="real_inputs"):
        loss.discriminator(R, F)


def test_relativistic_average_takes_the_given_mean():
    loss = adv.get("rasgan")
    # A mean over a larger (global) batch changes the result: it is really used.
    got = loss.discriminator(R, F, mean=lambda v: keras.ops.zeros(()))
    expected = softplus(-R) + softplus(F)
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_losses_serialize_and_bad_names_are_errors():
    for name in adv.NAMES:
        loss = adv.get(name)
        again = adv.get(keras.saving.serialize_keras_object(loss))
        assert type(again) is type(loss) and again.get_config() == loss.get_config()
    with pytest.raises(ValueError, match=r"unknown GAN loss 'hinj'.*hinge"):
        adv.get("hinj")
    with pytest.raises(ValueError, match="divergence must be one of"):
        adv.FGAN("chi")
    with pytest.raises(ValueError, match="scale must be positive"):
        adv.GANQP(scale=0)
