"""Named configuration of ALI (BiGAN with ``stochastic_encoder=False``)."""

from keras_gen.presets.registry import DataSpec, Preset, adam

ALI_ADAM = adam(2e-4, beta_1=0.5)

PRESETS = [
    Preset(
        "ali",
        "ALI",
        "adversarially learned inference: encoder and generator against a joint D(x, z)",
        config={"filters": (64, 128), "latent_dim": 64},
        recipe={"g_optimizer": ALI_ADAM, "d_optimizer": ALI_ADAM, "loss": "non_saturating"},
        data=DataSpec("images", "mnist_mini"),
        epochs=2,
        architecture="conv",
    ),
]
