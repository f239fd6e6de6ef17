"""helpers.folders: reading a learner's own folders, and every kind of bad or unusual input.

Each unusual input is either converted as documented (16-bit, RGB, 0/255, instance
labels, the Bowl's layout, stray files) or refused with a ValueError that names the
file, the problem and the fix, before anything is returned.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile

import helpers
from helpers import check_folder, load_folder, read_image


def _folders(tmp_path: Path) -> tuple[Path, Path]:
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    return images, masks


def _labels(shape=(20, 30)) -> np.ndarray:
    labels = np.zeros(shape, np.uint16)
    labels[2:8, 2:8] = 1
    labels[2:8, 8:14] = 2  # touches object 1
    labels[12:18, 20:28] = 3
    return labels


def _problems(error: pytest.ExceptionInfo) -> list[str]:
    return [line for line in str(error.value).splitlines() if line.startswith("  - ")]


# --------------------------------------------------------------------------- conversions


def test_load_folder_16_bit_tiff_keeps_stored_values(tmp_path):
    images, masks = _folders(tmp_path)
    stored = np.arange(600, dtype=np.uint16).reshape(20, 30) * 100
    tifffile.imwrite(images / "a.tif", stored)
    tifffile.imwrite(masks / "a.tif", _labels())
    data = load_folder(images, masks, verbose=False)
    assert data.images[0].dtype == np.float32 and data.images[0].shape == (20, 30, 1)
    np.testing.assert_array_equal(data.images[0][..., 0], stored)
    assert data.table.loc[0, "dtype"] == "uint16" and data.table.loc[0, "max"] == 59900


def test_load_folder_32_bit_float_image(tmp_path):
    images, masks = _folders(tmp_path)
    tifffile.imwrite(images / "a.tif", np.linspace(-1, 1, 600, dtype=np.float32).reshape(20, 30))
    tifffile.imwrite(masks / "a.tif", _labels())
    data = load_folder(images, masks, verbose=False)
    assert data.images[0].min() == -1 and data.images[0].max() == 1


def test_load_folder_rgb_image_becomes_grey_or_keeps_channels(tmp_path):
    images, masks = _folders(tmp_path)
    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 100, 200, 50
    iio.imwrite(images / "a.png", rgb)
    tifffile.imwrite(masks / "a_mask.tif", _labels())
    grey = load_folder(images, masks, verbose=False)
    # scikit-image's rgb2gray weights, on the stored values
    expected = 0.2125 * 100 + 0.7154 * 200 + 0.0721 * 50
    np.testing.assert_allclose(grey.images[0], expected, rtol=1e-5)
    assert grey.table.loc[0, "converted"] == "RGB to grey"
    kept = load_folder(images, masks, channels="rgb", verbose=False)
    assert kept.images[0].shape == (20, 30, 3)
    np.testing.assert_array_equal(kept.images[0][0, 0], [100, 200, 50])


def test_load_folder_rgba_with_equal_channels_is_one_exact_channel(tmp_path):
    images, masks = _folders(tmp_path)
    grey = np.arange(600, dtype=np.uint8).reshape(20, 30)
    iio.imwrite(images / "a.png", np.stack([grey, grey, grey, np.full_like(grey, 255)], -1))
    tifffile.imwrite(masks / "a.tif", _labels())
    data = load_folder(images, masks, verbose=False)
    np.testing.assert_array_equal(data.images[0][..., 0], grey)
    assert data.table.loc[0, "converted"] == "alpha dropped; RGB with R = G = B: one channel"


@pytest.mark.parametrize("foreground", [1, 255, 65535])
def test_load_folder_binary_mask_any_foreground_value(tmp_path, foreground):
    images, masks = _folders(tmp_path)
    tifffile.imwrite(images / "a.tif", np.zeros((20, 30), np.uint8))
    binary = (_labels() > 0).astype(np.uint16) * foreground
    tifffile.imwrite(masks / "a.tif", binary)
    data = load_folder(images, masks, verbose=False)
    # objects 1 and 2 touch: a binary mask cannot tell them apart
    assert data.masks[0].max() == 2
    assert data.table.loc[0, "mask"] == f"binary 0/{foreground}: objects by connected components"


def test_load_folder_instance_labels_renumbered(tmp_path):
    images, masks = _folders(tmp_path)
    tifffile.imwrite(images / "a.tif", np.zeros((20, 30), np.uint8))
    labels = _labels()
    labels[labels == 3] = 70
    tifffile.imwrite(masks / "a_labels.tif", labels)
    data = load_folder(images, masks, verbose=False)
    assert data.masks[0].dtype == np.int32
    assert np.unique(data.masks[0]).tolist() == [0, 1, 2, 3]
    assert data.table.loc[0, "objects"] == 3 and data.table.loc[0, "mask"] == "labels"


def test_load_folder_mask_suffixes_and_one_folder_for_both(tmp_path):
    for k, suffix in enumerate(("_mask", "_masks", "_label", "_labels", "")):
        tifffile.imwrite(tmp_path / f"img{k}.tif", np.zeros((20, 30), np.uint8))
        if suffix:
            tifffile.imwrite(tmp_path / f"img{k}{suffix}.tif", _labels())
    other = tmp_path / "masks"
    other.mkdir()
    tifffile.imwrite(other / "img4.png", _labels().astype(np.uint8))
    with pytest.raises(ValueError, match="img4.tif: no mask pairs with this image"):
        load_folder(tmp_path, tmp_path, verbose=False)
    (tmp_path / "img4.tif").unlink()
    data = load_folder(tmp_path, tmp_path, verbose=False)
    assert data.names == ["img0", "img1", "img2", "img3"]
    assert all(mask.max() == 3 for mask in data.masks)


def test_load_folder_sizes_may_differ_and_need_not_be_square(tmp_path):
    images, masks = _folders(tmp_path)
    for name, shape in (("a", (20, 30)), ("b", (33, 17))):
        tifffile.imwrite(images / f"{name}.tif", np.ones(shape, np.uint8))
        tifffile.imwrite(masks / f"{name}.tif", _labels((40, 40))[: shape[0], : shape[1]])
    data = load_folder(images, masks, verbose=False)
    assert [image.shape for image in data.images] == [(20, 30, 1), (33, 17, 1)]


def test_load_folder_stray_files_are_ignored_and_reported(tmp_path, capsys):
    images, masks = _folders(tmp_path)
    tifffile.imwrite(images / "a.tif", np.zeros((20, 30), np.uint8))
    tifffile.imwrite(masks / "a.tif", _labels())
    for stray in (images / ".DS_Store", images / "notes.txt", images / "Thumbs.db",
                  masks / "log.csv"):
        stray.write_text("not an image")
    (images / "subfolder").mkdir()
    data = load_folder(images, masks)
    assert data.names == ["a"]
    out = capsys.readouterr().out
    assert "ignored 4 files that are not images by their name" in out
    assert ".DS_Store" in out and "notes.txt" in out and "masks: log.csv" in out


def test_load_folder_images_alone_for_prediction(tmp_path):
    tifffile.imwrite(tmp_path / "a.tif", np.zeros((20, 30), np.uint8))
    data = load_folder(tmp_path, verbose=False)
    assert data.masks is None and "objects" not in data.table


def test_load_folder_bowl_layout_one_file_per_object(tmp_path):
    sample = tmp_path / "abc" / "images"
    sample.mkdir(parents=True)
    (tmp_path / "abc" / "masks").mkdir()
    iio.imwrite(sample / "abc.png", np.zeros((20, 30, 4), np.uint8))
    for k in (1, 2, 3):
        iio.imwrite(tmp_path / "abc" / "masks" / f"m{k}.png",
                    ((_labels() == k) * 255).astype(np.uint8))
    overlap = ((_labels() == 3) * 255).astype(np.uint8)
    overlap[12, 19] = 255  # m4 repeats all 48 pixels of object 3, and adds one of its own
    iio.imwrite(tmp_path / "abc" / "masks" / "m4.png", overlap)
    data = load_folder(tmp_path, verbose=False)
    assert data.names == ["abc"] and data.masks[0].max() == 4
    assert data.masks[0][12, 20] == 3  # the first file (by name) keeps a shared pixel
    assert np.count_nonzero(data.masks[0] == 4) == 1
    assert data.table.loc[0, "overlapping pixels"] == 48


def test_check_folder_prints_the_table(tmp_path, capsys):
    images, masks = _folders(tmp_path)
    tifffile.imwrite(images / "a.tif", np.full((20, 30), 7, np.uint16))
    tifffile.imwrite(masks / "a.tif", _labels())
    table = check_folder(images, masks)
    out = capsys.readouterr().out
    assert table.loc[0, ["height", "width", "objects"]].tolist() == [20, 30, 3]
    for column in ("name", "height", "width", "dtype", "min", "max", "mask", "objects"):
        assert column in out
    assert "1 images, 3 objects, read from" in out


def test_check_folder_empty_mask_warns_and_is_kept(tmp_path):
    images, masks = _folders(tmp_path)
    tifffile.imwrite(images / "a.tif", np.zeros((20, 30), np.uint8))
    tifffile.imwrite(masks / "a.tif", np.zeros((20, 30), np.uint8))
    with pytest.warns(UserWarning, match=r"a.tif: the mask is empty \(no objects\)"):
        data = load_folder(images, masks, verbose=False)
    assert data.masks[0].max() == 0


# --------------------------------------------------------------------------- refusals


def _one_problem(images, masks, match):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError) as error:
            load_folder(images, masks, verbose=False)
    problems = _problems(error)
    assert len(problems) == 1, problems
    assert "nothing was trained or written" in str(error.value)
    assert "Fix:" in problems[0]
    assert match in problems[0], problems[0]
    return problems[0]


def test_load_folder_refuses_unpaired_names(tmp_path):
    images, masks = _folders(tmp_path)
    tifffile.imwrite(images / "a.tif", np.zeros((20, 30), np.uint8))
    tifffile.imwrite(images / "b.tif", np.zeros((20, 30), np.uint8))
    tifffile.imwrite(masks / "a.tif", _labels())
    tifffile.imwrite(masks / "c_mask.tif", _labels())
    with pytest.raises(ValueError) as error:
        load_folder(images, masks, verbose=False)
    problems = _problems(error)
    assert len(problems) == 2
    assert "b.tif: no mask pairs with this image. Fix: name its mask b.tif or b_mask.tif" \
        in problems[0]
    assert "c_mask.tif: no image pairs with this mask" in problems[1]


def test_load_folder_refuses_two_files_with_one_name(tmp_path):
    images, masks = _folders(tmp_path)
    tifffile.imwrite(images / "a.tif", np.zeros((20, 30), np.uint8))
    iio.imwrite(images / "a.png", np.zeros((20, 30), np.uint8))
    tifffile.imwrite(masks / "a.tif", _labels())
    _one_problem(images, masks, "a.tif: it has the same name as a.png")


def test_load_folder_refuses_image_and_mask_of_different_shapes(tmp_path):
    images, masks = _folders(tmp_path)
    tifffile.imwrite(images / "a.tif", np.zeros((20, 30), np.uint8))
    tifffile.imwrite(masks / "a.tif", _labels((30, 20)))
    problem = _one_problem(images, masks, "the mask is 30 x 20, its image a.tif 20 x 30")
    assert "never resize a mask" in problem


@pytest.mark.parametrize("mask, match", [
    (np.linspace(0, 1, 600).reshape(20, 30), "not whole numbers (a probability map?)"),
    (np.where(_labels() > 0, 2, 1).astype(np.uint8), "the mask has no background 0"),
    (_labels().astype(np.int16) - 1, "some negative"),
])
def test_load_folder_refuses_mask_neither_binary_nor_labels(tmp_path, mask, match):
    images, masks = _folders(tmp_path)
    tifffile.imwrite(images / "a.tif", np.zeros((20, 30), np.uint8))
    tifffile.imwrite(masks / "a.tif", mask)
    _one_problem(images, masks, match)


def test_load_folder_refuses_rgb_mask(tmp_path):
    images, masks = _folders(tmp_path)
    tifffile.imwrite(images / "a.tif", np.zeros((20, 30), np.uint8))
    iio.imwrite(masks / "a.png", np.stack([_labels().astype(np.uint8) * 80] * 3, axis=-1))
    problem = _one_problem(images, masks, "an RGB mask (shape (20, 30, 3))")
    assert "Image > Type" in problem


@pytest.mark.parametrize("where", ["image", "mask"])
def test_load_folder_refuses_a_stack(tmp_path, where):
    images, masks = _folders(tmp_path)
    stack = np.zeros((5, 20, 30), np.uint8)
    tifffile.imwrite(images / "a.tif", stack if where == "image" else stack[0])
    tifffile.imwrite(masks / "a.tif", stack.astype(np.uint16) if where == "mask" else _labels())
    problem = _one_problem(images, masks, f"a stack of shape (5, 20, 30) where one 2-D {where}")
    assert "Stack to Images" in problem


def test_load_folder_refuses_a_file_that_is_not_an_image(tmp_path):
    images, masks = _folders(tmp_path)
    (images / "a.tif").write_text("this is text, saved with a .tif name")
    tifffile.imwrite(masks / "a.tif", _labels())
    problem = _one_problem(images, masks, "a.tif: not an image that can be read")
    assert "save it again as TIFF" in problem


def test_load_folder_lists_every_problem_at_once(tmp_path):
    images, masks = _folders(tmp_path)
    tifffile.imwrite(images / "a.tif", np.zeros((20, 30), np.uint8))
    tifffile.imwrite(masks / "a.tif", _labels((30, 20)))
    (images / "b.png").write_bytes(b"\x89PNG broken")
    tifffile.imwrite(masks / "b.tif", _labels())
    tifffile.imwrite(images / "c.tif", np.zeros((20, 30), np.uint8))
    with pytest.raises(ValueError, match="^3 problems in the folders") as error:
        load_folder(images, masks, verbose=False)
    assert len(_problems(error)) == 3


def test_load_folder_missing_or_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="image_dir: the folder .* does not exist"):
        load_folder(tmp_path / "nowhere", verbose=False)
    with pytest.raises(FileNotFoundError, match="image_dir: no images"):
        load_folder(tmp_path, verbose=False)


def test_load_folder_bad_channels_argument(tmp_path):
    with pytest.raises(ValueError, match="channels must be one of"):
        load_folder(tmp_path, channels="RGB", verbose=False)


def test_read_image_names_the_file_and_extension(tmp_path):
    (tmp_path / "a.bmp").write_bytes(b"")
    with pytest.raises(ValueError, match=r"a.bmp: not an image file by its extension"):
        read_image(tmp_path / "a.bmp")


# --------------------------------------------------------------------------- demonstration


def test_demonstration_folder_offline_writes_the_look_alike(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("UNET_COURSE_DATA", raising=False)
    import helpers.dsb2018 as dsb

    def offline(**_):
        raise ConnectionError("no network here")

    monkeypatch.setattr(dsb, "find_dsb2018", offline)
    folder = helpers.demonstration_folder(tmp_path)
    assert folder.synthetic and "DSB 2018 is not available here (no network here)" in \
        capsys.readouterr().out
    data = load_folder(folder.image_dir, folder.mask_dir, verbose=False)
    assert len(data.images) == 60 and data.images[0].dtype == np.float32
    assert len({image.shape for image in data.images}) > 1
    assert all(mask.max() > 5 for mask in data.masks)
