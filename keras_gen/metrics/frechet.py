"""Distances between two sets of features: Frechet distance and kernel (KID-style) distance.

Both compare the features a :class:`~keras_gen.metrics.FeatureExtractor` gives for real
and generated images. With Inception-v3 pool features they are FID (Heusel et al. 2017)
and KID (Binkowski et al. 2018); with the project's MNIST classifier they are the
Frechet / kernel *classifier* distances (FCD / KCD), which are NOT Inception FID: their
numbers are not comparable with published FIDs, only with each other (same classifier
file, same number of samples).
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import scipy.linalg


def _features(x, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (num_samples, feature_dim); got shape {x.shape}"
        )
    if len(x) < 2:
        raise ValueError(f"{name} needs at least 2 samples to estimate a covariance; got {len(x)}")
    if x.shape[1] < 1:
        raise ValueError(f"{name} has feature_dim 0; got shape {x.shape}")
    x = x.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} holds NaN or infinite values ({np.sum(~np.isfinite(x))} of them)")
    return x


def _same_dim(a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> None:
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same feature dimension; "
            f"got {a.shape[-1]} and {b.shape[-1]}"
        )


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (d,) and covariance (d, d) of features (n, d), in float64.

    The covariance is the unbiased one (divided by n - 1), as in TF-GAN and pytorch-fid.

    >>> mu, cov = feature_statistics([[0.0, 1.0], [2.0, 3.0]])
    >>> mu.tolist(), cov.tolist()
    ([1.0, 2.0], [[2.0, 2.0], [2.0, 2.0]])
    """
    x = _features(features, "features")
    if len(x) < x.shape[1]:
        warnings.warn(
            f"{len(x)} samples for {x.shape[1]} features: the covariance is singular and the "
            "Frechet distance is biased upwards; use more samples than features",
            stacklevel=2,
        )
    return x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False))


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    w, v = scipy.linalg.eigh(matrix)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def _trace_sqrt_product(cov_a: np.ndarray, cov_b: np.ndarray) -> float:
    """``tr sqrt(cov_a @ cov_b)`` for symmetric positive semi-definite matrices.

    Computed as ``tr sqrt(sqrt(A) B sqrt(A))`` (same eigenvalues as ``A B``), a symmetric PSD
    matrix, with symmetric eigen-decompositions, as TF-GAN does. ``scipy.linalg.sqrtm`` of
    the non-symmetric product (pytorch-fid's way) returns spurious imaginary parts and
    inaccurate results when a covariance is singular or ill-conditioned, which is the usual
    case (ReLU features that are always 0, fewer samples than features), and needs an
    ``eps * I`` retry; the symmetric form needs neither.
    """
    sqrt_a = _sqrt_psd(cov_a)
    m = sqrt_a @ cov_b @ sqrt_a
    eig = scipy.linalg.eigvalsh((m + m.T) / 2.0)
    return float(np.sum(np.sqrt(np.clip(eig, 0.0, None))))


def frechet_distance_from_stats(
    mu_a: np.ndarray, cov_a: np.ndarray, mu_b: np.ndarray, cov_b: np.ndarray
) -> float:
    """Frechet distance between Gaussians N(mu_a, cov_a) and N(mu_b, cov_b).

    ``||mu_a - mu_b||^2 + tr(cov_a + cov_b - 2 sqrt(cov_a cov_b))``, in float64; tiny
    negative values from rounding are returned as 0.

    >>> import numpy as np
    >>> frechet_distance_from_stats(np.zeros(2), np.eye(2), np.ones(2), 4 * np.eye(2))
    4.0
    """
    mu_a, mu_b = (np.asarray(m, np.float64).reshape(-1) for m in (mu_a, mu_b))
    cov_a, cov_b = (np.atleast_2d(np.asarray(c, np.float64)) for c in (cov_a, cov_b))
    d = len(mu_a)
    for name, value, shape in (
        ("mu_b", mu_b, (d,)),
        ("cov_a", cov_a, (d, d)),
        ("cov_b", cov_b, (d, d)),
    ):
        if value.shape != shape:
            raise ValueError(f"{name} must have shape {shape} to match mu_a; got {value.shape}")
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{name} holds NaN or infinite values")
    if not np.all(np.isfinite(mu_a)):
        raise ValueError("mu_a holds NaN or infinite values")
    for name, cov in (("cov_a", cov_a), ("cov_b", cov_b)):
        if not np.allclose(cov, cov.T, rtol=1e-6, atol=1e-9 * max(1.0, np.abs(cov).max())):
            raise ValueError(f"{name} must be a symmetric (covariance) matrix")
    # Symmetrise away rounding so that eigh sees exactly symmetric matrices.
    cov_a, cov_b = (cov_a + cov_a.T) / 2.0, (cov_b + cov_b.T) / 2.0
    diff = mu_a - mu_b
    value = (
        diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * _trace_sqrt_product(cov_a, cov_b)
    )
    return max(float(value), 0.0)


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Frechet distance between the Gaussians fitted to two sets of features (n, d) and (m, d).

    With Inception-v3 pool features this is FID; with the features of
    :class:`~keras_gen.metrics.ClassifierFeatures` it is the Frechet classifier distance
    (FCD), which is not comparable with published FIDs. The estimate is biased: it depends
    on the number of samples, so compare values computed with the same sample counts.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=(5000, 2))
    >>> round(frechet_distance(a, a), 6)
    0.0
    >>> round(frechet_distance(a, a + [3.0, 4.0]), 6)  # ||shift||^2
    25.0
    """
    a = _features(features_a, "features_a")
    b = _features(features_b, "features_b")
    _same_dim(a, b, ("features_a", "features_b"))
    return frechet_distance_from_stats(*feature_statistics(a), *feature_statistics(b))


class KernelDistance(NamedTuple):
    """Mean and standard deviation of the unbiased MMD^2 estimates over random subsets."""

    mean: float
    std: float


def _polynomial_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with the kernel k(u, v) = (u.v / d + 1)^3 (Binkowski et al. 2018)."""
    m, d = x.shape
    kxx = (x @ x.T / d + 1.0) ** 3
    kyy = (y @ y.T / d + 1.0) ** 3
    kxy = (x @ y.T / d + 1.0) ** 3
    off_diagonal = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(off_diagonal - 2.0 * kxy.mean())


def kernel_distance(
    features_a: np.ndarray,
    features_b: np.ndarray,
    num_subsets: int = 100,
    subset_size: int = 1000,
    seed: int | None = 0,
) -> KernelDistance:
    """KID-style kernel distance: unbiased MMD^2 between two sets of features, over subsets.

    As in Binkowski et al. 2018 (and their reference code): ``num_subsets`` times, draw
    ``subset_size`` rows of each set without replacement (at most the smaller set's size),
    estimate the unbiased MMD^2 with the cubic polynomial kernel ``(x.y / d + 1)^3`` and
    return the mean and standard deviation of the estimates. Unbiased, so it can be
    slightly negative for two samples of one distribution. Symmetric when the subsets are
    whole sets of equal size; otherwise up to the random subsets. Called "KID" only with
    Inception-v3 features.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=(500, 8)), rng.normal(size=(500, 8))
    >>> abs(kernel_distance(a, b, num_subsets=10, subset_size=200).mean) < 0.05
    True
    >>> kernel_distance(a, b + 1.0, num_subsets=10, subset_size=200).mean > 1.0
    True
    """
    a = _features(features_a, "features_a")
    b = _features(features_b, "features_b")
    _same_dim(a, b, ("features_a", "features_b"))
    for name, value in (("num_subsets", num_subsets), ("subset_size", subset_size)):
        if isinstance(value, bool) or int(value) != value or int(value) < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    m = min(int(subset_size), len(a), len(b))
    if m < 2:
        raise ValueError(f"subset_size must be >= 2 (the unbiased estimate needs pairs); got {m}")
    rng = np.random.default_rng(seed)
    estimates = np.array(
        [
            _polynomial_mmd2(
                a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)]
            )
            for _ in range(int(num_subsets))
        ]
    )
    return KernelDistance(float(estimates.mean()), float(estimates.std()))
