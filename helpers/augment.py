"""Fast augmentation that keeps masks exactly binary.

Introduced in notebook 01, section "Augmentation", as the fix for keras-unet's
``get_augmented`` traps. Random crops, flips and quarter turns move pixels
without interpolating them, so a mask stays 0/1; brightness and contrast jitter
touches the image only.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from helpers._checks import as_pair
from helpers.data import validate_pairs

__all__ = ["WORKSHOP_AUGMENT_ARGS", "augmented_batches", "random_patches"]

#: keras-unet ``get_augmented``'s arguments in the original workshop's introduction
#: (Unet_in_Keras_introduction.ipynb, code cell 25). Notebook 01 shows their traps, the
#: benchmarks time them, the slides draw them; all read them from here. Read-only.
WORKSHOP_AUGMENT_ARGS = MappingProxyType({
    "rotation_range": 15.0,
    "width_shift_range": 0.05,
    "height_shift_range": 0.05,
    "shear_range": 30,
    "zoom_range": 0.2,
    "horizontal_flip": True,
    "vertical_flip": True,
    "fill_mode": "constant",
})


def random_patches(
    images: np.ndarray,
    masks: np.ndarray,
    *,
    patch_size=128,
    count: int,
    rng: np.random.Generator,
    flips: bool = True,
    intensity: float = 0.1,
) -> tuple[np.ndarray, np.ndarray]:
    """Cut `count` random patches, with random flips, quarter turns and intensity jitter.

    Parameters
    ----------
    images, masks : ndarray, shape (N, H, W, C) and (N, H, W, K)
    patch_size : int or (int, int), default 128
    count : int
    rng : numpy.random.Generator
    flips : bool, default True
        Random horizontal/vertical flips, and quarter turns for square patches:
        the 8 symmetries of a square, all exact.
    intensity : float, default 0.1
        Images get ``x * (1 + a) + b`` with ``a, b`` uniform in ``[-intensity, intensity]``,
        clipped to [0, 1]. 0 turns it off.

    Returns
    -------
    images, masks : float32 arrays, shape (count, ph, pw, C) and (count, ph, pw, K)
    """
    patch_h, patch_w = as_pair(patch_size, "patch_size")
    n, height, width = images.shape[:3]
    if patch_h > height or patch_w > width:
        raise ValueError(
            f"patch_size {(patch_h, patch_w)} is larger than the images ({height}, {width}). "
            "Fix: use a smaller patch_size."
        )
    which = rng.integers(0, n, count)
    rows = rng.integers(0, height - patch_h + 1, count)
    cols = rng.integers(0, width - patch_w + 1, count)
    # Gather all crops with one fancy index: (count, ph, pw, C).
    r = rows[:, None, None] + np.arange(patch_h)[None, :, None]
    c = cols[:, None, None] + np.arange(patch_w)[None, None, :]
    k = which[:, None, None]
    x = images[k, r, c].astype(np.float32)
    y = masks[k, r, c].astype(np.float32)
    if flips:
        flip_v = rng.random(count) < 0.5
        flip_h = rng.random(count) < 0.5
        x[flip_v], y[flip_v] = x[flip_v, ::-1], y[flip_v, ::-1]
        x[flip_h], y[flip_h] = x[flip_h, :, ::-1], y[flip_h, :, ::-1]
        if patch_h == patch_w:
            turn = rng.random(count) < 0.5
            x[turn] = np.rot90(x[turn], axes=(1, 2))
            y[turn] = np.rot90(y[turn], axes=(1, 2))
    if intensity:
        gain = 1 + rng.uniform(-intensity, intensity, (count, 1, 1, 1)).astype(np.float32)
        bias = rng.uniform(-intensity, intensity, (count, 1, 1, 1)).astype(np.float32)
        x = np.clip(x * gain + bias, 0.0, 1.0)
    return x, y


def augmented_batches(
    images: np.ndarray,
    masks: np.ndarray,
    *,
    patch_size=128,
    batch_size: int = 16,
    seed: int | None = 0,
    flips: bool = True,
    intensity: float = 0.1,
):
    """Endless (images, masks) batches of random augmented patches, for ``model.fit``.

    A plain Python generator, which Keras 3's ``fit`` accepts (with
    ``steps_per_epoch``). Masks stay exactly binary.

    Parameters
    ----------
    images, masks : ndarray, shape (N, H, W, C) and (N, H, W, K)
        Checked by `validate_pairs`; masks may be one-hot (K > 1).
    patch_size : int or (int, int), default 128
    batch_size : int, default 16
    seed : int or None, default 0
        The same seed gives the same batches.
    flips : bool, default True
    intensity : float, default 0.1
        As in `random_patches`.

    Returns
    -------
    generator of (ndarray, ndarray)
        Shapes (batch_size, ph, pw, C) and (batch_size, ph, pw, K), float32. The
        arguments are checked at the call, not at the first batch.

    Examples
    --------
    >>> images = np.random.default_rng(0).random((4, 64, 64, 1)).astype("float32")
    >>> masks = (images > 0.5).astype("float32")
    >>> x, y = next(augmented_batches(images, masks, patch_size=32, batch_size=8))
    >>> x.shape, sorted(np.unique(y).tolist())
    ((8, 32, 32, 1), [0.0, 1.0])
    """
    # Check everything here, not at the first next() deep inside model.fit.
    validate_pairs(images, masks)
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
    rng = np.random.default_rng(seed)
    random_patches(images, masks, patch_size=patch_size, count=1, rng=np.random.default_rng(0))

    def batches():
        while True:
            yield random_patches(images, masks, patch_size=patch_size, count=batch_size,
                                 rng=rng, flips=flips, intensity=intensity)

    return batches()
