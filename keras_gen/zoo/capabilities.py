"""What a zoo model can do, said by the classes it derives from (not found out with ``hasattr``).

Callbacks, the command line and the presets dispatch on these with ``isinstance``:

- :class:`Generator`: ``generate(n, seed=None)``, ``n`` samples with no input (images
  in [0, 1] or sentences).
- :class:`LabelConditional`: a :class:`Generator` that also takes ``labels=``
  (``num_classes`` classes).
- :class:`InputConditional`: ``generate_from(inputs, seed=None)``, one output (or
  several) for each input: a second line for a first line, a title for a text.
- :class:`Autoencoding`: ``encode(x)``, ``decode(z)`` and ``reconstruct(x)``.
- :class:`LogLikelihood`: ``log_likelihood(x, num_samples=...)`` in nats per example.
- :class:`KLWeighted`: a KL term weighted by ``beta``, a float or a schedule of the
  optimizer step (what :class:`keras_gen.callbacks.KLAnnealing` installs).

The classes are mixins: they come before the Keras base class in a model's bases.

>>> from keras_gen import zoo
>>> from keras_gen.zoo.capabilities import Generator, LogLikelihood
>>> issubclass(zoo.VAE, Generator) and issubclass(zoo.VAE, LogLikelihood)
True
>>> issubclass(zoo.Seq2Seq, Generator)
False
"""

from __future__ import annotations

import warnings

import keras
from keras import ops


class Generator:
    """Samples without inputs: ``generate(n, seed=None)``."""

    def generate(self, n: int, seed: int | None = None, **kwargs):
        """``n`` samples, reproducible with ``seed``."""
        raise NotImplementedError(f"{type(self).__name__} must implement generate()")


class LabelConditional(Generator):
    """A generator of ``num_classes`` classes: ``generate(n, seed=None, labels=None)``.

    ``labels`` is an int or ``n`` ints in ``[0, num_classes)``; None draws them at random.
    A subclass may be unconditional for ``num_classes == 0`` (``VAE`` and ``CVAE`` share
    one class): :func:`is_label_conditional` tells the instance.
    """

    num_classes: int = 0


def is_label_conditional(model) -> bool:
    """Whether ``model`` generates given class labels (a :class:`LabelConditional` with classes).

    >>> from keras_gen import zoo
    >>> is_label_conditional(zoo.CVAE((28, 28, 1), num_classes=10))
    True
    >>> is_label_conditional(zoo.VAE((28, 28, 1)))
    False
    """
    return isinstance(model, LabelConditional) and int(model.num_classes) > 0


class InputConditional:
    """Outputs for given inputs: ``generate_from(inputs, seed=None, **options)``."""

    def generate_from(self, inputs, seed: int | None = None, **kwargs):
        """One output (or a list of outputs) for each of ``inputs``."""
        raise NotImplementedError(f"{type(self).__name__} must implement generate_from()")

    def generate(self, inputs, *args, **kwargs):
        """Deprecated name of :meth:`generate_from` (``generate(n)`` means n samples)."""
        warnings.warn(
            f"{type(self).__name__}.generate(inputs) is deprecated; use generate_from(inputs)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.generate_from(inputs, *args, **kwargs)


class Autoencoding:
    """``encode(x)`` -> codes, ``decode(z)`` -> data, ``reconstruct(x) = decode(encode(x))``."""

    def encode(self, x, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement encode()")

    def decode(self, z, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement decode()")

    def reconstruct(self, x, *args, **kwargs):
        """Decode the codes of ``x``."""
        return self.decode(self.encode(x, *args, **kwargs), *args, **kwargs)


class LogLikelihood:
    """``log_likelihood(x, ..., num_samples=k)``: log p(x) in nats, one per example."""

    def log_likelihood(self, x, *args, num_samples: int = 1, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement log_likelihood()")


class KLWeighted:
    """A model whose objective weights a KL term by ``beta`` (a float or a step schedule).

    Subclasses call :meth:`_init_beta` in ``__init__``, multiply their KL by
    :meth:`current_beta` and put :meth:`_beta_config` in their config.
    """

    beta: object = 1.0

    def _init_beta(self, beta) -> None:
        if isinstance(beta, dict):
            beta = keras.saving.deserialize_keras_object(beta)
        if not callable(beta) and float(beta) < 0:
            raise ValueError(f"beta must be >= 0 or a schedule; got {beta!r}")
        self.beta = beta if callable(beta) else float(beta)

    def current_beta(self):
        """The KL weight at the optimizer's current step."""
        if not callable(self.beta):
            return self.beta
        step = self.optimizer.iterations if self.optimizer is not None else 0
        return ops.cast(self.beta(step), "float32")

    def _beta_config(self):
        return keras.saving.serialize_keras_object(self.beta) if callable(self.beta) else self.beta


class FromPreset:
    """Every zoo model loads from and saves to a trained preset (see ``keras_gen.presets``).

    One implementation for all: ``VAE.from_preset(...)`` and ``DCGAN.from_preset(...)``
    differ only in the class they insist on.
    """

    @classmethod
    def from_preset(cls, name_or_path, compile: bool = True, **kwargs):
        """A trained model of this class from a preset name, folder, ``.keras`` file or URL.

        Args:
            name_or_path: what :func:`keras_gen.presets.load` takes.
            compile: compile it with its preset's recipe, so that ``fit`` continues
                training at once (the optimizer state is not shipped).
            **kwargs: ``file_hash``, ``cache_dir`` for URLs.
        """
        from keras_gen.presets import PresetError, load

        model = load(name_or_path, compile=compile, **kwargs)
        if not isinstance(model, cls):
            raise PresetError(
                f"{name_or_path} holds a {type(model).__name__}, not a {cls.__name__}; load "
                f"it with {type(model).__name__}.from_preset or keras_gen.presets.load"
            )
        return model

    def save_to_preset(self, directory, preset: str | None = None, card=None, **kwargs):
        """Write this model as a preset folder (``keras_gen.presets.save_to_preset``)."""
        from keras_gen.presets import save_to_preset

        return save_to_preset(self, directory, preset=preset, card=card, **kwargs)
