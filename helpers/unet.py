"""The course U-Net's settings, and the small arrays notebook 01 checks its layers with.

Notebook 01 builds the model with keras-unet's ``custom_unet`` itself, as the lesson;
notebooks 02 and 03, the benchmarks and the slides build the same model with
`course_unet`. Compiling and fitting stay in the notebooks. This module holds only what
several places must agree on: the settings, the model built from them, the batch-norm
momentum change for short runs (notebook 02, the slides), and the convolution example
of notebook 01, section 1.5 (the notebook and the slides).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import NamedTuple

import numpy as np

__all__ = [
    "COURSE_UNET",
    "course_unet",
    "ConvolutionExample",
    "convolution_example",
    "convolution_matrix",
    "set_batch_norm_momentum",
]

#: keras-unet ``custom_unet`` arguments of the course U-Net, all but ``filters`` (16 in
#: quick mode, 32 in full mode). Introduced in notebook 01, section "4. The model", which
#: explains each; notebook 02, the benchmarks and the slides build the same. Read-only:
#: change one with ``{**COURSE_UNET, "num_classes": 3}``.
COURSE_UNET = MappingProxyType({
    "input_shape": (None, None, 1),  # any size that is a multiple of 2**num_layers
    "num_layers": 4,
    "dropout": 0.1,
    "dropout_type": "spatial",
    "use_batch_norm": True,
    "output_activation": "sigmoid",
})


def course_unet(filters: int, *, bn_momentum: float | None = None, name: str | None = None,
                **changes):
    """The course U-Net: keras-unet's ``custom_unet`` with `COURSE_UNET`, ready for arrays.

    Notebook 01, section 4, builds it step by step; everything else builds it here.
    keras-unet 0.1.2 declares the model's one input as a list, so Keras 3 warns each
    time the model is called on a plain array ("The structure of `inputs` doesn't
    match the expected structure"). The same layers, rewrapped with the input
    declared as it is passed, take arrays quietly; nothing else changes.

    Parameters
    ----------
    filters : int
        Feature maps in the first block (16 in quick mode, 32 in full mode:
        ``course.budget[notebook]["filters"]``).
    bn_momentum : float, optional
        When given, the momentum of every batch-norm layer (`set_batch_norm_momentum`;
        ``custom_unet`` has no option for it).
    name : str, optional
        The model's name (keras-unet's own by default).
    **changes
        ``custom_unet`` arguments that replace `COURSE_UNET`'s, e.g.
        ``num_classes=3, output_activation="softmax"``.

    Returns
    -------
    keras.Model

    Examples
    --------
    >>> import numpy as np
    >>> net = course_unet(4, num_layers=2)
    >>> tuple(net(np.zeros((1, 16, 16, 1), "float32")).shape)
    (1, 16, 16, 1)
    """
    if isinstance(filters, bool) or not isinstance(filters, int) or filters < 1:
        raise ValueError(f"filters must be a positive integer, got {filters!r}.")
    unknown = set(changes) - _CUSTOM_UNET_OPTIONS
    if unknown:
        raise TypeError(f"course_unet got unknown custom_unet option(s) {sorted(unknown)}; "
                        f"it takes {sorted(_CUSTOM_UNET_OPTIONS)}.")
    import keras
    from keras_unet.models import custom_unet

    net = custom_unet(filters=filters, **{**COURSE_UNET, **changes})
    net = keras.Model(net.inputs[0], net.outputs[0], name=name or net.name)
    if bn_momentum is not None:
        set_batch_norm_momentum(net, bn_momentum)
    return net


#: What keras-unet 0.1.2's ``custom_unet`` accepts besides ``filters``.
_CUSTOM_UNET_OPTIONS = frozenset({
    "input_shape", "num_classes", "activation", "use_batch_norm", "upsample_mode",
    "dropout", "dropout_change_per_layer", "dropout_type", "use_dropout_on_upsampling",
    "use_attention",
    "num_layers", "output_activation",
})


def set_batch_norm_momentum(model, momentum: float) -> int:
    """Set the momentum of every ``BatchNormalization`` layer of `model`; return how many.

    ``custom_unet`` has no option for it, and Keras's default (0.99) lets the running
    statistics that prediction uses lag far behind the weights in a run of a few
    hundred steps. Introduced in notebook 02, section 2, which measures the lag.

    Parameters
    ----------
    model : keras.Model
    momentum : float
        In (0, 1): the weight of the old running average at each training step.

    Returns
    -------
    int
        The number of layers changed.

    Examples
    --------
    >>> import keras
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.BatchNormalization()])
    >>> set_batch_norm_momentum(model, 0.9), model.layers[0].momentum
    (1, 0.9)
    """
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) \
            or not 0 < momentum < 1:
        raise ValueError(f"momentum must be a number in (0, 1), got {momentum!r}.")
    import keras

    changed = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = momentum
            changed += 1
    return changed


def convolution_matrix(kernel: np.ndarray, input_shape) -> np.ndarray:
    """The matrix C of a 'valid' 2-D convolution (Keras's cross-correlation) with `kernel`.

    Row ``i`` holds the kernel placed over the input at output pixel ``i`` (row-major),
    zeros elsewhere, so that ``C @ image.ravel()`` is the convolution and
    ``C.T @ output.ravel()`` the transposed convolution. Introduced in notebook 01,
    section 1.5.

    Parameters
    ----------
    kernel : ndarray, shape (kh, kw)
    input_shape : (int, int)
        Height and width of the input; at least the kernel's.

    Returns
    -------
    ndarray, shape ((H - kh + 1) * (W - kw + 1), H * W), float32

    Examples
    --------
    >>> convolution_matrix(np.array([[1.0, 2.0]]), (1, 3))
    array([[1., 2., 0.],
           [0., 1., 2.]], dtype=float32)
    """
    kernel = np.asarray(kernel, dtype="float32")
    if kernel.ndim != 2:
        raise ValueError(f"kernel must be 2-D (kh, kw), got shape {kernel.shape}.")
    height, width = (int(v) for v in input_shape)
    out_h, out_w = height - kernel.shape[0] + 1, width - kernel.shape[1] + 1
    if out_h < 1 or out_w < 1:
        raise ValueError(f"input_shape {(height, width)} is smaller than the kernel "
                         f"{kernel.shape}.")
    matrix = np.zeros((out_h * out_w, height * width), dtype="float32")
    for out_row in range(out_h):
        for out_col in range(out_w):
            window = np.zeros((height, width), dtype="float32")
            window[out_row : out_row + kernel.shape[0], out_col : out_col + kernel.shape[1]] = \
                kernel
            matrix[out_row * out_w + out_col] = window.ravel()
    return matrix


class ConvolutionExample(NamedTuple):
    """Notebook 01's example of section 1.5; see `convolution_example`."""

    kernel: np.ndarray
    image: np.ndarray
    small: np.ndarray
    matrix: np.ndarray


def convolution_example(seed: int = 0) -> ConvolutionExample:
    """A random 3x3 kernel, a 4x4 image, a 2x2 input and the 4x16 matrix C of the kernel.

    Notebook 01, section 1.5, checks Keras's ``Conv2D`` against ``C`` and
    ``Conv2DTranspose`` against ``C.T`` with these numbers; the slides draw them.

    Parameters
    ----------
    seed : int, default 0

    Returns
    -------
    ConvolutionExample
        ``kernel`` (3, 3) with integers in [-2, 2]; ``image`` (4, 4) and ``small``
        (2, 2) with integers in [0, 4]; ``matrix`` (4, 16), from `convolution_matrix`.
        All float32.

    Examples
    --------
    >>> example = convolution_example()
    >>> example.matrix.shape, bool((example.matrix[0, :3] == example.kernel[0]).all())
    ((4, 16), True)
    """
    rng = np.random.default_rng(seed)
    kernel = rng.integers(-2, 3, size=(3, 3)).astype("float32")
    image = rng.integers(0, 5, size=(4, 4)).astype("float32")
    small = rng.integers(0, 5, size=(2, 2)).astype("float32")
    return ConvolutionExample(kernel, image, small, convolution_matrix(kernel, image.shape))
