"""Behaviour of keras_gen.callbacks: image grids, sample and interpolation pictures, KL annealing."""

import itertools
import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_gen.callbacks import (
    KLAnnealing,
    KLWarmup,
    LatentInterpolation,
    SampleGrid,
    image_grid,
    interpolate,
    save_image_grid,
)
from keras_gen.zoo import CVAE, VAE, Autoencoder

SHAPE = (8, 8, 1)


def _data(n=16, shape=SHAPE, seed=0):
    return np.random.default_rng(seed).random((n, *shape), dtype="float32")


def _vae(**kwargs):
    return VAE(SHAPE, latent_dim=2, hidden_units=(16,), seed=0, **kwargs)


def _png(path):
    with Image.open(path) as image:
        return image.mode, image.size, np.asarray(image)


def _as_hwc(pixels):
    return pixels[..., None] if pixels.ndim == 2 else pixels


# -- image_grid ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "ncols", "pad", "expected"),
    [
        (10, 4, 2, (3 * 8 + 2 * 2, 4 * 6 + 3 * 2)),
        (16, None, 2, (4 * 8 + 3 * 2, 4 * 6 + 3 * 2)),  # ceil(sqrt(16)) = 4 columns
        (5, None, 0, (2 * 8, 3 * 6)),  # ceil(sqrt(5)) = 3 columns, 2 rows
        (1, 7, 3, (8, 6)),  # one image: no padding, ncols clipped to n
        (3, 3, 1, (8, 3 * 6 + 2)),
    ],
)
def test_image_grid_shape_arithmetic(n, ncols, pad, expected):
    grid = image_grid(np.zeros((n, 8, 6, 1), "float32"), ncols=ncols, pad=pad)
    assert grid.shape == (*expected, 1)
    assert grid.dtype == np.uint8


def test_image_grid_places_images_and_padding():
    images = np.stack([np.full((4, 5, 3), v, "float32") for v in (0.0, 0.5, 1.0)])
    grid = image_grid(images, ncols=2, pad=1, pad_value=0.0)
    assert grid.shape == (4 + 1 + 4, 5 + 1 + 5, 3)
    assert (grid[:4, :5] == 0).all()
    assert (grid[:4, 6:] == 128).all()  # 0.5 -> round(127.5)
    assert (grid[5:, :5] == 255).all()
    assert (grid[4, :] == 0).all() and (grid[:, 5] == 0).all()  # padding
    assert (grid[5:, 6:] == 0).all()  # the empty cell gets pad_value
    # Out-of-range floats are clipped, (n, H, W) gray input gets one channel, uint8 is kept.
    assert image_grid(np.full((2, 3, 3), 7.0)).max() == 255
    assert image_grid(np.zeros((2, 3, 3))).shape[-1] == 1
    assert image_grid(np.full((1, 2, 2, 1), 9, np.uint8)).max() == 9


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((4, 10)),
        np.zeros((2, 4, 4, 2)),
        np.zeros((0, 4, 4, 1)),
        np.zeros((2, 3, 3), "int64"),
    ],
)
def test_image_grid_rejects_non_images(bad):
    with pytest.raises(ValueError, match="images"):
        image_grid(bad)


@pytest.mark.parametrize(("channels", "mode"), [(1, "L"), (3, "RGB")])
def test_saved_grid_is_a_png_of_the_grid(tmp_path, channels, mode):
    images = np.random.default_rng(1).random((6, 8, 6, channels), dtype="float32") * 0.5
    path = save_image_grid(tmp_path / "sub" / "grid.png", images, ncols=3)
    read_mode, size, pixels = _png(path)
    grid = image_grid(images, ncols=3)
    assert read_mode == mode
    assert size == (grid.shape[1], grid.shape[0])  # Pillow reports (width, height)
    # Exactly the grid: save_img's min/max stretching is off.
    np.testing.assert_array_equal(_as_hwc(pixels), grid)
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["grid.png"]  # no temp left


# -- SampleGrid --------------------------------------------------------------------------


def test_sample_grid_files_epochs_and_fixed_latents(tmp_path):
    x = _data()
    vae = _vae()
    vae.compile(optimizer=keras.optimizers.SGD(0.0))  # weights never change
    out = tmp_path / "new" / "dir"
    grid = SampleGrid(out, every=2, n=9, seed=3, reconstruct=x[:5])
    vae.fit(x, epochs=5, batch_size=8, verbose=0, callbacks=[grid])

    names = [p.rsplit("/", 1)[-1] for p in grid.paths]
    assert names == [
        "samples_epoch_002.png",
        "reconstructions_epoch_002.png",
        "samples_epoch_004.png",
        "reconstructions_epoch_004.png",
        "samples_final.png",
        "reconstructions_final.png",
    ]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)

    # Same latents every time: an unchanged model gives identical pictures, and they are
    # the grid of model.generate(n, seed).
    _, size, first = _png(out / "samples_epoch_002.png")
    _, _, second = _png(out / "samples_epoch_004.png")
    np.testing.assert_array_equal(first, second)
    expected = image_grid(vae.generate(9, seed=3))
    assert size == (3 * 8 + 2 * 2, 3 * 8 + 2 * 2)
    np.testing.assert_array_equal(_as_hwc(first), expected)

    # Reconstructions: 5 images, 3 per row -> originals row, reconstructions row, twice.
    _, size, rec = _png(out / "reconstructions_epoch_004.png")
    assert size == (3 * 8 + 2 * 2, 4 * 8 + 3 * 2)
    rec = _as_hwc(rec)
    originals = image_grid(x[:3], ncols=3)
    recon = image_grid(vae.reconstruct(x[:3]), ncols=3)
    np.testing.assert_array_equal(rec[:8], originals)
    np.testing.assert_array_equal(rec[10:18], recon)
    np.testing.assert_array_equal(rec[20:28, :8], image_grid(x[3:4]))
    assert (rec[20:28, 20:] == 255).all()  # the empty cell of the last original row


def test_sample_grid_trained_model_changes_pictures(tmp_path):
    x = _data()
    vae = _vae()
    vae.compile(optimizer=keras.optimizers.Adam(0.05))
    grid = SampleGrid(tmp_path, n=4)
    vae.fit(x, epochs=2, batch_size=8, verbose=0, callbacks=[grid])
    _, _, first = _png(tmp_path / "samples_epoch_001.png")
    _, _, second = _png(tmp_path / "samples_epoch_002.png")
    assert not np.array_equal(first, second)


def test_sample_grid_cvae_shows_every_class_in_each_row(tmp_path):
    x, y = _data(12), np.arange(12) % 3
    cvae = CVAE(SHAPE, num_classes=3, latent_dim=2, hidden_units=(16,))
    cvae.compile(optimizer="adam")
    grid = SampleGrid(tmp_path, n=7, reconstruct=(x[:4], y[:4]))
    cvae.fit(x, y, epochs=1, batch_size=12, verbose=0, callbacks=[grid])
    _, size, pixels = _png(tmp_path / "samples_final.png")
    # 3 columns (one per class), 3 rows; cell (r, j) is class j.
    assert size == (3 * 8 + 2 * 2, 3 * 8 + 2 * 2)
    expected = image_grid(cvae.generate(7, seed=0, labels=np.arange(7) % 3), ncols=3)
    np.testing.assert_array_equal(_as_hwc(pixels), expected)
    assert (tmp_path / "reconstructions_epoch_001.png").exists()


def test_sample_grid_cvae_reconstruct_needs_labels(tmp_path):
    x, y = _data(6), np.arange(6) % 3
    cvae = CVAE(SHAPE, num_classes=3, latent_dim=2, hidden_units=(16,))
    cvae.compile(optimizer="adam")
    with pytest.raises(ValueError, match=r"reconstruct=\(images, labels\)"):
        cvae.fit(x, y, epochs=1, verbose=0, callbacks=[SampleGrid(tmp_path, reconstruct=x[:2])])


def test_sample_grid_works_for_an_autoencoder(tmp_path):
    x = _data()
    ae = Autoencoder(SHAPE, latent_dim=2, hidden_units=(16,))
    ae.compile(optimizer="adam")
    grid = SampleGrid(tmp_path, n=4, reconstruct=x[:2])
    ae.fit(x, epochs=1, batch_size=16, verbose=0, callbacks=[grid])
    assert {p.rsplit("/", 1)[-1] for p in grid.paths} == {
        "samples_epoch_001.png",
        "reconstructions_epoch_001.png",
        "samples_final.png",
        "reconstructions_final.png",
    }


def test_sample_grid_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="every"):
        SampleGrid(tmp_path, every=0)
    with pytest.raises(ValueError, match="n must"):
        SampleGrid(tmp_path, n=0)
    with pytest.raises(ValueError, match="reconstruct"):
        SampleGrid(tmp_path, reconstruct=np.zeros((3, 10)))
    with pytest.raises(ValueError, match="one label per image"):
        SampleGrid(tmp_path, reconstruct=(np.zeros((3, 4, 4, 1)), [0, 1]))


# -- LatentInterpolation -------------------------------------------------------------------


def test_interpolate_endpoints_and_midpoint():
    vae = _vae()
    a, b = _data(2)
    frames = interpolate(vae, a, b, steps=5)
    assert frames.shape == (5, *SHAPE)
    atol = 1e-6
    np.testing.assert_allclose(frames[0], vae.decode(vae.encode(a[None]))[0], atol=atol)
    np.testing.assert_allclose(frames[-1], vae.decode(vae.encode(b[None]))[0], atol=atol)
    z = vae.encode(np.stack([a, b]))
    np.testing.assert_allclose(frames[2], vae.decode(z.mean(0, keepdims=True))[0], atol=atol)
    with pytest.raises(ValueError, match="steps"):
        interpolate(vae, a, b, steps=1)


def test_interpolate_class_conditional_needs_labels():
    cvae = CVAE(SHAPE, num_classes=3, latent_dim=2, hidden_units=(16,))
    a, b = _data(2)
    with pytest.raises(ValueError, match="labels"):
        interpolate(cvae, a, b)
    assert interpolate(cvae, a, b, steps=3, labels=2).shape == (3, *SHAPE)


def test_latent_interpolation_writes_one_strip_per_pair(tmp_path):
    x = _data()
    vae = _vae()
    vae.compile(optimizer=keras.optimizers.SGD(0.0))
    pairs = x[:6].reshape(3, 2, *SHAPE)
    cb = LatentInterpolation(tmp_path, pairs, steps=4, every=2)
    vae.fit(x, epochs=2, batch_size=16, verbose=0, callbacks=[cb])
    assert [p.rsplit("/", 1)[-1] for p in cb.paths] == [
        "interpolation_epoch_002.png",
        "interpolation_final.png",
    ]
    _, size, pixels = _png(tmp_path / "interpolation_epoch_002.png")
    assert size == (4 * 8 + 3 * 2, 3 * 8 + 2 * 2)  # 4 frames wide, 3 strips high
    pixels = _as_hwc(pixels)
    for i, (a, b) in enumerate(pairs):
        strip = pixels[i * 10 : i * 10 + 8]
        first = image_grid(vae.decode(vae.encode(a[None])))
        last = image_grid(vae.decode(vae.encode(b[None])))
        # PNG pixels are 8-bit: allow one level for float noise between batch sizes.
        assert np.abs(strip[:, :8].astype(int) - first).max() <= 1
        assert np.abs(strip[:, -8:].astype(int) - last).max() <= 1


def test_latent_interpolation_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="pairs"):
        LatentInterpolation(tmp_path, np.zeros((3, 8, 8, 1)))
    with pytest.raises(ValueError, match="steps"):
        LatentInterpolation(tmp_path, np.zeros((1, 2, 8, 8, 1)), steps=1)


# -- KLWarmup ----------------------------------------------------------------------------


def _values(schedule, steps):
    return [float(schedule(s)) for s in steps]


def test_linear_warmup_exact_values_and_delay():
    schedule = KLWarmup(warmup_steps=4, start=0.0, end=2.0)
    assert _values(schedule, range(7)) == [0.0, 0.5, 1.0, 1.5, 2.0, 2.0, 2.0]
    delayed = KLWarmup(warmup_steps=4, start=0.1, end=1.0, delay_steps=3)
    np.testing.assert_allclose(
        _values(delayed, range(9)), [0.1, 0.1, 0.1, 0.1, 0.325, 0.55, 0.775, 1.0, 1.0], rtol=1e-6
    )
    assert _values(KLWarmup(0, start=0.0, end=1.0, delay_steps=2), range(4)) == [0, 0, 1, 1]
    # Annealing down works too.
    assert _values(KLWarmup(2, start=1.0, end=0.0), range(3)) == [1.0, 0.5, 0.0]


@pytest.mark.parametrize("shape", ["cosine", "sigmoid"])
def test_smooth_shapes_hit_both_ends_and_rise(shape):
    schedule = KLWarmup(warmup_steps=10, start=0.2, end=1.2, shape=shape)
    values = _values(schedule, range(13))
    assert values[0] == pytest.approx(0.2, abs=1e-7)
    assert values[10:] == [pytest.approx(1.2, abs=1e-7)] * 3
    assert values[5] == pytest.approx(0.7, abs=1e-6)  # symmetric around the middle
    assert all(b > a for a, b in itertools.pairwise(values[:11]))
    assert values[1] - values[0] < 0.1  # slower than linear at the start


def test_cosine_values():
    schedule = KLWarmup(warmup_steps=4, shape="cosine")
    expected = [0.5 * (1 - math.cos(math.pi * s / 4)) for s in range(5)]
    np.testing.assert_allclose(_values(schedule, range(5)), expected, atol=1e-6)


def test_cyclical_annealing():
    # Fu et al. 2019: ramp for half a cycle, hold for the other half, repeat; then stay at end.
    schedule = KLWarmup(warmup_steps=2, cycles=3)
    assert _values(schedule, range(14)) == [0, 0.5, 1, 1] * 3 + [1, 1]
    custom = KLWarmup(warmup_steps=2, cycles=2, cycle_steps=3, delay_steps=1)
    assert _values(custom, range(9)) == [0, 0, 0.5, 1, 0, 0.5, 1, 1, 1]


def test_schedule_works_in_graph_on_a_tensor_step():
    schedule = KLWarmup(warmup_steps=4, cycles=2, shape="sigmoid")
    step = tf.Variable(0, dtype="int64")

    @tf.function
    def value():
        return schedule(step)

    got = []
    for s in range(10):
        step.assign(s)
        got.append(float(value()))
    np.testing.assert_allclose(got, _values(schedule, range(10)), atol=1e-7)


def test_schedule_serialization_round_trip():
    schedule = KLWarmup(warmup_steps=5, start=0.1, end=0.9, delay_steps=2, shape="cosine", cycles=2)
    config = keras.saving.serialize_keras_object(schedule)
    assert config["registered_name"] == "keras_gen>KLWarmup"
    restored = keras.saving.deserialize_keras_object(config)
    assert isinstance(restored, KLWarmup)
    assert restored.get_config() == schedule.get_config()
    assert _values(restored, range(25)) == _values(schedule, range(25))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"warmup_steps": -1}, "warmup_steps"),
        ({"warmup_steps": 2, "shape": "step"}, "shape"),
        ({"warmup_steps": 2, "cycles": 0}, "cycles"),
        ({"warmup_steps": 0, "cycles": 2}, "cycles"),
        ({"warmup_steps": 4, "cycles": 2, "cycle_steps": 3}, "cycle_steps"),
        ({"warmup_steps": 2, "start": -1.0}, "start"),
        ({"warmup_steps": 2, "delay_steps": 1.5}, "delay_steps"),
    ],
)
def test_schedule_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        KLWarmup(**kwargs)


# -- KLAnnealing -------------------------------------------------------------------------


def test_kl_annealing_changes_the_weight_used_in_training():
    x = _data()
    vae = _vae()
    vae.compile(optimizer="adam")
    # Trace the test step with the float beta first: KLAnnealing must retrace it.
    vae.evaluate(x, batch_size=16, verbose=0)
    history = vae.fit(
        x,
        epochs=4,
        batch_size=16,  # one step per epoch: each epoch's logs are one step's terms
        validation_data=(x,),
        verbose=0,
        callbacks=[KLAnnealing(warmup_steps=4)],  # end = the model's beta, 1.0
    ).history
    assert history["beta"] == [0.25, 0.5, 0.75, 1.0]
    loss, rec, kl = (np.array(history[k]) for k in ("loss", "reconstruction", "kl"))
    assert loss[0] == pytest.approx(rec[0], rel=1e-6)  # beta = 0 at step 0
    np.testing.assert_allclose(loss, rec + np.array([0.0, 0.25, 0.5, 0.75]) * kl, rtol=1e-5)
    # Validation after each epoch runs at the step the epoch ended on.
    val = {k: np.array(history[f"val_{k}"]) for k in ("loss", "reconstruction", "kl")}
    np.testing.assert_allclose(
        val["loss"], val["reconstruction"] + np.array(history["beta"]) * val["kl"], rtol=1e-5
    )
    assert isinstance(vae.beta, KLWarmup) and vae.beta.end == 1.0


def test_kl_annealing_retraces_a_fitted_model_with_delay_and_explicit_end():
    x = _data()
    vae = _vae(beta=4.0)
    vae.compile(optimizer="adam")
    vae.fit(x, epochs=1, batch_size=16, verbose=0)  # traces train_step with beta = 4.0
    cb = KLAnnealing(warmup_steps=2, start=0.5, end=2.0, delay_steps=1)
    history = vae.fit(x, epochs=4, batch_size=16, verbose=0, callbacks=[cb]).history
    # Steps 1..4 train with beta 0.5, 1.25, 2, 2; the logs report beta after each epoch.
    assert history["beta"] == [1.25, 2.0, 2.0, 2.0]
    loss, rec, kl = (np.array(history[k]) for k in ("loss", "reconstruction", "kl"))
    np.testing.assert_allclose(loss, rec + np.array([0.5, 1.25, 2.0, 2.0]) * kl, rtol=1e-5)
    assert cb.schedule is vae.beta


def test_kl_annealing_needs_a_model_with_beta():
    x = _data()
    ae = Autoencoder(SHAPE, latent_dim=2, hidden_units=(16,))
    ae.compile(optimizer="adam")
    with pytest.raises(TypeError, match=r"beta.*Autoencoder has none"):
        ae.fit(x, epochs=1, verbose=0, callbacks=[KLAnnealing(warmup_steps=2)])


def test_kl_annealing_argument_errors():
    with pytest.raises(ValueError, match="shape"):
        KLAnnealing(warmup_steps=2, shape="exp")
    callback = KLAnnealing(10, end=2.0, cycles=2)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(callback))
    assert isinstance(restored, KLAnnealing)
    assert restored.get_config() == callback.get_config()


def test_annealed_vae_round_trips_with_its_schedule(tmp_path):
    x = _data()
    vae = _vae()
    vae.compile(optimizer="adam")
    vae.fit(x, epochs=3, batch_size=16, verbose=0, callbacks=[KLAnnealing(warmup_steps=6)])
    path = tmp_path / "vae.keras"
    vae.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.beta, KLWarmup)
    assert loaded.beta.get_config() == vae.beta.get_config()
    assert int(loaded.optimizer.iterations) == 3
    assert float(loaded.current_beta()) == float(vae.current_beta()) == 0.5
    # Training continues the schedule from the saved step.
    history = loaded.fit(x, epochs=2, batch_size=16, verbose=0, callbacks=[KLAnnealing(6)])
    assert history.history["beta"] == pytest.approx([4 / 6, 5 / 6])
