"""What the GAN benchmarks (``gan_mnist.py``, ``gan_recipes.py``) share.

keras-gen's DCGANs are built from the one registry of presets (``keras_gen.presets``,
defined in ``keras_gen/zoo/dcgan/dcgan_presets.py``): a benchmark names a variant, which is
a preset and the compile arguments changed from it, and sets only what it controls (the
filters, the latent size, the seed and the generator's EMA). Also here: MNIST in [0, 1],
its batches, the FCD of a generator's samples and the trajectory of it during training.
"""

from __future__ import annotations

import json
import time

import common
import keras
import numpy as np
import tensorflow as tf

from keras_gen import optimizers as kgo
from keras_gen import presets
from keras_gen.metrics import frechet_classifier_distance

# The benchmarks' names for keras-gen's DCGAN recipes: (registry preset, compile arguments
# changed from its recipe). The hinge and RSGAN losses are the plain recipe's game with
# another loss; "hinge_sn_ttur" is Miyato et al.'s recipe (spectral norm, two rates).
VARIANTS = {
    "non_saturating": ("dcgan-ns", {}),
    "hinge": ("dcgan-ns", {"loss": "hinge"}),
    "rsgan": ("dcgan-ns", {"loss": "rsgan"}),
    "wgan_gp": ("wgan-gp", {}),
    "hinge_sn_ttur": ("dcgan-hinge-sn", {}),
    # the non-saturating loss as keras-gen recommends it (the "dcgan" preset): with the R1
    # penalty (gamma 10) on real images (Mescheder et al. 2018)
    "ns_r1": ("dcgan", {}),
}


def recipe(variant: str) -> dict:
    """The compile arguments of ``variant``: its preset's recipe with the variant's changes."""
    name, changes = VARIANTS[variant]
    return {**presets.get(name).recipe, **changes}


def d_steps(variant: str) -> int:
    """Discriminator steps (batches read) per generator update."""
    return int(recipe(variant).get("d_steps", 1))


def learning_rates(variant: str) -> tuple[float, float]:
    """(generator's, discriminator's) learning rate of ``variant``'s recipe."""
    rates = presets.get(VARIANTS[variant][0]).learning_rates()
    return rates["g_optimizer"], rates["d_optimizer"]


def build_dcgan(variant, filters, latent_dim, seed, ema=None, image_shape=(28, 28, 1)):
    """keras-gen's DCGAN for ``variant``, compiled: the preset built with the benchmark's
    ``filters``, ``latent_dim`` and ``seed``, its recipe with the variant's changes, and the
    generator's optimizer averaged by an EMA of momentum ``ema`` (None: no EMA, whether the
    preset keeps one or not). Seed Keras (``keras.utils.set_random_seed``) first."""
    name, changes = VARIANTS[variant]
    preset = presets.get(name)
    model = preset.build(
        image_shape=tuple(image_shape), latent_dim=latent_dim, filters=tuple(filters), seed=seed
    )
    g_optimizer = dict(preset.recipe["g_optimizer"])
    if g_optimizer["class"] == "EMA":  # the benchmark decides on the EMA
        g_optimizer = dict(g_optimizer["optimizer"])
    if ema is not None:
        g_optimizer = presets.ema(g_optimizer, momentum=ema)
    preset.compile(model, g_optimizer=g_optimizer, **changes)
    return model


def has_ema(model) -> bool:
    return isinstance(getattr(model, "g_optimizer", None), kgo.EMA)


def count_params(model) -> int:
    return sum(int(np.prod(v.shape)) for v in model.trainable_weights)


def mnist_images(data_dir, train_images=None):
    """(x_train, x_test): MNIST as float32 images (n, 28, 28, 1) in [0, 1]; the first
    ``train_images`` training images."""
    x_train, x_test = common.load_mnist(data_dir)
    x_train = (x_train[:train_images, ..., None] / 255.0).astype("float32")
    return x_train, (x_test[..., None] / 255.0).astype("float32")


def dataset(x, batch_size, seed=None, repeat=False):
    """Batches of ``x`` (the last partial one dropped), shuffled with ``seed`` unless it is
    None, repeated forever with ``repeat``."""
    ds = tf.data.Dataset.from_tensor_slices(x)
    if seed is not None:
        ds = ds.shuffle(len(x), seed=seed)
    if repeat:
        ds = ds.repeat()
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def sample_fcd(model, samples, x_test, classifier, ema=False):
    """(images, FCD to ``x_test``) of ``samples`` generated images (seed 0), from the
    generator or, with ``ema``, from its EMA."""
    images = model.generate(samples, seed=0, **({"ema": True} if ema else {}))
    return images, frechet_classifier_distance(images, x_test, classifier)


class FCDTrajectory(keras.callbacks.Callback):
    """FCD of ``samples`` images (seed 0) to the test set every ``every`` epochs (and at the
    end), of the generator and, when the model keeps one, of its EMA.

    With ``state_path``, the trajectory and the training time are kept in that JSON file
    (``save_state``, after the epoch's backup) and a resumed run starts from them."""

    def __init__(self, classifier, x_test, samples, every, epochs, state_path=None):
        super().__init__()
        self.classifier, self.x_test = classifier, x_test
        self.samples, self.every, self.epochs = samples, every, epochs
        self.rows = []  # (epoch, fcd, fcd_ema or None)
        self.seconds = 0.0  # spent evaluating in this process
        self.train_seconds = 0.0  # training time of earlier processes (resumed runs)
        self.images = self.ema_images = None
        self.state_path = state_path
        if state_path is not None and state_path.exists():
            state = json.loads(state_path.read_text())
            self.rows = [tuple(r) for r in state["rows"]]
            self.train_seconds = state["train_seconds"]

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()

    def elapsed_train_seconds(self):
        """Training time so far, over every process of a resumed run, evaluations excluded."""
        return self.train_seconds + time.perf_counter() - self.started - self.seconds

    def measure(self, ema):
        return sample_fcd(self.model, self.samples, self.x_test, self.classifier, ema=ema)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every and epoch + 1 != self.epochs:
            return
        t0 = time.perf_counter()
        self.images, fcd = self.measure(ema=False)
        self.ema_images, fcd_ema = (None, None)
        if has_ema(self.model):
            self.ema_images, fcd_ema = self.measure(ema=True)
        self.rows.append((epoch + 1, fcd, fcd_ema))
        self.seconds += time.perf_counter() - t0
        print(f"  epoch {epoch + 1}: FCD {fcd:.2f}" + (f", EMA {fcd_ema:.2f}" if fcd_ema else ""))

    def best_images(self):
        """The last evaluation's samples, of the EMA generator where the model keeps one
        (sampled again when the last evaluation ran in an earlier process)."""
        if self.images is None:  # finished in an earlier process
            self.images = self.measure(ema=False)[0]
            if has_ema(self.model):
                self.ema_images = self.measure(ema=True)[0]
        return self.ema_images if self.ema_images is not None else self.images

    def save_state(self):
        """Write the trajectory and train time (call after BackupAndRestore's epoch backup)."""
        if self.state_path is not None:
            state = {"rows": self.rows, "train_seconds": self.elapsed_train_seconds()}
            self.state_path.write_text(json.dumps(state))


class Checkpointing(keras.callbacks.Callback):
    """After the epoch's backup: save the trajectory's state; stop once past ``deadline``."""

    def __init__(self, trajectory, deadline):
        super().__init__()
        self.trajectory, self.deadline = trajectory, deadline

    def on_epoch_end(self, epoch, logs=None):
        self.trajectory.save_state()
        if self.deadline is not None and time.perf_counter() > self.deadline:
            self.model.stop_training = True
