"""Plumbing for the course *Image segmentation with U-Net in Keras*.

Runtime and paths, data fetching and validation, augmentation, tiling,
metrics, losses and plots. The lesson itself (building, compiling and fitting
the model) stays in the notebooks. Importing this package prints nothing and
changes no setting; TensorFlow is imported only by the functions that need it.
"""

from helpers.augment import augmented_batches, random_patches
from helpers.datasets.isbi import (
    ISBI2012,
    ISBI2012_URL,
    SPLIT,
    binarize_masks,
    find_isbi2012,
    load_image_mask_pairs,
    load_isbi2012,
    read_manifest,
    split_dataset,
    validate_pairs,
)
from helpers.datasets.synthetic import TISSUE_CLASSES, synthetic_membranes, synthetic_tissue
from helpers.export import export_round_trip
from helpers.intervals import Interval, bootstrap_interval
from helpers.losses import bce_jaccard_loss, custom_objects, dice_loss, soft_jaccard_loss
from helpers.metrics import (
    dice_per_class,
    evaluate,
    iou_per_class,
    pixel_error,
    rand_error,
    threshold_sweep,
    variation_of_information,
)
from helpers.plots import plot_error_map, plot_history, plot_samples, plot_unet
from helpers.runtime import (
    CourseSetup,
    Runtime,
    atomic_checkpoint,
    detect_runtime,
    distribution_strategy,
    resolve_mode,
    setup,
    training_log,
)
from helpers.tiling import TileGrid, blend_weights, predict_tiled, tile_grid, tile_starts
from helpers.weights import border_weight_map, class_balance_weights

__version__ = "0.1.0"

__all__ = [
    "ISBI2012",
    "ISBI2012_URL",
    "SPLIT",
    "TISSUE_CLASSES",
    "TileGrid",
    "CourseSetup",
    "Interval",
    "Runtime",
    "atomic_checkpoint",
    "augmented_batches",
    "bce_jaccard_loss",
    "binarize_masks",
    "blend_weights",
    "bootstrap_interval",
    "border_weight_map",
    "class_balance_weights",
    "custom_objects",
    "detect_runtime",
    "dice_loss",
    "dice_per_class",
    "distribution_strategy",
    "evaluate",
    "export_round_trip",
    "find_isbi2012",
    "iou_per_class",
    "load_image_mask_pairs",
    "load_isbi2012",
    "pixel_error",
    "plot_error_map",
    "plot_history",
    "plot_samples",
    "plot_unet",
    "predict_tiled",
    "rand_error",
    "random_patches",
    "read_manifest",
    "resolve_mode",
    "setup",
    "soft_jaccard_loss",
    "split_dataset",
    "synthetic_membranes",
    "synthetic_tissue",
    "threshold_sweep",
    "tile_grid",
    "tile_starts",
    "training_log",
    "validate_pairs",
    "variation_of_information",
]
