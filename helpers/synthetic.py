"""A synthetic look-alike of ISBI 2012, made offline with exact masks.

Cells are the Voronoi regions of jittered seed points; membranes are the thin
bands where two cells meet, with a width that varies across the image. Cell
interiors get their own grey level, a smooth texture and a few dark organelles
(which are *not* membrane, as in the real data), then the image is blurred and
noised like a TEM section. Introduced in notebook 01 (offline fallback) and
used for the multi-class example in notebook 02.

`synthetic_nuclei` is notebook 03's offline stand-in for the Data Science Bowl's
fluorescence nuclei: bright 16-bit blobs on a dark background, some touching, with
exact instance labels, in sizes that are not all square.
"""

from __future__ import annotations

import numpy as np

from helpers._checks import as_pair

__all__ = ["TISSUE_CLASSES", "synthetic_membranes", "synthetic_nuclei", "synthetic_tissue"]

#: Class indices of `synthetic_tissue`.
TISSUE_CLASSES = ("interior", "membrane", "organelle")


def _check(n: int, size, seed) -> tuple[int, int]:
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}.")
    height, width = as_pair(size, "size", minimum=32)
    if seed is not None and (not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}.")
    return height, width


def _smooth_noise(rng, shape, scale) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    field = gaussian_filter(rng.standard_normal(shape), sigma=scale, mode="wrap")
    field -= field.mean()
    return field / (field.std() + 1e-8)


def _one_image(rng, height: int, width: int):
    from scipy.ndimage import gaussian_filter
    from scipy.spatial import cKDTree

    # Cells: about one per 40x40 px, like ISBI's neurites at this resolution.
    n_cells = max(4, int(height * width / rng.uniform(1200, 2200)))
    seeds = rng.uniform((0, 0), (height, width), size=(n_cells, 2))
    rows, cols = np.mgrid[0:height, 0:width]
    points = np.column_stack([rows.ravel(), cols.ravel()]).astype(np.float64)
    # Anisotropic stretch gives elongated, tilted cells rather than round ones.
    stretch = np.array([[1.0, rng.uniform(-0.4, 0.4)], [0.0, rng.uniform(0.6, 1.4)]])
    distances, owners = cKDTree(seeds @ stretch.T).query(points @ stretch.T, k=2)
    gap = (distances[:, 1] - distances[:, 0]).reshape(height, width)
    owner = owners[:, 0].reshape(height, width)

    # Membrane: the band where the two nearest seeds are almost equally near.
    half_width = 2.0 + 2.6 * (0.5 + 0.5 * np.tanh(_smooth_noise(rng, (height, width), 25)))
    membrane = gap < half_width

    # Organelles: small dark blobs well inside cells.
    organelle = np.zeros((height, width), dtype=bool)
    for _ in range(rng.integers(n_cells // 4, n_cells // 2 + 2)):
        r0, c0 = rng.uniform((0, 0), (height, width))
        radius = rng.uniform(2.5, 7.0)
        blob = (rows - r0) ** 2 / rng.uniform(0.5, 2.0) + (cols - c0) ** 2 <= radius**2
        organelle |= blob & (gap > half_width + 3)

    interior_level = rng.uniform(0.55, 0.85, size=n_cells)[owner]
    texture = 0.06 * _smooth_noise(rng, (height, width), 2) + 0.04 * _smooth_noise(
        rng, (height, width), 8
    )
    image = interior_level + texture
    image = np.where(organelle, rng.uniform(0.25, 0.4) + 0.5 * texture, image)
    image = np.where(membrane, rng.uniform(0.12, 0.25) + 0.5 * texture, image)
    image = gaussian_filter(image, sigma=rng.uniform(0.7, 1.3))
    image = image + rng.uniform(0.02, 0.05) * rng.standard_normal((height, width))
    image = image + 0.08 * _smooth_noise(rng, (height, width), 60)  # uneven illumination
    classes = np.zeros((height, width), dtype=np.uint8)
    classes[organelle] = 2
    classes[membrane] = 1
    return np.clip(image, 0.0, 1.0).astype(np.float32), classes


def synthetic_tissue(n: int, *, size=256, seed: int | None = 0):
    """EM-like images with three exact classes: interior, membrane, organelle.

    Parameters
    ----------
    n : int
        Number of images.
    size : int or (int, int), default 256
        Height and width; need not be square.
    seed : int or None, default 0
        The same seed gives the same arrays.

    Returns
    -------
    images : ndarray, shape (n, H, W, 1), float32 in [0, 1]
    classes : ndarray, shape (n, H, W), uint8
        0 = interior, 1 = membrane, 2 = organelle (see `TISSUE_CLASSES`).

    Examples
    --------
    >>> images, classes = synthetic_tissue(2, size=64, seed=1)
    >>> images.shape, classes.shape, sorted(np.unique(classes).tolist())
    ((2, 64, 64, 1), (2, 64, 64), [0, 1, 2])
    """
    height, width = _check(n, size, seed)
    rng = np.random.default_rng(seed)
    pairs = [_one_image(rng, height, width) for _ in range(n)]
    images = np.stack([image for image, _ in pairs])[..., np.newaxis]
    classes = np.stack([labels for _, labels in pairs])
    return images, classes


def synthetic_membranes(n: int, *, size=256, seed: int | None = 0):
    """EM-like images with exact binary masks, shaped like ISBI 2012.

    The offline stand-in for `load_isbi2012`: same layout, same label meaning
    (1 = cell interior, 0 = membrane), about the same class balance. The images
    are those of `synthetic_tissue`; the masks mark its membrane class as 0.

    Parameters
    ----------
    n, size, seed
        As for `synthetic_tissue`: how many images, their side or (height, width),
        and the seed that makes them again.

    Returns
    -------
    images : ndarray, shape (n, H, W, 1), float32 in [0, 1]
    masks : ndarray, shape (n, H, W, 1), float32 in {0, 1}

    Examples
    --------
    >>> images, masks = synthetic_membranes(3, size=(64, 96), seed=0)
    >>> images.shape, masks.dtype, sorted(np.unique(masks).tolist())
    ((3, 64, 96, 1), dtype('float32'), [0.0, 1.0])
    """
    images, classes = synthetic_tissue(n, size=size, seed=seed)
    masks = (classes != 1).astype(np.float32)[..., np.newaxis]
    return images, masks


#: (height, width) of the images of `synthetic_nuclei`, in turn.
NUCLEI_SIZES = ((256, 256), (256, 320), (320, 256), (288, 384))


def _nuclei_image(rng, height: int, width: int):
    from scipy.ndimage import gaussian_filter

    n_nuclei = int(rng.integers(12, 30))
    radii = rng.uniform(6, 14, (n_nuclei, 2))
    centres = rng.uniform((15, 15), (height - 15, width - 15), (n_nuclei, 2))
    # A third of the nuclei sit against another one, as in a dense field.
    for k in range(1, n_nuclei, 3):
        angle = rng.uniform(0, 2 * np.pi)
        reach = radii[k - 1].mean() + radii[k].mean() - 1.5
        centres[k] = np.clip(centres[k - 1] + reach * np.array([np.sin(angle), np.cos(angle)]),
                             8, (height - 8, width - 8))
    turn = rng.uniform(0, np.pi, n_nuclei)
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    # Each pixel belongs to the nucleus in whose ellipse it lies deepest (scaled distance
    # < 1): where two ellipses overlap the line between them is exact, as in a label image.
    depth = np.full((height, width), np.inf, np.float32)
    labels = np.zeros((height, width), np.int32)
    for k in range(n_nuclei):
        dr, dc = rows - centres[k, 0], cols - centres[k, 1]
        u = (dr * np.cos(turn[k]) + dc * np.sin(turn[k])) / radii[k, 0]
        v = (-dr * np.sin(turn[k]) + dc * np.cos(turn[k])) / radii[k, 1]
        scaled = u * u + v * v
        inside = (scaled < 1) & (scaled < depth)
        labels[inside] = k + 1
        depth[inside] = scaled[inside]
    from skimage.segmentation import relabel_sequential

    labels = relabel_sequential(labels)[0].astype(np.int32)
    brightness = np.concatenate([[0.0], rng.uniform(900, 3000, labels.max())])
    texture = 1 + 0.15 * _smooth_noise(rng, (height, width), 2.0)
    signal = gaussian_filter(brightness[labels] * texture, sigma=1.2)
    background = 120 + 40 * _smooth_noise(rng, (height, width), 40.0)
    image = rng.poisson(np.clip(signal + background, 1, None)).astype(np.float64)
    return np.clip(image, 0, 65535).astype(np.uint16), labels


def synthetic_nuclei(n: int, *, sizes=NUCLEI_SIZES, seed: int | None = 0):
    """Fluorescence-like images of nuclei with exact instance labels, in several sizes.

    Parameters
    ----------
    n : int
        Number of images.
    sizes : sequence of (int, int), default `NUCLEI_SIZES`
        (height, width) of the images, taken in turn; each side at least 64.
    seed : int or None, default 0
        The same seed gives the same arrays.

    Returns
    -------
    images : list of ndarray, uint16, shape (H, W)
    labels : list of ndarray, int32, shape (H, W)
        0 = background, nuclei 1..k; one in three is placed against another, so many
        touch a neighbour.

    Examples
    --------
    >>> images, labels = synthetic_nuclei(2, seed=1)
    >>> [image.shape for image in images], images[0].dtype, int(labels[0].max()) > 5
    ([(256, 256), (256, 320)], dtype('uint16'), True)
    """
    sizes = [as_pair(size, "sizes", minimum=64) for size in sizes]
    if not sizes:
        raise ValueError("sizes must name at least one (height, width).")
    _check(n, sizes[0], seed)
    rng = np.random.default_rng(seed)
    pairs = [_nuclei_image(rng, *sizes[k % len(sizes)]) for k in range(n)]
    return [image for image, _ in pairs], [labels for _, labels in pairs]
