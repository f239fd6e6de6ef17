"""helpers.instances and helpers.segmenter: normalisation, three classes, instances,
object matching against hand-worked counts, the written results, and one prediction path."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import tifffile

import helpers
from helpers import (
    Normalization,
    Segmenter,
    labels_from_probabilities,
    match_objects,
    object_scores,
    percentile_normalize,
    training_targets,
    write_results,
)

# --------------------------------------------------------------------------- normalisation


def test_percentile_normalize_known_values():
    image = np.arange(1001, dtype=np.uint16)  # percentile p is the value 10 p
    out = percentile_normalize(image, low=10, high=90, clip=False)
    assert out.dtype == np.float32
    assert out[100] == pytest.approx(0) and out[900] == pytest.approx(1)
    assert out[500] == pytest.approx(0.5) and out[0] == pytest.approx(-0.125)
    clipped = percentile_normalize(image, low=10, high=90)
    assert clipped.min() == 0 and clipped.max() == 1


def test_percentile_normalize_same_scale_for_8_and_16_bit():
    rng = np.random.default_rng(0)
    eight = rng.integers(0, 256, (32, 32)).astype(np.uint8)
    sixteen = eight.astype(np.uint16) * 257  # the same image saved at 16 bits
    np.testing.assert_allclose(percentile_normalize(eight), percentile_normalize(sixteen),
                               atol=1e-6)


def test_percentile_normalize_constant_image_and_bad_options():
    assert percentile_normalize(np.full((4, 4), 9.0)).max() == 0
    with pytest.raises(ValueError, match="low must be below high"):
        percentile_normalize(np.zeros(4), low=50, high=50)
    with pytest.raises(ValueError, match="high must be a percentile"):
        percentile_normalize(np.zeros(4), high=101)
    with pytest.raises(ValueError, match="NaN"):
        percentile_normalize(np.array([0.0, np.nan]))


# --------------------------------------------------------------------------- classes


def _two_touching():
    labels = np.zeros((10, 14), np.int32)
    labels[2:8, 1:7] = 1
    labels[2:8, 7:13] = 2
    return labels


def test_training_targets_three_classes_ring_along_background_and_neighbour():
    targets = training_targets(_two_touching(), boundary_width=1)
    classes = np.argmax(targets, axis=-1)
    assert targets.dtype == np.float32 and set(np.unique(targets.sum(-1))) == {1.0}
    # each 6 x 6 object: a 1-pixel ring of 20 pixels, a 4 x 4 interior
    assert np.count_nonzero(classes == 1) == 2 * 16
    assert np.count_nonzero(classes == 2) == 2 * 20
    assert (classes[2:8, 6:8] == 2).all()  # the two rings where the objects touch
    wider = np.argmax(training_targets(_two_touching(), boundary_width=2), axis=-1)
    assert np.count_nonzero(wider == 1) == 2 * 4


def test_training_targets_two_classes_merge_touching_objects():
    from skimage.measure import label

    two = training_targets(_two_touching(), classes=2)
    assert two.shape == (10, 14, 1) and label(two[..., 0] > 0).max() == 1
    three = training_targets(_two_touching(), classes=3)
    assert label(three[..., 1] > 0, connectivity=1).max() == 2


def test_training_targets_bad_input():
    with pytest.raises(ValueError, match="2-D integer label image"):
        training_targets(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match="classes must be 3"):
        training_targets(np.zeros((4, 4), int), classes=4)
    with pytest.raises(ValueError, match="boundary_width"):
        training_targets(np.zeros((4, 4), int), boundary_width=0)


def test_labels_from_probabilities_watershed_gives_the_rings_back():
    truth = _two_touching()
    probabilities = training_targets(truth, boundary_width=1)
    found = labels_from_probabilities(probabilities, method="watershed")
    np.testing.assert_array_equal(found, truth)  # the exact objects, rings included
    inner = labels_from_probabilities(probabilities, method="components")
    assert inner.max() == 2 and np.count_nonzero(inner) == 32  # interiors only
    one_channel = labels_from_probabilities(training_targets(truth, classes=2))
    assert one_channel.max() == 1  # merged


def test_labels_from_probabilities_threshold_and_min_size():
    p = np.zeros((8, 8, 1), np.float32)
    p[1:3, 1:3] = 0.6
    p[5:8, 5:8] = 0.9
    assert labels_from_probabilities(p, threshold=0.5).max() == 2
    assert labels_from_probabilities(p, threshold=0.7).max() == 1
    kept = labels_from_probabilities(p, threshold=0.5, min_size=5)
    assert kept.max() == 1 and np.count_nonzero(kept) == 9
    with pytest.raises(ValueError, match="probabilities must have shape"):
        labels_from_probabilities(np.zeros((8, 8, 2)))
    with pytest.raises(ValueError, match="method must be"):
        labels_from_probabilities(p, method="flood")


# --------------------------------------------------------------------------- matching


def test_match_objects_hand_worked_counts():
    truth = np.zeros((20, 20), int)
    truth[0:4, 0:4] = 1       # found exactly
    truth[0:4, 10:14] = 2     # found as 4 x 2: IoU 0.5
    truth[10:14, 0:4] = 3     # missed
    found = np.zeros((20, 20), int)
    found[0:4, 0:4] = 7
    found[0:4, 10:12] = 8
    found[15:18, 15:18] = 9   # false
    scores = match_objects(truth, found, thresholds=(0.5, 0.55))
    assert (scores[0.5]["tp"], scores[0.5]["fp"], scores[0.5]["fn"]) == (2, 1, 1)
    assert scores[0.5]["f1"] == pytest.approx(4 / 6)
    assert scores[0.5]["ap"] == pytest.approx(2 / 4)
    assert (scores[0.55]["tp"], scores[0.55]["fp"], scores[0.55]["fn"]) == (1, 2, 2)


def test_match_objects_one_to_one_at_low_tau():
    # One found object covering two true ones: at tau 0.3 it may match only one of them.
    truth = np.zeros((4, 8), int)
    truth[:, :4], truth[:, 4:] = 1, 2
    found = np.ones((4, 8), int)
    scores = match_objects(truth, found, thresholds=(0.3,))
    assert (scores[0.3]["tp"], scores[0.3]["fp"], scores[0.3]["fn"]) == (1, 0, 1)


def test_match_objects_empty_images():
    empty = np.zeros((5, 5), int)
    assert match_objects(empty, empty, thresholds=(0.5,))[0.5]["ap"] == 1.0
    one = empty.copy()
    one[1:3, 1:3] = 1
    assert match_objects(one, empty, thresholds=(0.5,))[0.5]["ap"] == 0.0
    with pytest.raises(ValueError, match="same shape"):
        match_objects(one, np.zeros((4, 4), int))


def test_object_scores_bowl_mean_over_thresholds():
    truth = np.zeros((10, 10), int)
    truth[0:10, 0:5] = 1
    found = np.zeros((10, 10), int)
    found[0:10, 0:4] = 1  # IoU 0.8: matched for tau 0.5 to 0.8 (7 of the 10 thresholds)
    row = object_scores([truth], [found]).iloc[0]
    assert row["f1@0.5"] == 1 and row["ap@0.5"] == 1
    assert row["mean_ap"] == pytest.approx(0.7)
    assert row["pixel_iou"] == pytest.approx(0.8)


def test_interval_table_brackets_the_mean():
    scores = pd.DataFrame({"f1@0.5": np.linspace(0.4, 0.9, 20)})
    table = helpers.interval_table(scores)
    assert table.loc["f1@0.5", "low"] < table.loc["f1@0.5", "mean"] < table.loc["f1@0.5", "high"]
    assert table.loc["f1@0.5", "images"] == 20
    with pytest.raises(ValueError, match="at least 2 images"):
        helpers.interval_table(scores.iloc[:1])


# --------------------------------------------------------------------------- results


def test_write_results_reads_back_in_tifffile(tmp_path):
    labels = np.zeros((12, 20), np.int32)
    labels[1:5, 1:5] = 1
    labels[6:11, 10:18] = 2
    probabilities = np.random.default_rng(0).random((12, 20, 3)).astype(np.float32)
    image = np.full((12, 20), 100, np.uint16)
    image[labels == 2] = 300
    paths = write_results(tmp_path / "out", "cells", labels=labels, probabilities=probabilities,
                          image=image, pixel_size=0.25)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "cells_labels.tif", "cells_objects.csv", "cells_probabilities.tif"]
    with tifffile.TiffFile(paths["labels"]) as tif:
        saved = tif.asarray()
        assert tif.is_imagej and tif.imagej_metadata["unit"] == "um"
        x_resolution = tif.pages[0].tags["XResolution"].value
        assert x_resolution[0] / x_resolution[1] == pytest.approx(4.0)  # pixels per micron
    assert saved.dtype == np.uint16 and saved.shape == (12, 20)
    np.testing.assert_array_equal(saved, labels)
    with tifffile.TiffFile(paths["probabilities"]) as tif:
        stored = tif.asarray()
        assert tif.is_imagej and tif.series[0].axes == "CYX"
    assert stored.dtype == np.float32
    np.testing.assert_array_equal(np.moveaxis(stored, 0, -1), probabilities)
    table = pd.read_csv(paths["objects"])
    assert table["label"].tolist() == [1, 2]
    assert table["area"].tolist() == [16, 40]
    assert table["mean_intensity"].tolist() == [100, 300]
    assert table["area_um2"].tolist() == pytest.approx([1.0, 2.5])
    assert not list(tmp_path.glob("out/*.part"))


def test_write_results_without_pixel_size_and_bad_input(tmp_path):
    labels = np.zeros((6, 6), np.int32)
    labels[1:3, 1:3] = 1
    paths = write_results(tmp_path, "a", labels=labels, probabilities=np.zeros((6, 6, 1)),
                          image=labels)
    with tifffile.TiffFile(paths["labels"]) as tif:
        assert "unit" not in (tif.imagej_metadata or {})
    assert "area_um2" not in pd.read_csv(paths["objects"]).columns
    with pytest.raises(ValueError, match="0..65535"):
        write_results(tmp_path / "big", "b", labels=labels * 70000,
                      probabilities=np.zeros((6, 6, 1)), image=labels)
    with pytest.raises(ValueError, match="pixel_size"):
        write_results(tmp_path / "bad", "c", labels=labels, probabilities=np.zeros((6, 6, 1)),
                      image=labels, pixel_size=-1)
    assert not (tmp_path / "big").exists() and not (tmp_path / "bad").exists()


# --------------------------------------------------------------------------- one path


def _bright_model(tiles):
    """A stand-in network: interior probability = the normalised intensity."""
    tiles = np.asarray(tiles)
    return np.concatenate([1 - tiles, tiles, 0 * tiles], axis=-1)


def _image():
    image = np.full((40, 56), 200, np.uint16)
    image[5:15, 5:15] = 3000
    image[20:34, 30:50] = 4000
    return image


def test_segmenter_normalises_as_training_did():
    norm = Normalization(low=1.0, high=99.8)
    segmenter = Segmenter(_bright_model, normalization=norm, threshold=0.5, tile_size=32,
                          overlap=8)
    expected = helpers.predict_tiled(_bright_model, norm(_image()), tile_size=32, overlap=8)
    np.testing.assert_allclose(segmenter.probabilities(_image()), expected, atol=1e-6)
    other = Segmenter(_bright_model, normalization=Normalization(low=0.0, high=50.0),
                      threshold=0.5, tile_size=32, overlap=8)
    assert not np.allclose(other.probabilities(_image()), expected, atol=1e-3)
    with pytest.raises(ValueError, match="normalization must be the helpers.Normalization"):
        Segmenter(_bright_model, normalization=(1, 99.8), threshold=0.5)


@pytest.mark.slow
def test_segmenter_save_and_load_keeps_normalization_and_threshold(tmp_path):
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((None, None, 1))
    model = keras.Model(inputs, keras.layers.Conv2D(3, 3, padding="same",
                                                    activation="softmax")(inputs))
    norm = Normalization(low=2.0, high=99.0)
    segmenter = Segmenter(model, normalization=norm, threshold=0.4, tile_size=32, overlap=8)
    table = segmenter.save(tmp_path / "model", example=_image())
    assert table["same"].all()
    settings = json.loads((tmp_path / "model" / "settings.json").read_text())
    assert settings["normalization"] == {"low": 2.0, "high": 99.0, "clip": True}
    loaded = Segmenter.load(tmp_path / "model")
    assert loaded.normalization == norm and loaded.threshold == 0.4
    np.testing.assert_allclose(loaded.probabilities(_image()), segmenter.probabilities(_image()),
                               atol=1e-5)
    with pytest.raises(FileNotFoundError, match="no settings here"):
        Segmenter.load(tmp_path)


# --------------------------------------------------------------------------- lists of sizes


def test_augmented_batches_lists_of_different_sizes():
    rng = np.random.default_rng(0)
    images = [rng.random((40, 56, 1)).astype(np.float32), rng.random((70, 33, 1)).astype(
        np.float32)]
    masks = [training_targets((image[..., 0] > 0.5).astype(int)) for image in images]
    for elastic in (0, 10):
        x, y = next(helpers.augmented_batches(images, masks, patch_size=32, batch_size=16,
                                              elastic=elastic))
        assert x.shape == (16, 32, 32, 1) and y.shape == (16, 32, 32, 3)
        assert set(np.unique(y.sum(-1))) == {1.0}  # one-hot kept
    with pytest.raises(ValueError, match=r"patch_size \(36, 36\) is larger than image 1"):
        next(helpers.augmented_batches(images, masks, patch_size=36))
    with pytest.raises(ValueError, match="masks must be a list of the same length"):
        helpers.augmented_batches(images, masks[:1])


def test_random_patches_lists_draw_each_image_by_its_area():
    small = np.zeros((33, 33, 1), np.float32)
    large = np.ones((96, 96, 1), np.float32)
    x, _ = helpers.random_patches([small, large], [small, large], patch_size=32, count=2000,
                                  rng=np.random.default_rng(1), intensity=0)
    share = float(x[:, 0, 0, 0].mean())  # 1 where the crop came from the large image
    assert share == pytest.approx(65**2 / (65**2 + 2**2), abs=0.01)


# --------------------------------------------------------------------------- against StarDist


def _random_labels(rng, shape=(48, 64)):
    """Random overlapping rectangles, numbered in random order (not sequential)."""
    labels = np.zeros(shape, np.int32)
    for value in rng.permutation(np.arange(1, rng.integers(2, 12)) * 3):
        r, c = rng.integers(0, shape[0] - 6), rng.integers(0, shape[1] - 6)
        labels[r : r + rng.integers(3, 16), c : c + rng.integers(3, 16)] = value
    return labels


def test_match_objects_agrees_with_stardist_matching():
    # StarDist's matching is the field's reference implementation; the course keeps its own
    # (StarDist's import rewrites warnings.formatwarning for the whole process, see the
    # module docstring) and checks that the two count alike.
    matching = pytest.importorskip("stardist.matching")
    import warnings

    saved = warnings.formatwarning
    try:
        rng = np.random.default_rng(2019)
        for _ in range(150):
            truth, found = _random_labels(rng), _random_labels(rng)
            if rng.random() < 0.5:  # a noisy copy of the truth: many matches
                found = np.where(rng.random(truth.shape) < 0.1, 0, truth)
            ours = match_objects(truth, found, thresholds=(0.1, 0.3, 0.5, 0.7, 0.9))
            for tau, counts in ours.items():
                theirs = matching.matching(truth, found, thresh=tau)
                assert (counts["tp"], counts["fp"], counts["fn"]) == \
                    (theirs.tp, theirs.fp, theirs.fn), tau
                if theirs.tp + theirs.fp + theirs.fn:
                    assert counts["ap"] == pytest.approx(theirs.accuracy)
                    assert counts["f1"] == pytest.approx(theirs.f1)
    finally:
        warnings.formatwarning = saved


# --------------------------------------------------------------------------- BioImage Model Zoo


@pytest.mark.slow
def test_write_bioimageio_package_passes_the_librarys_own_test(tmp_path):
    pytest.importorskip("bioimageio.core")
    import zipfile

    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((None, None, 1))
    model = keras.Model(inputs, keras.layers.Conv2D(3, 3, padding="same",
                                                    activation="softmax")(inputs))
    # Compiled with the course's own loss, as in notebook 03: the package must not need it.
    model.compile(optimizer="adam", loss=helpers.soft_jaccard_loss)
    segmenter = Segmenter(model, normalization=Normalization(), threshold=0.5, tile_size=32)
    result = helpers.write_bioimageio_package(segmenter, tmp_path / "nuclei.zip",
                                              example=_image(), name="test nuclei",
                                              description="a test")
    assert result["status"] == "passed" and result["failed"] == []
    with zipfile.ZipFile(tmp_path / "nuclei.zip") as package:
        names = set(package.namelist())
        assert {"rdf.yaml", "weights.keras", "settings.json", "README.md"} <= names
        rdf = package.read("rdf.yaml").decode()
    assert "scale_range" in rdf and "max_percentile: 99.8" in rdf and "clip" in rdf
    # A wrong expected output must fail the library's test: it is not a formality.
    # A package whose normalisation differs from the one the expected output was made
    # with must fail the library's test: it is not a formality.
    import helpers.segmenter as segmenter_module

    wrong = Segmenter(model, normalization=Normalization(low=30.0, high=60.0), threshold=0.5)
    real_as_dict = Normalization.as_dict
    try:
        Normalization.as_dict = lambda self: {"low": 1.0, "high": 99.8, "clip": True}
        with pytest.raises(RuntimeError, match="bioimageio.core's test of the package failed"):
            segmenter_module.write_bioimageio_package(wrong, tmp_path / "wrong.zip",
                                                      example=_image(), name="wrong",
                                                      description="a test")
    finally:
        Normalization.as_dict = real_as_dict
