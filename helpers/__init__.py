"""Plumbing for the course *Image segmentation with U-Net in Keras*.

Runtime, mode and paths (`helpers.runtime`), with TensorFlow's quiet start
(`helpers.tensorflow_start`), Google Drive (`helpers.drive`) and checkpoints that
survive a disconnect (`helpers.callbacks`); general data code (`helpers.data`), the
ISBI 2012 fetcher (`helpers.isbi`) and its offline look-alike (`helpers.synthetic`),
a learner's own folders (`helpers.folders`, with notebook 03's demonstration data
in `helpers.dsb2018`), nuclei as objects (`helpers.instances`) and the results
written for Fiji and napari (`helpers.segmenter`),
augmentation, tiling, metrics (the ISBI challenge's own in `helpers.challenge`),
losses, plots, and the settings the course U-Net is built with (`helpers.unet`). The
lesson itself (building, compiling and fitting the model) stays in the notebooks.
Importing this package prints nothing and changes no setting; TensorFlow is imported
only by the functions that need it.
"""

from helpers.augment import WORKSHOP_AUGMENT_ARGS, augmented_batches, random_patches
from helpers.budgets import BUDGETS
from helpers.callbacks import atomic_checkpoint
from helpers.challenge import (
    ISBI_THRESHOLDS,
    isbi_pixel_error,
    isbi_rand_error,
    isbi_scores,
    v_info,
    v_rand,
)
from helpers.data import (
    SPLIT,
    binarize_masks,
    load_image_mask_pairs,
    split_dataset,
    validate_pairs,
)
from helpers.dsb2018 import (
    DSB2018_ARCHIVE_URL,
    DemonstrationFolder,
    demonstration_folder,
    find_dsb2018,
    read_dsb2018_manifest,
)
from helpers.exercises import VERDICTS, check_answer
from helpers.export import export_round_trip
from helpers.folders import (
    IMAGE_EXTENSIONS,
    MASK_SUFFIXES,
    FolderData,
    check_folder,
    load_folder,
    read_image,
)
from helpers.instances import (
    BOWL_THRESHOLDS,
    INSTANCE_CLASSES,
    Normalization,
    interval_table,
    labels_from_probabilities,
    match_objects,
    object_scores,
    percentile_normalize,
    training_targets,
)
from helpers.intervals import Interval, bootstrap_interval
from helpers.isbi import (
    DATA_UNAVAILABLE,
    ISBI2012,
    ISBI2012_URL,
    CourseData,
    find_isbi2012,
    load_isbi2012,
    load_isbi2012_or_synthetic,
    read_manifest,
)
from helpers.losses import bce_jaccard_loss, custom_objects, dice_loss, soft_jaccard_loss
from helpers.metrics import (
    dice_per_class,
    evaluate,
    iou_per_class,
    membrane_edge_band,
    pixel_error,
    rand_error,
    split_merge_counts,
    threshold_sweep,
    variation_of_information,
    worst_tiles,
)
from helpers.plots import (
    OVERLAY_COLOURS,
    plot_error_map,
    plot_history,
    plot_samples,
    plot_unet,
    plot_worst_tiles,
)
from helpers.runtime import (
    CourseSetup,
    Runtime,
    detect_runtime,
    distribution_strategy,
    resolve_mode,
    setup,
)
from helpers.segmenter import Segmenter, write_bioimageio_package, write_results
from helpers.synthetic import (
    TISSUE_CLASSES,
    synthetic_membranes,
    synthetic_nuclei,
    synthetic_tissue,
)
from helpers.tensorflow_start import start_tensorflow
from helpers.tiling import (
    TileGrid,
    blend_weights,
    predict_non_overlapping,
    predict_tiled,
    predict_with_flips,
    tile_border_band,
    tile_grid,
    tile_starts,
)
from helpers.unet import (
    COURSE_UNET,
    ConvolutionExample,
    convolution_example,
    convolution_matrix,
    course_unet,
    set_batch_norm_momentum,
)
from helpers.weights import border_weight_map, class_balance_weights

__version__ = "0.1.0"

__all__ = [
    "BUDGETS",
    "VERDICTS",
    "check_answer",
    "BOWL_THRESHOLDS",
    "COURSE_UNET",
    "course_unet",
    "DSB2018_ARCHIVE_URL",
    "DemonstrationFolder",
    "FolderData",
    "IMAGE_EXTENSIONS",
    "INSTANCE_CLASSES",
    "MASK_SUFFIXES",
    "Normalization",
    "Segmenter",
    "check_folder",
    "demonstration_folder",
    "find_dsb2018",
    "interval_table",
    "labels_from_probabilities",
    "load_folder",
    "match_objects",
    "object_scores",
    "percentile_normalize",
    "read_dsb2018_manifest",
    "read_image",
    "synthetic_nuclei",
    "training_targets",
    "write_bioimageio_package",
    "write_results",
    "DATA_UNAVAILABLE",
    "ISBI2012",
    "ISBI2012_URL",
    "ISBI_THRESHOLDS",
    "OVERLAY_COLOURS",
    "SPLIT",
    "TISSUE_CLASSES",
    "Interval",
    "WORKSHOP_AUGMENT_ARGS",
    "atomic_checkpoint",
    "augmented_batches",
    "bce_jaccard_loss",
    "binarize_masks",
    "blend_weights",
    "bootstrap_interval",
    "border_weight_map",
    "class_balance_weights",
    "convolution_example",
    "convolution_matrix",
    "ConvolutionExample",
    "CourseData",
    "CourseSetup",
    "custom_objects",
    "detect_runtime",
    "dice_loss",
    "dice_per_class",
    "distribution_strategy",
    "evaluate",
    "export_round_trip",
    "find_isbi2012",
    "iou_per_class",
    "isbi_pixel_error",
    "isbi_rand_error",
    "isbi_scores",
    "load_image_mask_pairs",
    "load_isbi2012",
    "load_isbi2012_or_synthetic",
    "membrane_edge_band",
    "pixel_error",
    "plot_error_map",
    "plot_history",
    "plot_samples",
    "plot_unet",
    "plot_worst_tiles",
    "predict_non_overlapping",
    "predict_tiled",
    "predict_with_flips",
    "rand_error",
    "random_patches",
    "read_manifest",
    "resolve_mode",
    "Runtime",
    "set_batch_norm_momentum",
    "setup",
    "soft_jaccard_loss",
    "split_dataset",
    "split_merge_counts",
    "start_tensorflow",
    "synthetic_membranes",
    "synthetic_tissue",
    "threshold_sweep",
    "tile_border_band",
    "tile_grid",
    "tile_starts",
    "TileGrid",
    "validate_pairs",
    "v_info",
    "v_rand",
    "variation_of_information",
    "worst_tiles",
]
