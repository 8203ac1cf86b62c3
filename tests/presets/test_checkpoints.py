"""Trained presets: save, load, URLs with hashes, model cards and the error cases."""

import json
import shutil
import tarfile

import keras
import numpy as np
import pytest

from keras_gen import presets, zoo
from keras_gen.presets import checkpoints

X = np.random.default_rng(0).random((32, 28, 28, 1), dtype="float32")


def _small_vae():
    return presets.get("vae").build(image_shape=(28, 28, 1), latent_dim=3, hidden_units=(16,))


def test_save_load_fit_save_load_round_trip(tmp_path):
    model = _small_vae()
    folder = presets.save_to_preset(model, tmp_path / "a", preset="vae", card={"data": "x"})
    card = checkpoints.read_metadata(folder)
    assert card["model"] == "VAE" and card["data"] == "x"
    assert card["weights_sha256"] == checkpoints.sha256_of(folder / "model.weights.h5")
    assert card["preset"]["recipe"]["optimizer"]["class"] == "Adam"

    loaded = zoo.VAE.from_preset(folder)  # compiled with the recipe: fit works at once
    np.testing.assert_array_equal(model.encode(X[:4]), loaded.encode(X[:4]))
    loaded.fit(X, batch_size=16, epochs=1, verbose=0)
    again = zoo.VAE.from_preset(loaded.save_to_preset(tmp_path / "b", preset="vae"))
    np.testing.assert_array_equal(loaded.encode(X[:4]), again.encode(X[:4]))
    assert not np.allclose(model.encode(X[:4]), again.encode(X[:4]))  # it trained


def test_float16_weights_halve_the_file_and_load_close(tmp_path):
    model = _small_vae()
    full = presets.save_to_preset(model, tmp_path / "f32")
    half = presets.save_to_preset(model, tmp_path / "f16", weights_dtype="float16")
    size = lambda d: (d / "model.weights.h5").stat().st_size  # noqa: E731
    assert size(half) < 0.7 * size(full)
    loaded = presets.load(half, compile=False)
    np.testing.assert_allclose(model.encode(X[:4]), loaded.encode(X[:4]), atol=1e-2)


def test_a_preset_of_another_class_is_a_clear_error(tmp_path):
    folder = presets.save_to_preset(_small_vae(), tmp_path / "vae")
    with pytest.raises(ValueError, match="holds a VAE, not a DCGAN"):
        zoo.DCGAN.from_preset(folder)


def test_unknown_names_and_untrained_presets_are_clear_errors():
    with pytest.raises(ValueError, match="neither a preset name nor an existing path"):
        presets.load("no-such-preset")
    with pytest.raises(ValueError, match="ships no trained weights"):
        presets.load("wgan-gp")


def test_a_changed_weights_file_fails_its_hash(tmp_path):
    folder = presets.save_to_preset(_small_vae(), tmp_path / "p")
    weights = folder / "model.weights.h5"
    weights.write_bytes(weights.read_bytes()[:-100])  # truncated
    with pytest.raises(ValueError, match="does not match its model card's sha256"):
        presets.load(folder)


def _archive(folder, tmp_path):
    path = tmp_path / "preset.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(folder, arcname="preset")
    return path


def test_file_url_downloads_once_with_the_right_hash(tmp_path):
    cache = tmp_path / "keras_home"
    model = _small_vae()
    archive = _archive(presets.save_to_preset(model, tmp_path / "p", preset="vae"), tmp_path)
    sha = checkpoints.sha256_of(archive)
    loaded = presets.load(archive.as_uri(), file_hash=sha, cache_dir=cache)
    np.testing.assert_array_equal(model.encode(X[:4]), loaded.encode(X[:4]))
    archive.unlink()  # a second load comes from the cache
    presets.load(archive.as_uri(), file_hash=sha, cache_dir=cache)


def test_file_url_with_a_wrong_hash_leaves_nothing_in_the_cache(tmp_path):
    home = tmp_path / "keras_home"
    archive = _archive(presets.save_to_preset(_small_vae(), tmp_path / "p"), tmp_path)
    with pytest.raises(ValueError, match="could not download the preset"):
        presets.load(archive.as_uri(), file_hash="0" * 64, cache_dir=home)
    leftovers = list((home / "keras_gen_presets").glob("*")) if home.exists() else []
    assert leftovers == []
    with pytest.raises(ValueError, match="needs its sha256"):
        presets.load(archive.as_uri(), cache_dir=home)


def test_a_keras_file_loads_as_a_preset(tmp_path):
    model = _small_vae()
    model.compile(optimizer="adam")
    model.fit(X, batch_size=16, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = zoo.VAE.from_preset(tmp_path / "m.keras")
    np.testing.assert_array_equal(model.encode(X[:4]), loaded.encode(X[:4]))
    (tmp_path / "bad.keras").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="cannot load"):
        presets.load(tmp_path / "bad.keras")


def test_a_corrupt_card_is_a_one_line_error(tmp_path):
    folder = presets.save_to_preset(_small_vae(), tmp_path / "p")
    (folder / "metadata.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        presets.load(folder)
    shutil.rmtree(folder)
    folder.mkdir()
    with pytest.raises(ValueError, match="not a preset folder"):
        presets.load(folder)
    assert json.loads(json.dumps(presets.get("dcgan").to_dict()))["name"] == "dcgan"
    assert keras.saving.get_registered_object("keras_gen>VAE") is zoo.VAE


def test_a_compiled_gan_with_an_ema_generator_round_trips_without_its_optimizer_state(tmp_path):
    preset = presets.get("dcgan")
    gan = preset.build(image_shape=(8, 8, 1), filters=(4, 8), latent_dim=3, seed=0)
    preset.compile(gan)
    gan.fit(np.random.default_rng(0).random((8, 8, 8, 1), dtype="float32"), verbose=0)
    folder = gan.save_to_preset(tmp_path / "gan", preset="dcgan")
    loaded = zoo.DCGAN.from_preset(folder)
    assert type(loaded.g_optimizer).__name__ == "EMA" and int(loaded.g_optimizer.iterations) == 0
    np.testing.assert_array_equal(gan.generate(3, seed=1), loaded.generate(3, seed=1))
