"""helpers.plot_unet: a U-Net's structure drawn from its own layers, with matplotlib only."""

from __future__ import annotations

import pytest

pytest.importorskip("keras_unet")

import helpers  # noqa: E402
from helpers.plots import _unet_blocks  # noqa: E402


@pytest.fixture(scope="module")
def custom_unet_factory():
    from keras_unet.models import custom_unet

    def build(num_layers=4, filters=4, input_shape=(None, None, 1)):
        return custom_unet(input_shape=input_shape, filters=filters, num_layers=num_layers,
                           use_batch_norm=True, dropout=0.1, dropout_type="spatial")

    return build


@pytest.mark.parametrize("num_layers", [2, 4])
def test_unet_blocks_levels_follow_the_u(custom_unet_factory, num_layers):
    blocks = _unet_blocks(custom_unet_factory(num_layers=num_layers), 128)
    down = list(range(num_layers + 1))
    # input, the encoder's blocks, the bottom, the decoder's blocks, the 1x1 output.
    assert [block["level"] for block in blocks] == [0, *down, *down[-2::-1], 0]


def test_unet_blocks_shapes_for_the_input_size(custom_unet_factory):
    blocks = _unet_blocks(custom_unet_factory(num_layers=4, filters=4), 128)
    shapes = [block["shape"] for block in blocks]
    assert shapes[0] == (128, 128, 1)
    assert shapes[5] == (8, 8, 64)  # 128 / 2**4 pixels, 4 * 2**4 filters
    assert shapes[-2] == (128, 128, 4)
    assert shapes[-1] == (128, 128, 1)


def test_unet_blocks_skips_join_blocks_of_the_same_level(custom_unet_factory):
    blocks = _unet_blocks(custom_unet_factory(num_layers=3), 64)
    skips = [(source, index) for index, block in enumerate(blocks) for source in block["skips"]]
    assert len(skips) == 3
    for source, target in skips:
        assert blocks[source]["level"] == blocks[target]["level"]
        assert blocks[source]["shape"][:2] == blocks[target]["shape"][:2]
        assert "concat (skip)" in blocks[target]["ops"]


def test_unet_blocks_follow_valid_padding_of_the_paper():
    from keras_unet.models import vanilla_unet

    blocks = _unet_blocks(vanilla_unet((572, 572, 1), filters=2), None)
    # The U-Net paper's Fig. 1: 572 -> 568 -> 280 -> 136 -> 64 -> 28 -> 52 -> 100 -> 196 -> 388.
    assert [block["shape"][0] for block in blocks] == [572, 568, 280, 136, 64, 28, 52, 100, 196,
                                                       388, 388]
    assert [block["level"] for block in blocks] == [0, 0, 1, 2, 3, 4, 3, 2, 1, 0, 0]


def test_plot_unet_draws_one_box_per_block_into_the_given_axes(custom_unet_factory,
                                                              close_figures):
    import matplotlib.pyplot as plt

    model = custom_unet_factory(num_layers=2)
    fig, ax = plt.subplots()
    returned = helpers.plot_unet(model, input_size=32, ax=ax)
    assert returned is fig
    assert len(ax.patches) == len(_unet_blocks(model, 32))
    assert f"{model.count_params():,} parameters" in ax.get_title()
    texts = [text.get_text() for text in ax.texts]
    assert "32\u00d732\u00d71" in texts and "8\u00d78\u00d716" in texts


def test_plot_unet_makes_its_own_figure(custom_unet_factory, close_figures):
    fig = helpers.plot_unet(custom_unet_factory(num_layers=2), title="mine")
    assert fig.axes[0].get_title() == "mine"
    assert "128\u00d7128\u00d71" in [text.get_text() for text in fig.axes[0].texts]


@pytest.mark.parametrize("input_size", [0, -16, 12.5, "128", True])
def test_plot_unet_rejects_a_bad_input_size(custom_unet_factory, input_size):
    with pytest.raises(ValueError, match="input_size must be a positive int"):
        helpers.plot_unet(custom_unet_factory(num_layers=2), input_size=input_size)


@pytest.mark.parametrize("fontsize", [0, -3, "9", None])
def test_plot_unet_rejects_a_bad_fontsize(custom_unet_factory, fontsize):
    with pytest.raises(ValueError, match="fontsize must be a positive number"):
        helpers.plot_unet(custom_unet_factory(num_layers=2), fontsize=fontsize)


def test_plot_unet_rejects_a_size_the_model_does_not_take(custom_unet_factory):
    with pytest.raises(ValueError, match="input_size must be 64"):
        helpers.plot_unet(custom_unet_factory(num_layers=2, input_shape=(64, 64, 1)),
                          input_size=128)


def test_plot_unet_rejects_what_is_not_a_model():
    with pytest.raises(TypeError, match="model must be a keras.Model, got list"):
        helpers.plot_unet([1, 2, 3])
