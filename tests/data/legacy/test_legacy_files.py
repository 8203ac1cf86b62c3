"""``.keras`` files written before 0.2 (see make_legacy.py) load with the same outputs.

The zoo moved to one folder per model in 0.2; the files name classes by their registered
names and carry the old argument names (``input_shape``), so they must still load: the
same outputs, and each optimizer with its saved state.
"""

import pathlib

import keras
import numpy as np
import pytest

import keras_gen  # noqa: F401  (registers the classes that the files name)

HERE = pathlib.Path(__file__).parent
REFERENCE = dict(np.load(HERE / "outputs.npz"))
X, Y = REFERENCE["x"], REFERENCE["y"]
FIRST_LINES = [str(s) for s in REFERENCE["first_lines"]]
SENTENCES = [str(s) for s in REFERENCE["sentences"]]

OUTPUTS = {
    "vae": lambda m: {"generate": m.generate(4, seed=0), "encode": m.encode(X[:4])},
    "cvae": lambda m: {
        "generate": m.generate(4, seed=0, labels=[0, 1, 2, 3]),
        "encode": m.encode(X[:4], Y[:4]),
    },
    "dcgan": lambda m: {
        "generate": m.generate(4, seed=0),
        "generate_ema": m.generate(4, seed=0, ema=True),
    },
    "aae": lambda m: {"generate": m.generate(4, seed=0), "encode": m.encode(X[:4])},
    "vqvae": lambda m: {
        "encode_indices": m.encode_indices(X[:4]),
        "reconstruct": m.reconstruct(X[:4]),
    },
    "text_vae": lambda m: {
        "encode": m.encode(SENTENCES[:2]),
        "generate": m.generate(2, seed=1, max_length=5),
    },
    "couplet_tagger": lambda m: {"generate": m.generate_from(FIRST_LINES)},
}


def test_every_file_is_checked():
    assert {p.stem for p in HERE.glob("*.keras")} == set(OUTPUTS)


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_old_file_loads_with_the_same_outputs_and_optimizer_state(name):
    model = keras.saving.load_model(HERE / f"{name}.keras")
    for key, value in OUTPUTS[name](model).items():
        expected = REFERENCE[f"{name}/{key}"]
        if expected.dtype.kind == "U":
            assert list(value) == expected.tolist(), key
        else:
            np.testing.assert_allclose(value, expected, rtol=1e-6, atol=1e-6, err_msg=key)
    players = {"g_optimizer": "g_optimizer", "d_optimizer": "d_optimizer"}
    for key in (k for k in REFERENCE if k.startswith(f"{name}/") and k.endswith("_iterations")):
        attribute = players.get(key.split("/")[1].removesuffix("_iterations"), "optimizer")
        optimizer = getattr(model, attribute)
        assert int(optimizer.iterations) == int(REFERENCE[key]) > 0, key
