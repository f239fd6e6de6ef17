"""Keras losses for segmentation: soft Jaccard (IoU), Dice, and BCE + Jaccard.

Introduced in notebook 01, section "Training"; notebook 02 compares them.

All three score each image over all its pixels and return one loss per image,
so Keras can average over the batch. With one sigmoid channel, both classes
(interior, and membrane as ``1 - p``) are scored and averaged, so the rare
membrane class counts as much as the common interior. With several softmax
channels, every channel is a class.

Compare keras-unet's ``jaccard_distance``: it sums over the *channel* axis only,
so with one channel it compares each pixel with itself, ``1 - (yp + s)/(y + p - yp + s)``,
and then averages over pixels. That is a per-pixel loss (close to L1, scaled by
its ``smooth=100``), not an IoU of the image, and it gives the rare membrane
pixels no extra weight, so a network can settle on "all interior".
"""

from __future__ import annotations

__all__ = ["bce_jaccard_loss", "custom_objects", "dice_loss", "soft_jaccard_loss"]

SMOOTH = 1.0  # keeps an empty class from dividing by zero


def _with_both_classes(y_true, y_pred):
    from keras import ops

    y_true = ops.cast(y_true, y_pred.dtype)
    if y_pred.shape[-1] == 1:
        y_true = ops.concatenate([1.0 - y_true, y_true], axis=-1)
        y_pred = ops.concatenate([1.0 - y_pred, y_pred], axis=-1)
    return y_true, y_pred


def _sums(y_true, y_pred):
    from keras import ops

    y_true, y_pred = _with_both_classes(y_true, y_pred)
    spatial = tuple(range(1, len(y_pred.shape) - 1))  # all axes but batch and class
    intersection = ops.sum(y_true * y_pred, axis=spatial)
    total = ops.sum(y_true, axis=spatial) + ops.sum(y_pred, axis=spatial)
    return intersection, total


def soft_jaccard_loss(y_true, y_pred):
    """1 - soft IoU, per image over all its pixels, averaged over classes.

    ``IoU = (sum(y * p) + 1) / (sum(y) + sum(p) - sum(y * p) + 1)`` with probabilities
    ``p`` in place of a hard mask, so it has a gradient.

    Parameters
    ----------
    y_true : tensor, shape (B, H, W, K)
        Masks in {0, 1} (one-hot when K > 1).
    y_pred : tensor, shape (B, H, W, K)
        Sigmoid (K = 1) or softmax probabilities.

    Returns
    -------
    tensor, shape (B,)

    Examples
    --------
    >>> import numpy as np
    >>> mask = np.array([[[[1.0], [0.0]]]])
    >>> float(soft_jaccard_loss(mask, mask)[0])
    0.0
    """
    from keras import ops

    intersection, total = _sums(y_true, y_pred)
    iou = (intersection + SMOOTH) / (total - intersection + SMOOTH)
    return 1.0 - ops.mean(iou, axis=-1)


def dice_loss(y_true, y_pred):
    """1 - soft Dice, per image over all its pixels, averaged over classes.

    Parameters
    ----------
    y_true, y_pred : tensor, shape (B, H, W, K)
        As for `soft_jaccard_loss`, and so is what it returns: one loss per image.

    Examples
    --------
    >>> import numpy as np
    >>> mask = np.array([[[[1.0], [0.0]]]])
    >>> [round(float(dice_loss(mask, guess)[0]), 3) for guess in (mask, 1 - mask)]
    [0.0, 0.667]
    """
    from keras import ops

    intersection, total = _sums(y_true, y_pred)
    dice = (2.0 * intersection + SMOOTH) / (total + SMOOTH)
    return 1.0 - ops.mean(dice, axis=-1)


def bce_jaccard_loss(y_true, y_pred):
    """Binary cross-entropy (mean over the image) plus `soft_jaccard_loss`.

    Cross-entropy gives strong, well-behaved gradients from the first step; the
    Jaccard term keeps the rare membrane class from being ignored.

    Parameters
    ----------
    y_true, y_pred : tensor
        As for `soft_jaccard_loss`, and so is what it returns.

    Examples
    --------
    >>> import numpy as np
    >>> mask = np.array([[[[1.0], [0.0]]]])
    >>> round(float(bce_jaccard_loss(mask, np.clip(mask, 0.01, 0.99))[0]), 3)
    0.02
    """
    from keras import losses, ops

    y_true_cast = ops.cast(y_true, y_pred.dtype)
    bce = losses.binary_crossentropy(y_true_cast, y_pred)  # (B, H, W)
    bce = ops.mean(bce, axis=tuple(range(1, len(bce.shape))))
    return bce + soft_jaccard_loss(y_true, y_pred)


def custom_objects() -> dict:
    """The course's losses by name, for ``keras.models.load_model(..., custom_objects=...)``.

    Examples
    --------
    >>> sorted(custom_objects())
    ['bce_jaccard_loss', 'dice_loss', 'soft_jaccard_loss']
    """
    return {
        "soft_jaccard_loss": soft_jaccard_loss,
        "dice_loss": dice_loss,
        "bce_jaccard_loss": bce_jaccard_loss,
    }
