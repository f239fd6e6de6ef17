"""helpers.isbi and helpers.data: the manifest, the local mirror, pairing by index, validation,
splits."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from skimage.io import imread, imsave

import helpers
from helpers import (
    SPLIT,
    binarize_masks,
    find_isbi2012,
    load_image_mask_pairs,
    load_isbi2012,
    read_manifest,
    split_dataset,
    validate_pairs,
)

# --------------------------------------------------------------------------- the real data


def test_load_isbi2012_shapes_dtypes_ranges(isbi):
    images, masks, test_images = isbi
    for array in (images, masks, test_images):
        assert array.shape == (30, 512, 512, 1)
        assert array.dtype == np.float32
    assert 0.0 <= images.min() < 0.1 and 0.9 < images.max() <= 1.0
    assert 0.0 <= test_images.min() and test_images.max() <= 1.0
    assert set(np.unique(masks).tolist()) == {0.0, 1.0}
    assert masks.mean() == pytest.approx(0.78, abs=0.01)


def test_load_isbi2012_returns_named_tuple(isbi):
    assert isinstance(isbi, helpers.ISBI2012)
    assert isbi.images is isbi[0] and isbi.masks is isbi[1] and isbi.test_images is isbi[2]


@pytest.mark.parametrize("index", [0, 1, 2, 10, 19, 29])
def test_load_isbi2012_index_order(isbi, mirror, index):
    # a text sort would give 0, 1, 10, 11, ..., 19, 2, 20, ...: index 2 would hold 10.png
    image = imread(mirror / "train" / "image" / f"{index}.png")
    label = imread(mirror / "train" / "label" / f"{index}.png")
    test = imread(mirror / "test" / f"{index}.png")
    np.testing.assert_array_equal(isbi.images[index, ..., 0], (image / 255).astype(np.float32))
    np.testing.assert_array_equal(isbi.masks[index, ..., 0], (label >= 128).astype(np.float32))
    np.testing.assert_array_equal(isbi.test_images[index, ..., 0],
                                  (test / 255).astype(np.float32))


def test_load_isbi2012_images_differ_between_indices(isbi):
    # A loader that returned one file 30 times would pass the shape checks.
    flat = isbi.images.reshape(30, -1)
    assert len({hashlib.sha1(row.tobytes()).hexdigest() for row in flat}) == 30


def test_load_isbi2012_env_variable(mirror_root, monkeypatch, capsys):
    monkeypatch.setenv("UNET_COURSE_DATA", str(mirror_root))
    folder = find_isbi2012(verbose=True)
    assert folder == mirror_root / "isbi2012"
    out = capsys.readouterr().out
    assert "UNET_COURSE_DATA" in out and "verified" in out


def test_load_isbi2012_data_dir_overrides_env(mirror_root, monkeypatch, tmp_path):
    monkeypatch.setenv("UNET_COURSE_DATA", str(tmp_path / "nowhere"))
    assert find_isbi2012(data_dir=mirror_root) == mirror_root / "isbi2012"


def _parse_sums(path: Path) -> dict[str, str]:
    sums = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, name = line.split()
            sums[name.removeprefix("./")] = digest
    return sums


def test_read_manifest_matches_mirror(mirror):
    manifest = read_manifest()
    assert len(manifest) == 90
    assert manifest == _parse_sums(mirror / "SHA256SUMS")
    expected = {f"train/image/{i}.png" for i in range(30)} | {
        f"train/label/{i}.png" for i in range(30)} | {f"test/{i}.png" for i in range(30)}
    assert set(manifest) == expected
    assert all(len(d) == 64 and int(d, 16) >= 0 for d in manifest.values())


@pytest.mark.parametrize("name", ["train/image/0.png", "train/label/17.png", "test/29.png"])
def test_read_manifest_digest_of_mirror_file(mirror, name):
    digest = hashlib.sha256((mirror / name).read_bytes()).hexdigest()
    assert read_manifest()[name] == digest


# --------------------------------------------------------------------------- find_isbi2012 errors


@pytest.mark.parametrize("via", ["data_dir", "UNET_COURSE_DATA"])
def test_find_isbi2012_missing_folder(via, tmp_path, monkeypatch):
    missing = tmp_path / "no-such-folder"
    monkeypatch.delenv("UNET_COURSE_DATA", raising=False)
    kwargs = {}
    if via == "data_dir":
        kwargs["data_dir"] = missing
    else:
        monkeypatch.setenv("UNET_COURSE_DATA", str(missing))
    with pytest.raises(FileNotFoundError, match=via) as info:
        find_isbi2012(**kwargs)
    message = str(info.value)
    assert str(missing) in message
    assert "folder itself is missing" in message
    assert "Fix:" in message and "isbi2012/" in message


def test_find_isbi2012_folder_without_isbi2012(tmp_path):
    with pytest.raises(FileNotFoundError, match="data_dir") as info:
        find_isbi2012(data_dir=tmp_path)
    assert "isbi2012/" in str(info.value)


@pytest.fixture
def mirror_copy(mirror, tmp_path) -> Path:
    """A writable copy of the mirror: the folder holding isbi2012/."""
    root = tmp_path / "copy"
    shutil.copytree(mirror, root / "isbi2012")
    return root


@pytest.mark.parametrize("name", ["train/image/3.png", "train/label/12.png", "test/29.png"])
def test_find_isbi2012_corrupted_file(mirror_copy, name):
    path = mirror_copy / "isbi2012" / name
    data = bytearray(path.read_bytes())
    data[200:204] = b"\x00\x01\x02\x03" if data[200:204] != b"\x00\x01\x02\x03" else b"ABCD"
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="data_dir") as info:
        find_isbi2012(data_dir=mirror_copy)
    message = str(info.value)
    assert name in message
    assert "1 of 90" in message
    assert "sha256" in message


def test_find_isbi2012_missing_file(mirror_copy):
    (mirror_copy / "isbi2012" / "train" / "label" / "5.png").unlink()
    with pytest.raises(ValueError, match="train/label/5.png"):
        load_isbi2012(data_dir=mirror_copy, verbose=False)


# --------------------------------------------------------------------------- load_image_mask_pairs


def _write_pairs(tmp_path, image_names, mask_names, *, mask_values=(0, 255)):
    image_dir, mask_dir = tmp_path / "images", tmp_path / "masks"
    image_dir.mkdir()
    mask_dir.mkdir()
    shape = (6, 8)
    for name in image_names:
        index = int("".join(c for c in Path(name).stem if c.isdigit()))
        imsave(image_dir / name, np.full(shape, 10 * index + 3, dtype=np.uint8),
               check_contrast=False)
    for name in mask_names:
        index = int("".join(c for c in Path(name).stem if c.isdigit()))
        mask = np.full(shape, mask_values[0], dtype=np.uint8)
        mask[: index % 6 + 1] = mask_values[1]  # index+1 (mod 6) rows of interior
        imsave(mask_dir / name, mask, check_contrast=False)
    return image_dir, mask_dir


def test_load_image_mask_pairs_pairs_by_index(tmp_path):
    names = ["0.png", "1.png", "2.png", "10.png"]
    image_dir, mask_dir = _write_pairs(tmp_path, names, names)
    images, masks = load_image_mask_pairs(image_dir, mask_dir)
    assert images.shape == masks.shape == (4, 6, 8, 1)
    assert images.dtype == masks.dtype == np.float32
    for row, index in enumerate([0, 1, 2, 10]):
        np.testing.assert_allclose(images[row], (10 * index + 3) / 255, rtol=1e-6)
        assert masks[row, :, 0, 0].sum() == index % 6 + 1
    assert set(np.unique(masks).tolist()) == {0.0, 1.0}


def test_load_image_mask_pairs_different_names_same_index(tmp_path):
    image_dir, mask_dir = _write_pairs(tmp_path, ["img_07.png", "img_2.png"],
                                       ["mask_7.png", "mask_02.png"])
    images, masks = load_image_mask_pairs(image_dir, mask_dir)
    np.testing.assert_allclose(images[:, 0, 0, 0], np.array([23, 73]) / 255, rtol=1e-6)
    np.testing.assert_array_equal(masks[:, :, 0, 0].sum(axis=1), [3, 2])


def test_load_image_mask_pairs_masks_saved_as_0_1(tmp_path):
    names = ["0.png", "1.png"]
    image_dir, mask_dir = _write_pairs(tmp_path, names, names, mask_values=(0, 1))
    _, masks = load_image_mask_pairs(image_dir, mask_dir)
    np.testing.assert_array_equal(masks[:, :, 0, 0].sum(axis=1), [1, 2])


def test_load_image_mask_pairs_mismatched_indices(tmp_path):
    image_dir, mask_dir = _write_pairs(tmp_path, ["0.png", "1.png", "2.png"],
                                       ["0.png", "1.png", "3.png"])
    with pytest.raises(ValueError, match="image_dir") as info:
        load_image_mask_pairs(image_dir, mask_dir)
    message = str(info.value)
    assert "mask_dir" in message
    assert "images without a mask [2]" in message
    assert "masks without an image [3]" in message


def test_load_image_mask_pairs_mismatched_counts(tmp_path):
    image_dir, mask_dir = _write_pairs(tmp_path, ["0.png", "1.png", "2.png"],
                                       ["0.png", "1.png"])
    with pytest.raises(ValueError, match="image_dir has 3 files and mask_dir 2") as info:
        load_image_mask_pairs(image_dir, mask_dir)
    assert "images without a mask [2]" in str(info.value)
    assert "masks without an image []" in str(info.value)


@pytest.mark.parametrize(("folder", "argument"), [("images", "image_dir"), ("masks", "mask_dir")])
def test_load_image_mask_pairs_duplicate_index(tmp_path, folder, argument):
    image_names = ["0.png", "1.png", "01.png"] if folder == "images" else ["0.png", "1.png"]
    mask_names = ["0.png", "1.png", "01.png"] if folder == "masks" else ["0.png", "1.png"]
    image_dir, mask_dir = _write_pairs(tmp_path, image_names, mask_names)
    with pytest.raises(ValueError, match=argument) as info:
        load_image_mask_pairs(image_dir, mask_dir)
    assert "index 1" in str(info.value)
    assert "'01.png'" in str(info.value) and "'1.png'" in str(info.value)


def test_load_image_mask_pairs_name_without_index(tmp_path):
    image_dir, mask_dir = _write_pairs(tmp_path, ["0.png"], ["0.png"])
    imsave(image_dir / "cover.png", np.zeros((6, 8), np.uint8), check_contrast=False)
    with pytest.raises(ValueError, match="image_dir.*cover.png"):
        load_image_mask_pairs(image_dir, mask_dir)


def test_load_image_mask_pairs_missing_folder(tmp_path):
    image_dir, _ = _write_pairs(tmp_path, ["0.png"], ["0.png"])
    with pytest.raises(FileNotFoundError, match="mask_dir"):
        load_image_mask_pairs(image_dir, tmp_path / "nothing")


# --------------------------------------------------------------------------- validate_pairs


def _good(n=2, h=8, w=8):
    rng = np.random.default_rng(0)
    images = rng.random((n, h, w, 1)).astype(np.float32)
    masks = (rng.random((n, h, w, 1)) > 0.3).astype(np.float32)
    return images, masks


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, bool])
def test_validate_pairs_accepts_good_input(dtype):
    images, masks = _good()
    assert validate_pairs(images, masks.astype(dtype)) is None
    # one-hot masks for several classes are binary too
    onehot = np.eye(3, dtype=np.float32)[np.zeros((2, 8, 8), int)]
    assert validate_pairs(images, onehot) is None


@pytest.mark.parametrize("which", ["images", "masks"])
def test_validate_pairs_three_dimensional(which):
    images, masks = _good()
    arrays = {"images": images, "masks": masks}
    arrays[which] = arrays[which][..., 0]
    with pytest.raises(ValueError, match=rf"{which} must have 4 dimensions") as info:
        validate_pairs(arrays["images"], arrays["masks"])
    assert f"{which}[..., np.newaxis]" in str(info.value)


def test_validate_pairs_five_dimensional():
    images, masks = _good()
    with pytest.raises(ValueError, match="images must have 4 dimensions") as info:
        validate_pairs(images[np.newaxis], masks)
    assert "np.newaxis" not in str(info.value)  # adding an axis is not the fix here


def test_validate_pairs_count_mismatch():
    images, masks = _good(n=3)
    with pytest.raises(ValueError, match="3 images and 2 masks"):
        validate_pairs(images, masks[:2])


def test_validate_pairs_size_mismatch():
    images, _ = _good(h=8, w=8)
    _, masks = _good(h=8, w=9)
    with pytest.raises(ValueError, match=r"height and width.*\(8, 8\).*\(8, 9\)"):
        validate_pairs(images, masks)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_validate_pairs_non_finite_images(bad):
    images, masks = _good()
    images[1, 2, 3, 0] = bad
    images[0, 0, 0, 0] = bad
    with pytest.raises(ValueError, match="images contain 2 NaN or infinite"):
        validate_pairs(images, masks)


@pytest.mark.parametrize("scale", [255.0, -1.0])
def test_validate_pairs_images_out_of_range(scale):
    images, masks = _good()
    with pytest.raises(ValueError, match=r"images must lie in \[0, 1\]") as info:
        validate_pairs(images * scale, masks)
    if scale == 255:
        assert "divide 8-bit images by 255" in str(info.value)


@pytest.mark.parametrize("masks", [
    pytest.param((np.arange(2 * 8 * 8).reshape(2, 8, 8, 1) % 2 * 255).astype(np.uint8), id="0-255"),
    pytest.param(np.full((2, 8, 8, 1), 0.5, np.float32), id="interpolated"),
    pytest.param(np.linspace(0, 1, 128, dtype=np.float32).reshape(2, 8, 8, 1), id="blended"),
    pytest.param(np.full((2, 8, 8, 1), np.nan, np.float32), id="nan"),
])
def test_validate_pairs_non_binary_masks(masks):
    images, _ = _good()
    with pytest.raises(ValueError, match="masks must be binary") as info:
        validate_pairs(images, masks)
    assert "binarize_masks" in str(info.value)


# --------------------------------------------------------------------------- binarize_masks


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_binarize_masks_float(dtype):
    masks = np.array([0.0, 0.2, 0.49, 0.5, 0.51, 0.97, 1.0], dtype=dtype)
    result = binarize_masks(masks)
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, [0, 0, 0, 1, 1, 1, 1])


@pytest.mark.parametrize("threshold", [0.0, 0.25, 0.75, 1.0])
def test_binarize_masks_threshold(threshold):
    masks = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_array_equal(binarize_masks(masks, threshold=threshold),
                                  (masks >= threshold).astype(np.float32))


@pytest.mark.parametrize("dtype", [np.uint8])
def test_binarize_masks_uint8_0_255(dtype):
    masks = np.array([[0, 1, 127, 128, 254, 255]], dtype=dtype)
    result = binarize_masks(masks)
    assert result.dtype == np.float32 and result.shape == (1, 6)
    np.testing.assert_array_equal(result, [[0, 0, 0, 1, 1, 1]])


def test_binarize_masks_bool():
    masks = np.array([[True, False], [False, True]])
    result = binarize_masks(masks, threshold=0.9)
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, [[1, 0], [0, 1]])


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4, 1)])
def test_binarize_masks_keeps_shape(shape, rng):
    masks = rng.random(shape)
    result = binarize_masks(masks)
    assert result.shape == shape
    np.testing.assert_array_equal(result, masks >= 0.5)


@pytest.mark.parametrize(("masks", "expected"), [
    pytest.param(np.array([0, 1, 1], dtype=np.uint8), [0, 1, 1], id="uint8-0-1"),
    pytest.param(np.array([0, 1, 1], dtype=np.int64), [0, 1, 1], id="int64-0-1"),
    pytest.param(np.array([0, 255, 255], dtype=np.int64), [0, 1, 1], id="int64-0-255"),
    pytest.param(np.array([0, 255, 255], dtype=np.int32), [0, 1, 1], id="int32-0-255"),
    pytest.param(np.array([0, 255, 255], dtype=np.uint16), [0, 1, 1], id="uint16-0-255"),
])
def test_binarize_masks_integer_dtypes(masks, expected):
    np.testing.assert_array_equal(binarize_masks(masks), expected)


@pytest.mark.parametrize("threshold", [-0.1, 1.5, 255, np.nan])
def test_binarize_masks_bad_threshold(threshold):
    with pytest.raises(ValueError, match="threshold"):
        binarize_masks(np.zeros(3), threshold=threshold)


def test_binarize_masks_float_out_of_range():
    with pytest.raises(ValueError, match=r"masks: float values must lie in \[0, 1\]"):
        binarize_masks(np.array([0.0, 255.0]))


# --------------------------------------------------------------------------- split_dataset


def test_split_dataset_sizes_and_membership():
    # value i everywhere in image i, so membership can be read back
    images = (np.arange(30, dtype=np.float32) / 29)[:, None, None, None] * np.ones((30, 4, 5, 1))
    masks = np.zeros((30, 4, 5, 1), np.float32)
    masks[:, 0, 0, 0] = np.arange(30) % 2
    parts = split_dataset(images, masks)
    assert list(parts) == ["train", "validation", "test"]
    assert {k: len(v[0]) for k, v in parts.items()} == {"train": 24, "validation": 3, "test": 3}
    for name, (x, y) in parts.items():
        indices = np.rint(x[:, 0, 0, 0] * 29).astype(int).tolist()
        assert indices == list(SPLIT[name])
        np.testing.assert_array_equal(y[:, 0, 0, 0], np.array(SPLIT[name]) % 2)
    assert SPLIT["train"] == tuple(range(24))
    assert SPLIT["validation"] == (24, 25, 26)
    assert SPLIT["test"] == (27, 28, 29)


def test_split_dataset_disjoint_and_complete():
    # image i holds the value i / 29: every image lands in exactly one part
    images = (np.arange(30, dtype=np.float32) / 29)[:, None, None, None] * np.ones((30, 2, 2, 1))
    parts = split_dataset(images, np.ones((30, 2, 2, 1), np.float32))
    found = sorted(int(i) for x, _ in parts.values() for i in np.rint(x[:, 0, 0, 0] * 29))
    assert found == list(range(30))


def test_split_dataset_real_data(isbi):
    parts = split_dataset(isbi.images, isbi.masks)
    np.testing.assert_array_equal(parts["validation"][0], isbi.images[24:27])
    np.testing.assert_array_equal(parts["test"][1], isbi.masks[27:30])


def test_split_dataset_custom_split():
    images, masks = _good(n=5)
    parts = split_dataset(images, masks, split={"a": (4, 0), "b": [2]})
    np.testing.assert_array_equal(parts["a"][0], images[[4, 0]])
    np.testing.assert_array_equal(parts["b"][1], masks[[2]])


@pytest.mark.parametrize("n", [1, 20, 29])
def test_split_dataset_too_few_images(n):
    images, masks = _good(n=n)
    with pytest.raises(ValueError, match="images: the split needs at least 30 images") as info:
        split_dataset(images, masks)
    assert f"got {n}" in str(info.value)


def test_split_dataset_validates_pairs():
    images, masks = _good(n=30)
    with pytest.raises(ValueError, match="masks must be binary"):
        split_dataset(images, masks * 0.5)


# --------------------------------------------------------------- load_isbi2012_or_synthetic


@pytest.fixture
def small_synthetic(monkeypatch):
    """synthetic_membranes at 32 pixels, recording its calls: the fallback, made fast."""
    import helpers.synthetic

    calls = []
    real = helpers.synthetic.synthetic_membranes

    def small(n, *, size, seed):
        calls.append((n, size, seed))
        return real(n, size=32, seed=seed)

    monkeypatch.setattr(helpers.synthetic, "synthetic_membranes", small)
    return calls


@pytest.mark.parametrize("error", [ConnectionError("no network"), FileNotFoundError("no copy"),
                                   ValueError("3 files fail their sha256 check")])
def test_load_isbi2012_or_synthetic_falls_back_on_each_documented_error(
        error, small_synthetic, monkeypatch, capsys):
    import helpers.isbi

    assert isinstance(error, helpers.DATA_UNAVAILABLE)

    def unavailable(**kwargs):
        raise error

    monkeypatch.setattr(helpers.isbi, "load_isbi2012", unavailable)
    data = helpers.load_isbi2012_or_synthetic()
    assert data.synthetic
    assert small_synthetic == [(30, 512, 0), (30, 512, 1)]  # ISBI's shape: 30 + 30 at 512
    assert data.images.shape == data.masks.shape == data.test_images.shape == (30, 32, 32, 1)
    output = capsys.readouterr().out
    assert f"ISBI 2012 is not available here ({error})" in output
    assert "synthetic look-alike" in output


def test_load_isbi2012_or_synthetic_raises_any_other_error(small_synthetic, monkeypatch):
    import helpers.isbi

    def broken(**kwargs):
        raise RuntimeError("a bug, not missing data")

    monkeypatch.setattr(helpers.isbi, "load_isbi2012", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        helpers.load_isbi2012_or_synthetic()
    assert small_synthetic == []


def test_load_isbi2012_or_synthetic_loads_isbi_when_it_can(isbi, mirror_root, monkeypatch,
                                                           small_synthetic):
    monkeypatch.setenv("UNET_COURSE_DATA", str(mirror_root))
    data = helpers.load_isbi2012_or_synthetic(verbose=False)
    assert not data.synthetic and small_synthetic == []
    np.testing.assert_array_equal(data.masks, isbi.masks)
