"""Adversarial losses: each is a pair of per-example objectives, one per player, in float32.

A loss object maps the discriminator's raw outputs (logits or critic values) on a batch
of real and of generated examples to the discriminator's loss and to the generator's loss,
one value per example, to be MINIMISED. Real example ``i`` is paired with generated
example ``i`` (the relativistic losses compare them). Losses that need a batch mean (the
relativistic average losses) take it as ``mean=``; the training core passes a mean over
the GLOBAL batch, so that they mean the same on one device and on N replicas.

Selectable by name in ``AdversarialModel.compile(loss=...)`` (see :data:`NAMES`) or as
objects, e.g. ``FGAN("pearson")``.

>>> import numpy as np
>>> loss = get("hinge")
>>> real, fake = np.array([2.0, 0.5]), np.array([-2.0, 0.0])
>>> loss.discriminator(real, fake).numpy().tolist()  # relu(1 - r) + relu(1 + f)
[0.0, 1.5]
>>> loss.generator(real, fake).numpy().tolist()  # -f
[2.0, -0.0]
"""

from __future__ import annotations

import math
from collections.abc import Callable

import keras
from keras import ops

LOG2 = math.log(2.0)


def _flat(logits):
    """Raw discriminator outputs as float32 of shape (batch,)."""
    logits = ops.cast(logits, "float32")
    return ops.reshape(logits, (ops.shape(logits)[0],))


class GANLoss:
    """Base class: ``discriminator(real, fake)`` and ``generator(real, fake)``, per example.

    ``real`` and ``fake`` are the discriminator's raw outputs, shape ``(batch,)`` or
    ``(batch, 1)``. ``needs_real_for_generator`` says whether ``generator`` reads ``real``
    (the training core then evaluates the discriminator on real data in the generator's
    step too). ``needs_inputs`` says whether the loss also reads the discriminator's inputs
    (``real_inputs``/``fake_inputs``: tensors or nested structures of them).
    """

    name = "gan_loss"
    needs_real_for_generator = False
    needs_inputs = False

    def discriminator(self, real, fake, *, mean: Callable = ops.mean, **inputs):
        raise NotImplementedError

    def generator(self, real, fake, *, mean: Callable = ops.mean, **inputs):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _register(cls):
    return keras.saving.register_keras_serializable(package="keras_gen")(cls)


@_register
class Minimax(GANLoss):
    """The original game (Goodfellow et al. 2014): G minimises log(1 - D(G(z))).

    Saturates early in training (the generator's gradient vanishes when D wins); kept as
    the reference point. D: ``softplus(-r) + softplus(f)``; G: ``-softplus(f)``.
    """

    name = "minimax"

    def discriminator(self, real, fake, *, mean=ops.mean, **inputs):
        return ops.softplus(-_flat(real)) + ops.softplus(_flat(fake))

    def generator(self, real, fake, *, mean=ops.mean, **inputs):
        return -ops.softplus(_flat(fake))


@_register
class NonSaturating(Minimax):
    """The non-saturating game (Goodfellow et al. 2014): G maximises log D(G(z)).

    D as in :class:`Minimax`; G: ``softplus(-f)``.
    """

    name = "non_saturating"

    def generator(self, real, fake, *, mean=ops.mean, **inputs):
        return ops.softplus(-_flat(fake))


@_register
class Wasserstein(GANLoss):
    """WGAN (Arjovsky et al. 2017): the critic maximises E[D(x)] - E[D(G(z))].

    Needs a Lipschitz critic: add a gradient penalty (``compile(gradient_penalty=10)``,
    WGAN-GP) or spectral normalization. D: ``f - r``; G: ``-f``.
    """

    name = "wasserstein"

    def discriminator(self, real, fake, *, mean=ops.mean, **inputs):
        return _flat(fake) - _flat(real)

    def generator(self, real, fake, *, mean=ops.mean, **inputs):
        return -_flat(fake)


@_register
class Hinge(GANLoss):
    """Hinge loss (Lim & Ye 2017; SAGAN, BigGAN). D: ``relu(1 - r) + relu(1 + f)``; G: ``-f``."""

    name = "hinge"

    def discriminator(self, real, fake, *, mean=ops.mean, **inputs):
        return ops.relu(1.0 - _flat(real)) + ops.relu(1.0 + _flat(fake))

    def generator(self, real, fake, *, mean=ops.mean, **inputs):
        return -_flat(fake)


@_register
class LeastSquares(GANLoss):
    """LSGAN (Mao et al. 2017) with targets a=0 (fake), b=1 (real), c=1 (G's target).

    D: ``((r - 1)^2 + f^2) / 2``; G: ``(f - 1)^2 / 2``.
    """

    name = "least_squares"

    def discriminator(self, real, fake, *, mean=ops.mean, **inputs):
        return 0.5 * (ops.square(_flat(real) - 1.0) + ops.square(_flat(fake)))

    def generator(self, real, fake, *, mean=ops.mean, **inputs):
        return 0.5 * ops.square(_flat(fake) - 1.0)


@_register
class Relativistic(GANLoss):
    """RSGAN (Jolicoeur-Martineau 2018): D says how much more real x_r is than x_f.

    Pairs real example i with generated example i. D: ``softplus(-(r - f))``;
    G: ``softplus(-(f - r))``.
    """

    name = "rsgan"
    needs_real_for_generator = True

    def discriminator(self, real, fake, *, mean=ops.mean, **inputs):
        return ops.softplus(_flat(fake) - _flat(real))

    def generator(self, real, fake, *, mean=ops.mean, **inputs):
        return ops.softplus(_flat(real) - _flat(fake))


@_register
class RelativisticAverage(GANLoss):
    """RaSGAN (Jolicoeur-Martineau 2018): each side against the other side's batch mean.

    D: ``softplus(-(r - mean(f))) + softplus(f - mean(r))``; G: the same with real and
    fake swapped. ``mean`` is over the global batch under ``tf.distribute``.
    """

    name = "rasgan"
    needs_real_for_generator = True

    def _pair(self, a, b, mean):
        a, b = _flat(a), _flat(b)
        return ops.softplus(mean(b) - a) + ops.softplus(b - mean(a))

    def discriminator(self, real, fake, *, mean=ops.mean, **inputs):
        return self._pair(real, fake, mean)

    def generator(self, real, fake, *, mean=ops.mean, **inputs):
        return self._pair(fake, real, mean)


@_register
class GANQP(GANLoss):
    """GAN-QP (Su 2018): a quadratic-potential divergence, no Lipschitz constraint needed.

    With ``t = r - f`` and ``d = scale * mean|x_r - x_f|`` (the L1 distance of the paired
    inputs, as in the paper's code, scale 10): D: ``-t + t^2 / (2 d)``; G: ``t`` (only its
    ``-f`` part has a gradient).

    Args:
        scale: the positive factor of the inputs' L1 distance in ``d``; default 10.0
            (the paper's code).

    Example:

    >>> import numpy as np
    >>> loss = GANQP(scale=1.0)
    >>> real, fake = np.array([1.0]), np.array([0.0])  # t = 1
    >>> x_real, x_fake = np.ones((1, 4)), np.zeros((1, 4))  # d = 1 * mean|1 - 0| = 1
    >>> float(loss.discriminator(real, fake, real_inputs=x_real, fake_inputs=x_fake)[0])
    -0.5
    """

    name = "gan_qp"
    needs_real_for_generator = True
    needs_inputs = True

    def __init__(self, scale: float = 10.0):
        if float(scale) <= 0:
            raise ValueError(f"GANQP: scale must be positive; got {scale!r}")
        self.scale = float(scale)

    def discriminator(self, real, fake, *, mean=ops.mean, real_inputs=None, fake_inputs=None):
        if real_inputs is None or fake_inputs is None:
            raise ValueError("GANQP.discriminator needs real_inputs= and fake_inputs=")
        t = _flat(real) - _flat(fake)
        distance = self.scale * _mean_abs_difference(real_inputs, fake_inputs)
        return -t + 0.5 * ops.square(t) / (distance + 1e-8)

    def generator(self, real, fake, *, mean=ops.mean, **inputs):
        return _flat(real) - _flat(fake)

    def get_config(self) -> dict:
        return {"scale": self.scale}


def _mean_abs_difference(a, b):
    """Per-example mean |a - b| over all features of all (nested) components."""
    leaves_a, leaves_b = keras.tree.flatten(a), keras.tree.flatten(b)
    total, count = 0.0, 0
    for u, v in zip(leaves_a, leaves_b):
        d = ops.abs(ops.cast(u, "float32") - ops.cast(v, "float32"))
        d = ops.reshape(d, (ops.shape(d)[0], -1))
        total = total + ops.sum(d, axis=-1)
        count += int(d.shape[-1])
    return total / count


# -- f-GAN (Nowozin et al. 2016), Table 2 ------------------------------------------------
#
# For each divergence: the output activation g_f(v) and f*(g_f(v)), the conjugate at the
# activation, written in closed forms that stay finite (e.g. -log(2 - exp(g(v))) for
# Jensen-Shannon is softplus(v) - log 2).

F_DIVERGENCES: dict[str, tuple[Callable, Callable]] = {
    "kl": (lambda v: v, lambda v: ops.exp(v - 1.0)),
    "reverse_kl": (lambda v: -ops.exp(-v), lambda v: v - 1.0),
    "jensen_shannon": (lambda v: LOG2 - ops.softplus(-v), lambda v: ops.softplus(v) - LOG2),
    "pearson": (lambda v: v, lambda v: 0.25 * ops.square(v) + v),
    "squared_hellinger": (lambda v: 1.0 - ops.exp(-v), lambda v: ops.exp(v) - 1.0),
    "total_variation": (lambda v: 0.5 * ops.tanh(v), lambda v: 0.5 * ops.tanh(v)),
}


@_register
class FGAN(GANLoss):
    """f-GAN (Nowozin et al. 2016): a GAN for the f-divergence ``divergence``.

    The variational bound ``F = E_real[g(v)] - E_fake[f*(g(v))]`` with the paper's output
    activation ``g`` (Table 2); D maximises it. The generator minimises
    ``-g(v_fake)`` (``generator_objective="alternative"``, what the paper trains with) or
    ``-f*(g(v_fake))`` (``"saddle"``, the plain saddle point).

    Args:
        divergence: the f-divergence, one of "kl" (default), "reverse_kl",
            "jensen_shannon", "pearson", "squared_hellinger", "total_variation"; the
            loss's name is ``"f_" + divergence``.
        generator_objective: "alternative" (default) or "saddle", as above.

    Example:

    >>> import numpy as np
    >>> loss = FGAN("pearson")
    >>> float(loss.discriminator(np.array([0.0]), np.array([2.0]))[0])  # -(0 - (4/4 + 2))
    3.0
    """

    def __init__(self, divergence: str = "kl", generator_objective: str = "alternative"):
        if divergence not in F_DIVERGENCES:
            raise ValueError(
                f"FGAN: divergence must be one of {sorted(F_DIVERGENCES)}; got {divergence!r}"
            )
        if generator_objective not in ("alternative", "saddle"):
            raise ValueError(
                "FGAN: generator_objective must be 'alternative' or 'saddle'; "
                f"got {generator_objective!r}"
            )
        self.divergence = divergence
        self.generator_objective = generator_objective
        self.activation, self.conjugate = F_DIVERGENCES[divergence]

    @property
    def name(self) -> str:
        return f"f_{self.divergence}"

    def discriminator(self, real, fake, *, mean=ops.mean, **inputs):
        return self.conjugate(_flat(fake)) - self.activation(_flat(real))

    def generator(self, real, fake, *, mean=ops.mean, **inputs):
        if self.generator_objective == "saddle":
            return -self.conjugate(_flat(fake))
        return -self.activation(_flat(fake))

    def get_config(self) -> dict:
        return {"divergence": self.divergence, "generator_objective": self.generator_objective}


_BY_NAME: dict[str, Callable[[], GANLoss]] = {
    "minimax": Minimax,
    "non_saturating": NonSaturating,
    "wasserstein": Wasserstein,
    "hinge": Hinge,
    "least_squares": LeastSquares,
    "rsgan": Relativistic,
    "rasgan": RelativisticAverage,
    "gan_qp": GANQP,
    **{f"f_{name}": (lambda name=name: FGAN(name)) for name in F_DIVERGENCES},
}
NAMES = tuple(_BY_NAME)


def get(identifier) -> GANLoss:
    """A :class:`GANLoss` from a name in :data:`NAMES`, a loss object, or a serialized config.

    >>> get("f_jensen_shannon")
    FGAN(divergence='jensen_shannon', generator_objective='alternative')
    """
    if isinstance(identifier, GANLoss):
        return identifier
    if isinstance(identifier, dict):
        return keras.saving.deserialize_keras_object(identifier)
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    raise ValueError(f"unknown GAN loss {identifier!r}; known names: {', '.join(NAMES)}")
