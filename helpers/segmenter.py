"""From a trained model to label images a microscopist can open: one prediction path.

Introduced in notebook 03, sections "8. Export" and "9. Predict a folder". A
`Segmenter` holds the model with everything prediction needs besides it: the
normalisation of training (`helpers.Normalization`), the tile size and overlap,
the threshold chosen on validation, and how probabilities become objects. It
saves them together (``.keras``, a SavedModel and a JSON file of settings), so a
model is never used again with another normalisation. `write_results` writes,
per image, what Fiji and napari open: a 16-bit label TIFF (ImageJ format, with the
pixel size when known), the probability map as a 32-bit TIFF, and a CSV of
per-object measurements from scikit-image's ``regionprops_table``.
`write_bioimageio_package` packs the model for the BioImage Model Zoo (bioimage.io),
with its normalisation as the package's own preprocessing, and tests the package
with ``bioimageio.core``'s own test.
"""

from __future__ import annotations

import json
import numbers
import os
from pathlib import Path

import numpy as np

from helpers.instances import Normalization, labels_from_probabilities

__all__ = ["Segmenter", "write_bioimageio_package", "write_results"]

SETTINGS_FILE = "settings.json"


class Segmenter:
    """A model, its normalisation, tiles and threshold: image in, labels out.

    Parameters
    ----------
    model : keras.Model or callable
        Maps (B, h, w, C) normalised tiles to (B, h, w, K) probabilities, K = 3
        (`helpers.INSTANCE_CLASSES`) or 1.
    normalization : Normalization
        The very one the training images went through.
    threshold : float
        Chosen on validation images.
    method : {"watershed", "components"}, default "watershed"
    min_size : int, default 0
        As for `helpers.labels_from_probabilities`.
    tile_size, overlap : int, default 256 and 32
        As for `helpers.predict_tiled`.

    Examples
    --------
    >>> import numpy as np
    >>> def model(tiles):  # interior where bright, a stand-in for a network
    ...     return np.concatenate([1 - tiles, tiles, 0 * tiles], axis=-1)
    >>> segmenter = Segmenter(model, normalization=Normalization(), threshold=0.5,
    ...                       tile_size=32, overlap=8)
    >>> image = np.zeros((40, 50), np.uint16); image[5:15, 5:15] = 4000; image[20:30, 30:45] = 3000
    >>> int(segmenter.labels(image).max())
    2
    """

    def __init__(self, model, *, normalization: Normalization, threshold: float,
                 method: str = "watershed", min_size: int = 0, tile_size: int = 256,
                 overlap: int = 32):
        if not isinstance(normalization, Normalization):
            raise ValueError("normalization must be the helpers.Normalization the training "
                             f"images went through, got {type(normalization).__name__}.")
        if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) \
                or not 0 <= threshold < 1:
            raise ValueError(f"threshold must lie in [0, 1), got {threshold!r}.")
        self.model = model
        self.normalization = normalization
        self.threshold = float(threshold)
        self.method = method
        self.min_size = int(min_size)
        self.tile_size = int(tile_size)
        self.overlap = int(overlap)

    def settings(self) -> dict:
        """Everything besides the weights, as saved in ``settings.json``."""
        return {"normalization": self.normalization.as_dict(), "threshold": self.threshold,
                "method": self.method, "min_size": self.min_size,
                "tile_size": self.tile_size, "overlap": self.overlap}

    def probabilities(self, image) -> np.ndarray:
        """(H, W, K) float32: `image` (stored values) normalised, then predicted by tiles."""
        from helpers.tiling import predict_tiled

        normalized = self.normalization(image)
        tile = min(self.tile_size, *self._fitting_tile(normalized.shape[:2]))
        overlap = min(self.overlap, tile // 2)
        return predict_tiled(self.model, normalized, tile_size=tile, overlap=overlap)

    def _fitting_tile(self, shape) -> tuple[int, int]:
        # A small image gets a smaller tile, a multiple of 16 (keras-unet's 4 poolings).
        return tuple(max(16, side // 16 * 16) for side in shape)

    def labels(self, image, probabilities=None) -> np.ndarray:
        """(H, W) int32 objects of `image` (or of its `probabilities`, when given)."""
        if probabilities is None:
            probabilities = self.probabilities(image)
        return labels_from_probabilities(probabilities, threshold=self.threshold,
                                         method=self.method, min_size=self.min_size)

    def save(self, folder: str | os.PathLike, *, example) -> object:
        """Write ``segmenter.keras``, ``segmenter_savedmodel/`` and ``settings.json``.

        Each model file is reloaded and checked against the model in memory on
        `example` (an image as stored), through `helpers.export_round_trip`.

        Returns
        -------
        pandas.DataFrame
            `export_round_trip`'s table.
        """
        from helpers.export import export_round_trip

        folder = Path(folder)
        tile = self._fitting_tile(np.shape(example)[:2])
        normalized = self.normalization(example)[: min(tile[0], 256), : min(tile[1], 256)]
        table = export_round_trip(self.model, normalized[np.newaxis], folder=folder,
                                  name="segmenter", onnx=False)
        partial = folder / (SETTINGS_FILE + ".part")
        partial.write_text(json.dumps(self.settings(), indent=2) + "\n")
        os.replace(partial, folder / SETTINGS_FILE)
        return table

    @classmethod
    def load(cls, folder: str | os.PathLike) -> Segmenter:
        """The segmenter `save` wrote: the ``.keras`` model with its settings."""
        import keras

        from helpers.losses import custom_objects

        folder = Path(folder)
        settings_path = folder / SETTINGS_FILE
        if not settings_path.is_file():
            raise FileNotFoundError(f"{settings_path}: no settings here. Fix: load the folder "
                                    "that Segmenter.save wrote.")
        settings = json.loads(settings_path.read_text())
        model = keras.models.load_model(folder / "segmenter.keras",
                                        custom_objects=custom_objects(), compile=False)
        return cls(model, normalization=Normalization(**settings.pop("normalization")),
                   **settings)


def _write_tiff(path: Path, data: np.ndarray, *, pixel_size, axes: str) -> None:
    import tifffile

    options = {}
    if pixel_size:
        options = {"resolution": (1.0 / pixel_size, 1.0 / pixel_size)}
    partial = path.with_name(path.name + ".part")
    tifffile.imwrite(partial, data, imagej=True,
                     metadata={"axes": axes, **({"unit": "um"} if pixel_size else {})},
                     **options)
    os.replace(partial, path)


def write_results(folder: str | os.PathLike, name: str, *, labels, probabilities, image,
                  pixel_size: float | None = None) -> dict[str, Path]:
    """Write one image's results for Fiji and napari: labels, probabilities, measurements.

    Introduced in notebook 03, section "9. Predict a folder".

    Parameters
    ----------
    folder : path-like
        Created if needed.
    name : str
        The image's name; files are ``<name>_labels.tif``, ``<name>_probabilities.tif``
        and ``<name>_objects.csv``.
    labels : ndarray, shape (H, W), integers
        At most 65,535 objects (they are saved as uint16).
    probabilities : ndarray, shape (H, W, K)
        Saved as float32, one channel per class (ImageJ axes CYX).
    image : ndarray, shape (H, W) or (H, W, C)
        The image as stored, for each object's mean intensity (first channel).
    pixel_size : float, optional
        Microns per pixel: written into both TIFFs (ImageJ reads it as the scale) and
        used for the CSV's ``area_um2`` and centroid columns in microns.

    Returns
    -------
    dict of str -> Path
        ``labels``, ``probabilities``, ``objects``.

    Examples
    --------
    >>> import tempfile, tifffile
    >>> labels = np.zeros((8, 8), np.int32); labels[2:5, 2:6] = 1
    >>> paths = write_results(tempfile.mkdtemp(), "a", labels=labels,
    ...                       probabilities=np.zeros((8, 8, 3)), image=labels * 10,
    ...                       pixel_size=0.5)
    >>> tifffile.imread(paths["labels"]).dtype.name
    'uint16'
    >>> paths["objects"].read_text().split()[0].split(",")[-3:]
    ['area_um2', 'centroid_row_um', 'centroid_column_um']
    """
    import pandas as pd
    from skimage.measure import regionprops_table

    labels = np.asarray(labels)
    probabilities = np.asarray(probabilities, dtype=np.float32)
    image = np.asarray(image)
    if labels.ndim != 2 or labels.dtype.kind not in "iu":
        raise ValueError(f"labels must be a 2-D integer image, got dtype {labels.dtype} and "
                         f"shape {labels.shape}.")
    if labels.size and (labels.min() < 0 or labels.max() > np.iinfo(np.uint16).max):
        raise ValueError(f"labels must lie in 0..65535 to be saved as 16-bit, got "
                         f"{labels.min()}..{labels.max()}. Fix: relabel_sequential(labels).")
    if probabilities.ndim != 3 or probabilities.shape[:2] != labels.shape:
        raise ValueError(f"probabilities must be (H, W, K) with the labels' H x W "
                         f"{labels.shape}, got {probabilities.shape}.")
    if image.shape[:2] != labels.shape:
        raise ValueError(f"image must have the labels' H x W {labels.shape}, got {image.shape}.")
    if pixel_size is not None and (isinstance(pixel_size, bool)
                                   or not isinstance(pixel_size, numbers.Real)
                                   or not pixel_size > 0):
        raise ValueError(f"pixel_size must be microns per pixel (> 0), or None, got "
                         f"{pixel_size!r}.")
    pixel_size = float(pixel_size) if pixel_size else None
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"labels": folder / f"{name}_labels.tif",
             "probabilities": folder / f"{name}_probabilities.tif",
             "objects": folder / f"{name}_objects.csv"}
    intensity = image[..., 0] if image.ndim == 3 else image
    table = pd.DataFrame(regionprops_table(
        labels.astype(np.int32), intensity_image=intensity.astype(np.float32),
        properties=("label", "area", "centroid", "intensity_mean")))
    table = table.rename(columns={"centroid-0": "centroid_row", "centroid-1": "centroid_column",
                                  "intensity_mean": "mean_intensity"})
    if pixel_size:
        table["area_um2"] = table["area"] * pixel_size**2
        table["centroid_row_um"] = table["centroid_row"] * pixel_size
        table["centroid_column_um"] = table["centroid_column"] * pixel_size
    _write_tiff(paths["labels"], labels.astype(np.uint16), pixel_size=pixel_size, axes="YX")
    _write_tiff(paths["probabilities"], np.moveaxis(probabilities, -1, 0),
                pixel_size=pixel_size, axes="CYX")
    partial = paths["objects"].with_name(paths["objects"].name + ".part")
    table.to_csv(partial, index=False)
    os.replace(partial, paths["objects"])
    return paths


def write_bioimageio_package(segmenter: Segmenter, path: str | os.PathLike, *, example,
                             name: str, description: str, authors=("unet-course",),
                             class_names=("background", "interior", "boundary"),
                             channel_names=None, license: str = "MIT",
                             tags=("nuclei", "segmentation", "unet", "fluorescence")) -> dict:
    """Write a BioImage Model Zoo package of `segmenter`, and test it with bioimageio.core.

    Introduced in notebook 03, section "8. Export". The package (a zip) holds the
    model (Keras 3 weights), the normalisation as the package's preprocessing
    (``scale_range`` over the percentiles of `segmenter`'s `Normalization`, then
    ``clip``), a test input and its expected output (from `example`), a README with
    the threshold and how to turn the probabilities into objects, and
    ``settings.json``. Then ``bioimageio.core.test_model`` runs on the saved zip, in
    a process of its own (its output stays out of the notebook): it predicts the test
    input through the package's own preprocessing and compares with the expected
    output, at several sizes and batch sizes.

    Parameters
    ----------
    segmenter : Segmenter
    path : path-like
        The zip to write (``.zip``).
    example : ndarray, shape (H, W) or (H, W, C)
        An image as stored; its top-left crop (a multiple of 16, at most 256) is the
        test input.
    name, description : str
    authors : sequence of str
    class_names : sequence of str
        One per output channel.
    channel_names : sequence of str, optional
        One per input channel; default ``grey`` or ``channel0``, ``channel1``, ...
    license : str, default "MIT"
        An SPDX identifier.
    tags : sequence of str

    Returns
    -------
    dict
        ``package`` (the path), ``status`` ("passed" or "failed") and ``failed`` (what
        failed).

    Raises
    ------
    ModuleNotFoundError
        bioimageio.core is not installed; the message says how to install it.
    RuntimeError
        The package's test failed; the message lists what failed.
    """
    import importlib.util
    import subprocess
    import sys
    import tempfile

    import keras

    if importlib.util.find_spec("bioimageio") is None or \
            importlib.util.find_spec("bioimageio.core") is None:
        raise ModuleNotFoundError("write_bioimageio_package needs bioimageio.core. Fix: "
                                  "pip install bioimageio.core, then run the cell again.")
    path = Path(path)
    if path.suffix != ".zip":
        raise ValueError(f"path must end in .zip, got {str(path)!r}.")
    example = np.asarray(example)
    if example.ndim == 2:
        example = example[..., np.newaxis]
    height, width = (min(256, side // 16 * 16) for side in example.shape[:2])
    if min(height, width) < 16:
        raise ValueError(f"example must be at least 16 x 16 pixels, got {example.shape[:2]}.")
    crop = example[:height, :width].astype(np.float32)
    expected = np.asarray(keras.ops.convert_to_numpy(
        segmenter.model(segmenter.normalization(crop)[np.newaxis], training=False)))
    if len(class_names) != expected.shape[-1]:
        raise ValueError(f"class_names must name the model's {expected.shape[-1]} outputs, "
                         f"got {list(class_names)}.")
    channels = crop.shape[-1]
    if channel_names is None:
        channel_names = ["grey"] if channels == 1 else [f"channel{k}" for k in range(channels)]
    import tensorflow as tf

    settings = segmenter.settings()
    readme = (
        f"# {name}\n\n{description}\n\nTrained with the course *Image segmentation with U-Net "
        "in Keras*, notebook 03. Input: the image as stored; the package's preprocessing "
        f"scales its {segmenter.normalization.low} and {segmenter.normalization.high} "
        "percentiles to 0 and 1"
        + (" and clips to [0, 1]" if segmenter.normalization.clip else "")
        + f". Output: the probabilities of {', '.join(class_names)}. To get objects, as the "
        f"course does: the connected regions where the interior probability is above "
        f"{settings['threshold']} are the seeds of a watershed on that probability, within "
        "the pixels more likely object than background (helpers.labels_from_probabilities, "
        f"method={settings['method']!r}). Large images: predict in overlapping tiles of "
        f"{settings['tile_size']} pixels (overlap {settings['overlap']}); all settings are in "
        "settings.json.\n")
    with tempfile.TemporaryDirectory(prefix="bioimageio-") as work:
        work = Path(work)
        # Without its compile settings: the course's loss is not needed to predict, and a
        # package user's Keras could not load the file without it (as custom_objects).
        # (The same layers in a new, uncompiled functional model: no copy of the weights.)
        bare = keras.Model(segmenter.model.inputs, segmenter.model.outputs)
        bare.save(work / "weights.keras")
        np.save(work / "test_input.npy", crop[np.newaxis])
        np.save(work / "test_output.npy", expected.astype(np.float32))
        (work / "README.md").write_text(readme)
        (work / "settings.json").write_text(json.dumps(settings, indent=2) + "\n")
        request = {
            "package": str(path.resolve()), "name": name, "description": description,
            "authors": list(authors), "license": license, "tags": list(tags),
            "class_names": list(class_names), "channel_names": list(channel_names),
            "size_step": 16, **segmenter.normalization.as_dict(),
            "keras_version": keras.__version__, "tensorflow_version": tf.__version__,
            "cite": [["O. Ronneberger, P. Fischer, T. Brox, U-Net: convolutional networks for "
                      "biomedical image segmentation, MICCAI 2015",
                      "10.1007/978-3-319-24574-4_28"]],
        }
        (work / "request.json").write_text(json.dumps(request))
        path.parent.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([sys.executable, "-m", "helpers._bioimageio_package", str(work)],
                              capture_output=True, text=True, check=False,
                              env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        result_file = work / "result.json"
        if not result_file.is_file():
            raise RuntimeError(f"the bioimageio packaging process failed (exit "
                               f"{done.returncode}):\n{done.stderr[-2000:]}")
        result = json.loads(result_file.read_text())
    if result["status"] != "passed":
        raise RuntimeError("bioimageio.core's test of the package failed:\n  - "
                           + "\n  - ".join(result["failed"]))
    return result
