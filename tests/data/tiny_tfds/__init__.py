"""A TFDS data set made by the tests, in a module of a package as TFDS' own are.

TFDS finds a builder's files through its package (``DatasetBuilder.code_path``, which
imports ``importlib_resources``), so ``download_and_prepare`` takes the same path here as
for ``"mnist"`` on a fresh install, without a network.
"""

from tiny_tfds.tiny_digits import KerasGenTinyDigits

__all__ = ["KerasGenTinyDigits"]
