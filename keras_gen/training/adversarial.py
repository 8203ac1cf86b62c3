"""The training core for two players: a ``keras.Model`` whose adversarial step is written once.

A zoo GAN only says what the game is (:meth:`AdversarialModel.game`: what the
discriminator sees as real and as generated, plus any extra terms of the generator's
player) and how the discriminator scores it (:meth:`AdversarialModel.discriminate`).
This class owns the rest: the alternating updates with a configurable step ratio, the
single-loss mode, loss scaling per player and both optimizers' state in ``.keras`` files
and in ``BackupAndRestore`` (:mod:`keras_gen.training.players`). The gradient penalties
are functions of :mod:`keras_gen.losses.penalties`; the trackers, the reduction by the
GLOBAL batch size and the build under ``tf.distribute`` are the shared
:class:`~keras_gen.training.core.TrainingCore`.
"""

from __future__ import annotations

import contextlib
from typing import NamedTuple

import keras
import tensorflow as tf
from keras import ops

from keras_gen.layers.seeding import SavesSeedState
from keras_gen.losses import adversarial as gan_losses
from keras_gen.losses import penalties
from keras_gen.training import backend
from keras_gen.training.core import TrainingCore
from keras_gen.training.players import PlayerOptimizers, averaging_optimizer, player_optimizers

__all__ = ["AdversarialModel", "Game", "PlayerOptimizers"]


class Game(NamedTuple):
    """One round of the game, from :meth:`AdversarialModel.game`.

    ``real`` and ``fake`` are what the discriminator scores (tensors or nested
    structures, e.g. ``(x, E(x))`` and ``(G(z), z)`` for ALI); ``terms`` are extra
    per-example terms of the generator's player (e.g. a reconstruction loss), reported
    under their names and ADDED to the generator's objective.
    """

    real: object
    fake: object
    terms: dict | None = None


class AdversarialModel(SavesSeedState, TrainingCore):
    """Base class of two-player models (GANs, adversarial autoencoders, ALI/BiGAN).

    Subclasses implement:

    - ``generator_variables`` / ``discriminator_variables``: each player's variables;
    - ``game(x, y=None, training=False, for_generator=False) -> Game``: what the
      discriminator scores as real and as generated (and, when ``for_generator``, the
      generator player's extra terms);
    - ``discriminate(inputs, y=None, training=False)``: raw scores, shape ``(batch,)``;
    - ``symmetric_generator = True`` (class attribute) for ALI/BiGAN-style games where the
      generator's player also moves the "real" side: its loss is then the discriminator's
      loss with real and generated swapped.

    ``compile(g_optimizer, d_optimizer, loss=..., d_steps=1, g_steps=1)`` trains the two
    players alternately: each train step splits its batch into ``d_steps`` slices (real
    example ``j`` goes to slice ``j % d_steps``), takes one discriminator step per slice,
    then ``g_steps`` generator steps (on the same slices, cycled). So WGAN-GP's 5:1 is
    ``d_steps=5`` with a batch 5 times the per-step batch. ``compile(optimizer=...)``
    instead trains the whole game as ONE loss with ONE optimizer (see :meth:`compile`).

    Reported terms: ``d_loss``, ``g_loss``, ``d_real`` and ``d_fake`` (mean raw scores),
    each active regulariser and each extra term of the game.
    """

    symmetric_generator = False
    adversarial_weight = 1.0  # the generator player's weight on g_loss (vs its extra terms)

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self._penalty_seeds = keras.random.SeedGenerator(seed, name="penalty_seeds")
        self._game_config: dict = {}

    # -- what subclasses implement ----------------------------------------------------------

    @property
    def generator_variables(self) -> list:
        raise NotImplementedError

    @property
    def discriminator_variables(self) -> list:
        raise NotImplementedError

    def game(self, x, y=None, training: bool = False, for_generator: bool = False) -> Game:
        raise NotImplementedError

    def discriminate(self, inputs, y=None, training: bool = False):
        raise NotImplementedError

    # -- compile --------------------------------------------------------------------------

    def compile(
        self,
        g_optimizer=None,
        d_optimizer=None,
        loss="non_saturating",
        *,
        d_steps: int = 1,
        g_steps: int = 1,
        gradient_penalty: float = 0.0,
        r1_penalty: float = 0.0,
        optimizer=None,
        generator_weight: float = 1.0,
        **kwargs,
    ):
        """Configure the game.

        Args:
            g_optimizer, d_optimizer: each player's optimizer (any Keras optimizer or
                keras-gen wrapper; ``keras_gen.optimizers.EMA`` on the generator keeps an
                EMA generator for sampling). Default Adam(2e-4, beta_1=0.5) each.
            loss: a name in ``keras_gen.losses.adversarial.NAMES`` or a ``GANLoss``.
            d_steps, g_steps: discriminator and generator steps per train step.
            gradient_penalty: weight of the WGAN-GP penalty ``(|grad D(x_hat)| - 1)^2`` at
                ``x_hat = u x + (1 - u) G(z)``, ``u ~ U[0, 1]`` per example.
            r1_penalty: gamma of the R1 penalty ``gamma / 2 |grad D(x)|^2`` on real data.
            optimizer: train the game as ONE loss with ONE optimizer instead (then leave
                g_optimizer/d_optimizer unset): ``L_D(x, sg(G(z))) + generator_weight *
                [L_G(G(z)) - L_G(sg(G(z)))]``. The bracket is 0 in value and has no gradient
                for D, so D follows L_D and G follows ``generator_weight * L_G``, both
                gradients taken at the same parameters (simultaneous, not alternating).
            generator_weight: lambda of the single-loss mode.
            **kwargs: passed to ``keras.Model.compile`` (e.g. ``steps_per_execution``).
        """
        self._check_compile_arguments(
            kwargs,
            (g_optimizer, d_optimizer),
            optimizer,
            (d_steps, g_steps),
            (gradient_penalty, r1_penalty),
        )
        self.gan_loss = gan_losses.get(loss)
        self._game_config = {
            "loss": keras.saving.serialize_keras_object(self.gan_loss),
            "d_steps": int(d_steps),
            "g_steps": int(g_steps),
            "gradient_penalty": float(gradient_penalty),
            "r1_penalty": float(r1_penalty),
            "generator_weight": float(generator_weight),
        }
        self.single_loss = optimizer is not None
        super().compile(
            optimizer=self._make_optimizer(g_optimizer, d_optimizer, optimizer),
            auto_scale_loss=self.single_loss,
            **kwargs,
        )
        self._compile_kwargs = {
            k: v for k, v in kwargs.items() if k in ("steps_per_execution", "run_eagerly")
        }
        self.set_term_names(self._reported_term_names())

    def _check_compile_arguments(self, kwargs, players, optimizer, steps, weights) -> None:
        for key in ("loss_weights", "metrics", "weighted_metrics"):
            if kwargs.get(key):
                raise ValueError(f"{type(self).__name__}.compile does not take {key}=")
        (d_steps, g_steps), (gp, r1) = steps, weights
        if int(d_steps) < 1 or int(g_steps) < 1:
            raise ValueError(f"d_steps and g_steps must be >= 1; got {d_steps}, {g_steps}")
        if gp < 0 or r1 < 0:
            raise ValueError(
                f"penalty weights must be >= 0; got gradient_penalty={gp}, r1_penalty={r1}"
            )
        if optimizer is None:
            return
        if any(p is not None for p in players):
            raise ValueError(
                "pass either optimizer= (single-loss mode) or g_optimizer=/d_optimizer= "
                "(two players), not both"
            )
        if int(d_steps) != 1 or int(g_steps) != 1:
            raise ValueError("the single-loss mode takes one step for both players: d_steps=1")

    def _make_optimizer(self, g_optimizer, d_optimizer, optimizer):
        """``model.optimizer``: the single loss's optimizer, or both players' together."""
        if optimizer is not None:
            return keras.optimizers.get(optimizer)
        players = player_optimizers(
            g_optimizer, d_optimizer, loss_scaling=self.dtype_policy.name == "mixed_float16"
        )
        players.attach(self)
        return players

    def _reported_term_names(self) -> list[str]:
        names = ["d_loss", "g_loss", "d_real", "d_fake"]
        if self._game_config["gradient_penalty"]:
            names.append("gradient_penalty")
        if self._game_config["r1_penalty"]:
            names.append("r1")
        names += list(self.extra_term_names)
        if self.single_loss:
            names.append("loss")
        return names

    @property
    def extra_term_names(self) -> tuple[str, ...]:
        """Names of the extra generator terms :meth:`game` returns (subclasses)."""
        return ()

    @property
    def g_optimizer(self):
        """The generator player's optimizer."""
        return self.optimizer.generator

    @property
    def d_optimizer(self):
        """The discriminator player's optimizer."""
        return self.optimizer.discriminator

    def get_compile_config(self):
        if not self.compiled:
            return {}
        config = dict(self._game_config, **self._compile_kwargs)
        if self.single_loss:
            config["optimizer"] = keras.saving.serialize_keras_object(self.optimizer)
        else:
            config["g_optimizer"] = keras.saving.serialize_keras_object(self.g_optimizer)
            config["d_optimizer"] = keras.saving.serialize_keras_object(self.d_optimizer)
        return config

    def compile_from_config(self, config):
        config = {
            k: keras.saving.deserialize_keras_object(v) if isinstance(v, dict) else v
            for k, v in config.items()
        }
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    # -- the steps ------------------------------------------------------------------------

    def interpolation_weights(self, real):
        """The gradient penalty's weights ``u ~ U[0, 1]``, one per example (float32).

        Drawn from the model's seed generator, different on every replica.
        """
        first = keras.tree.flatten(real)[0]
        return backend.stateless_uniform((ops.shape(first)[0],), self._penalty_seeds)

    def _input_gradient_sq_norm(self, inputs, y):
        critic = lambda v: self.discriminate(v, y, training=True)  # noqa: E731
        return backend.input_gradient_sq_norm(critic, inputs)

    def _discriminator_terms(self, real, fake, y):
        """Per-example discriminator terms and its objective, with real and fake fixed."""
        real = keras.tree.map_structure(ops.stop_gradient, real)
        fake = keras.tree.map_structure(ops.stop_gradient, fake)
        r = self.discriminate(real, y, training=True)
        f = self.discriminate(fake, y, training=True)
        d_loss = self.gan_loss.discriminator(
            r, f, mean=self.global_mean, real_inputs=real, fake_inputs=fake
        )
        terms = {"d_loss": d_loss, "d_real": r, "d_fake": f}
        objective = d_loss
        weight = self._game_config["gradient_penalty"]
        if weight:
            mixed = penalties.interpolate(real, fake, self.interpolation_weights(real))
            terms["gradient_penalty"] = penalties.gradient_penalty(
                self._input_gradient_sq_norm(mixed, y)
            )
            objective = objective + weight * terms["gradient_penalty"]
        gamma = self._game_config["r1_penalty"]
        if gamma:
            terms["r1"] = self._input_gradient_sq_norm(real, y)  # reported without gamma / 2
            objective = objective + penalties.r1_penalty(terms["r1"], gamma)
        return terms, objective

    def _generator_terms(self, game: Game, y):
        f = self.discriminate(game.fake, y, training=True)
        needs_real = self.symmetric_generator or self.gan_loss.needs_real_for_generator
        r = self.discriminate(game.real, y, training=True) if needs_real else None
        if self.symmetric_generator:  # swap the labels: fool D on both sides
            g_loss = self.gan_loss.discriminator(
                f, r, mean=self.global_mean, real_inputs=game.fake, fake_inputs=game.real
            )
        else:
            g_loss = self.gan_loss.generator(
                r, f, mean=self.global_mean, real_inputs=game.real, fake_inputs=game.fake
            )
        terms = {"g_loss": g_loss}
        objective = self.adversarial_weight * g_loss
        for name, value in (game.terms or {}).items():
            terms[name] = ops.cast(value, "float32")
            objective = objective + terms[name]
        return terms, objective

    def _player_step(self, optimizer, variables, terms_fn, before_update=None):
        with tf.GradientTape() as tape:
            terms, objective = terms_fn()
            loss = optimizer.scale_loss(self.global_batch_share(objective))
        grads = tape.gradient(loss, variables)
        if before_update is not None:
            before_update()
        optimizer.apply(grads, variables)
        return terms

    def before_generator_update(self) -> None:
        """Called in each generator step after its gradients, before they are applied.

        Subclasses keep state of the generator as it was before the step here (e.g. the
        lagged copy of the variational-inference regulariser).
        """

    def _d_step(self, x, y):
        game = self.game(x, y, training=True, for_generator=False)
        return self._player_step(
            self.d_optimizer,
            self.discriminator_variables,
            lambda: self._discriminator_terms(game.real, game.fake, y),
        )

    def _g_step(self, x, y):
        return self._player_step(
            self.g_optimizer,
            self.generator_variables,
            lambda: self._generator_terms(self.game(x, y, training=True, for_generator=True), y),
            self.before_generator_update,
        )

    def _single_step(self, x, y):
        def terms_fn():
            game = self.game(x, y, training=True, for_generator=True)
            d_terms, d_objective = self._discriminator_terms(game.real, game.fake, y)
            g_terms, g_objective = self._generator_terms(game, y)
            frozen = Game(
                keras.tree.map_structure(ops.stop_gradient, game.real),
                keras.tree.map_structure(ops.stop_gradient, game.fake),
                {k: ops.stop_gradient(v) for k, v in (game.terms or {}).items()},
            )
            _, g_frozen = self._generator_terms(frozen, y)
            weight = self._game_config["generator_weight"]
            objective = d_objective + weight * (g_objective - g_frozen)
            return {**d_terms, **g_terms, "loss": d_objective + weight * g_objective}, objective

        return self._player_step(self.optimizer, self.trainable_variables, terms_fn)

    def train_step(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        x, y = self.checked_batch(x, y)
        if self.single_loss:
            self.update_terms(self._single_step(x, y))
            return self.step_logs()
        d_steps, g_steps = self._game_config["d_steps"], self._game_config["g_steps"]
        slices = [_slice(x, y, i, d_steps) for i in range(d_steps)]
        for xi, yi in slices:
            self.update_terms(self._d_step(xi, yi))
        for j in range(g_steps):
            self.update_terms(self._g_step(*slices[j % d_steps]))
        backend.sync_assign([self.optimizer.iterations], [self.optimizer.iterations + 1])
        return self.step_logs()

    def test_step(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        x, y = self.checked_batch(x, y)
        game = self.game(x, y, training=False, for_generator=True)
        d_terms, _ = self._discriminator_terms(game.real, game.fake, y)
        g_terms, _ = self._generator_terms(game, y)
        terms = {**d_terms, **g_terms}
        if self.single_loss:
            w = self._game_config["generator_weight"]
            terms["loss"] = d_terms["d_loss"] + w * g_terms["g_loss"]
        self.update_terms(terms)
        return self.step_logs()

    def built_without_data(self) -> bool:
        # The networks are built in __init__; under a strategy Keras would otherwise trace
        # a symbolic train step on the replica MEAN of the first batch.
        return True

    # -- sampling with the EMA generator ----------------------------------------------------

    @contextlib.contextmanager
    def ema_generator(self):
        """Context manager: the generator holds its EMA weights inside the block.

        Needs ``keras_gen.optimizers.EMA`` around the generator's optimizer.
        """
        with averaging_optimizer(self.g_optimizer).averaged_weights():
            yield

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def _slice(x, y, i: int, n: int):
    """Examples i, i+n, i+2n, ... of x (and y): slice i of n (all of them when n is 1)."""
    if n == 1:
        return x, y

    def take(t):
        return t[i::n]

    return keras.tree.map_structure(take, x), (
        None if y is None else keras.tree.map_structure(take, y)
    )
