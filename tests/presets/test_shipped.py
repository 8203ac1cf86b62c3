"""Every preset that ships trained weights: it loads, its card matches its file, it runs.

Nothing here trains: each check takes a second or two (``benchmarks/train_preset.py NAME
--evaluate-only`` re-measures the card's numbers).
"""

import time

import numpy as np
import pytest

from keras_gen import presets
from keras_gen.presets import checkpoints
from keras_gen.zoo.capabilities import Generator, InputConditional, is_label_conditional

SHIPPED = presets.trained_names()
PACKAGE_LIMIT_BYTES = 40 * 2**20  # the budget for weights inside the package
CARD_FIELDS = (
    "model", "data", "trained_by", "measured_by", "commit", "date", "machine",
    "training", "headline", "metrics", "measured", "weights_sha256", "weights_bytes",
)  # fmt: skip


def _folder(name):
    return checkpoints._package_path(presets.get(name).weights)


def test_shipped_weights_fit_the_package_budget():
    folders = [_folder(n) for n in SHIPPED if "://" not in presets.get(n).weights]
    total = sum(f.stat().st_size for folder in folders for f in folder.iterdir())
    assert total <= PACKAGE_LIMIT_BYTES, f"{total / 2**20:.1f} MB of presets in the package"


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_preset_card_matches_its_weights(name):
    folder = _folder(name)
    card = checkpoints.read_metadata(folder)
    missing = [field for field in CARD_FIELDS if field not in card]
    assert not missing, f"{name}'s card lacks {missing}"
    weights = folder / checkpoints.WEIGHTS_FILE
    assert card["weights_sha256"] == checkpoints.sha256_of(weights)
    assert card["weights_bytes"] == weights.stat().st_size
    assert card["model"] == presets.get(name).model
    assert card["preset"]["name"] == name
    assert all(np.isfinite(v) for v in card["metrics"].values())
    # Each target is recorded as met or not (the README says which are not met yet).
    assert all(isinstance(met, bool) for met in card.get("targets", {}).values())


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_preset_loads_and_produces_finite_outputs(name):
    start = time.perf_counter()
    model = presets.load(name)  # compiled with its recipe: fit could continue at once
    assert isinstance(model, presets.get(name).model_class) and model.compiled
    if isinstance(model, InputConditional):
        outputs = model.generate_from(["春风"])
        assert len(outputs) == 1 and outputs[0]
    elif isinstance(model, Generator):
        labels = {"labels": np.arange(4) % model.num_classes} if is_label_conditional(model) else {}
        images = model.generate(4, seed=0, **labels)
        assert images.shape == (4, *model.image_shape)
        assert np.all(np.isfinite(images)) and images.min() >= 0 and images.max() <= 1
        again = presets.get(name).model_class.from_preset(name, compile=False)
        np.testing.assert_allclose(again.generate(4, seed=0, **labels), images, atol=1e-6)
    assert time.perf_counter() - start < 30  # a load and a sample, not a training run


@pytest.mark.parametrize("name", SHIPPED[:1])
def test_a_preset_of_another_class_is_a_one_line_error(name):
    from keras_gen import zoo

    other = zoo.PixelCNN  # no shipped preset is a PixelCNN (nor a subclass of one)
    with pytest.raises(presets.PresetError, match=presets.get(name).model):
        other.from_preset(name)
