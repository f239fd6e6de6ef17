"""Where the course runs: Colab or local, TPU/GPU/CPU, and the paths it writes to.

Introduced in notebook 01, section "Setup"; notebook 02 reuses it.
"""

from __future__ import annotations

import os
import platform
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "MODES",
    "CourseSetup",
    "Runtime",
    "detect_runtime",
    "distribution_strategy",
    "resolve_mode",
    "setup",
]

MODES = ("quick", "full")
MODE_VARIABLE = "UNET_COURSE_MODE"
COLAB_DRIVE = Path("/content/drive")
COLAB_COURSE_FOLDER = "unet-course"


@dataclass(frozen=True)
class Runtime:
    """What `detect_runtime` found.

    Attributes
    ----------
    platform : {"colab", "local"}
    accelerator : {"TPU", "GPU", "CPU"}
    devices : tuple of str
        Names of the accelerator devices (GPU model names, TPU cores); empty on CPU.
    python, tensorflow, keras : str or None
        Versions; ``None`` when the package is not installed (Colab TPU runtimes
        ship without TensorFlow).
    """

    platform: str
    accelerator: str
    devices: tuple[str, ...] = ()
    python: str = field(default_factory=platform.python_version)
    tensorflow: str | None = None
    keras: str | None = None

    @property
    def is_colab(self) -> bool:
        return self.platform == "colab"

    def summary(self) -> str:
        devices = f" ({', '.join(self.devices)})" if self.devices else ""
        return (
            f"Runtime: {self.platform}, accelerator: {self.accelerator}{devices}\n"
            f"Python {self.python}, TensorFlow {self.tensorflow or 'not installed'}, "
            f"Keras {self.keras or 'not installed'}"
        )

    def advice(self) -> str:
        """One paragraph of advice for this runtime; empty when all is well."""
        if self.tensorflow is None:
            if self.accelerator == "TPU":
                return (
                    "This is a TPU runtime, and Colab's TPU runtimes ship without TensorFlow. "
                    "Use a GPU instead: Runtime > Change runtime type > T4 GPU, then run all "
                    "cells again."
                )
            return "TensorFlow is not installed: run `pip install -r requirements.txt`."
        if self.accelerator == "GPU":
            return ""
        if self.accelerator == "TPU":
            return (
                "TPU found. The notebooks build their models inside "
                "`distribution_strategy().scope()`, so they run here, but a Colab GPU is "
                "simpler and well tested: Runtime > Change runtime type > T4 GPU."
            )
        if self.is_colab:
            return (
                "No GPU. Training will run in quick mode on the CPU, which is slow. "
                "Switch one on: Runtime > Change runtime type > Hardware accelerator: "
                "T4 GPU > Save, then Runtime > Run all."
            )
        return (
            "No GPU found: training runs on the CPU in quick mode (small budget). "
            "On a machine with an NVIDIA GPU, install TensorFlow with CUDA "
            "(`pip install 'tensorflow[and-cuda]'`) for full mode."
        )


@dataclass(frozen=True)
class CourseSetup:
    """What `setup` returns: the mode and where things live.

    Attributes
    ----------
    mode : {"quick", "full"}
        The training budget.
    runtime : Runtime
    data_dir : pathlib.Path or None
        Folder holding ``isbi2012/`` when one was configured (``UNET_COURSE_DATA``);
        ``None`` lets `load_isbi2012` use its own lookup order.
    output_dir : pathlib.Path
        Where predictions, logs and figures go (on Drive when it is mounted).
    checkpoint_dir : pathlib.Path
        Where model checkpoints go (inside `output_dir`).
    drive_mounted : bool
    seed : int
    """

    mode: str
    runtime: Runtime
    data_dir: Path | None
    output_dir: Path
    checkpoint_dir: Path
    drive_mounted: bool
    seed: int

    @property
    def quick(self) -> bool:
        return self.mode == "quick"


def _version(module_name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module_name)
    except PackageNotFoundError:
        return None


def _tpu_hint() -> bool:
    # Colab TPU VMs expose /dev/accel*; older runtimes set COLAB_TPU_ADDR.
    return bool(
        os.environ.get("COLAB_TPU_ADDR")
        or os.environ.get("TPU_NAME")
        or any(Path("/dev").glob("accel*"))
        or any(Path("/dev").glob("vfio/[0-9]*"))
    )


def detect_runtime() -> Runtime:
    """Report where the code runs, on which accelerator, with which versions.

    Imports TensorFlow when it is installed (to list devices), but changes no
    setting. Works without TensorFlow too, as on a Colab TPU runtime.

    Returns
    -------
    Runtime

    Examples
    --------
    >>> runtime = detect_runtime()
    >>> runtime.accelerator in {"TPU", "GPU", "CPU"}
    True
    """
    where = "colab" if "google.colab" in sys.modules else "local"
    tf_version = _version("tensorflow") or _version("tensorflow-cpu")
    keras_version = _version("keras")
    accelerator, devices = "CPU", ()
    if tf_version is not None:
        import tensorflow as tf

        tpus = tf.config.list_logical_devices("TPU")
        gpus = tf.config.list_physical_devices("GPU")
        if tpus:
            accelerator, devices = "TPU", tuple(d.name for d in tpus)
        elif gpus:
            accelerator = "GPU"
            devices = tuple(
                tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
                for gpu in gpus
            )
        elif _tpu_hint():
            accelerator = "TPU"
    elif _tpu_hint():
        accelerator = "TPU"
    return Runtime(
        platform=where,
        accelerator=accelerator,
        devices=devices,
        tensorflow=tf_version,
        keras=keras_version,
    )


def resolve_mode(*, runtime: Runtime | None = None, environ=None) -> str:
    """Choose the training budget: ``UNET_COURSE_MODE`` if set, else by hardware.

    Parameters
    ----------
    runtime : Runtime, optional
        Defaults to `detect_runtime()`; used only when the variable is unset.
    environ : mapping, optional
        Defaults to ``os.environ``.

    Returns
    -------
    {"quick", "full"}
        ``full`` on a GPU or TPU, ``quick`` on a CPU, unless the variable says otherwise.

    Raises
    ------
    ValueError
        If ``UNET_COURSE_MODE`` holds anything but ``quick`` or ``full``.

    Examples
    --------
    >>> resolve_mode(environ={"UNET_COURSE_MODE": "Quick"})
    'quick'
    """
    environ = os.environ if environ is None else environ
    value = environ.get(MODE_VARIABLE, "").strip().lower()
    if value:
        if value not in MODES:
            raise ValueError(
                f"{MODE_VARIABLE} must be 'quick' or 'full', got {environ[MODE_VARIABLE]!r}. "
                f"Unset it to choose by hardware, or set e.g. {MODE_VARIABLE}=quick."
            )
        return value
    runtime = detect_runtime() if runtime is None else runtime
    return "full" if runtime.accelerator in {"GPU", "TPU"} else "quick"


def _seed_everything(seed: int) -> None:
    try:
        import keras
    except ImportError:  # no Keras (a Colab TPU runtime): seed what there is
        random.seed(seed)
        np.random.seed(seed)  # noqa: NPY002 -- learners' own np.random calls use the legacy state
        return
    keras.utils.set_random_seed(seed)  # Python, NumPy (legacy state) and the backend together


def _enable_memory_growth() -> None:
    try:
        import tensorflow as tf
    except ImportError:
        return
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            # GPUs already initialised (setup() called twice): the setting stays as it was.
            pass


def _mount_drive(timeout_s: int) -> bool:
    """Mount Google Drive on Colab; return False (with a message) if it fails."""
    try:
        from google.colab import drive

        drive.mount(str(COLAB_DRIVE), force_remount=True, timeout_ms=timeout_s * 1000)
    except Exception as error:  # the mount can fail in many ways; all mean "no Drive"
        print(
            f"Google Drive was not mounted ({type(error).__name__}: {error}).\n"
            "Falling back to the runtime's local disk: outputs are lost when the runtime "
            "ends. To keep them, run this cell again and allow access to Drive."
        )
        return False
    return True


def setup(
    *,
    seed: int = 42,
    mount_drive: bool = True,
    drive_timeout_s: int = 120,
    output_dir: str | os.PathLike | None = None,
    verbose: bool = True,
) -> CourseSetup:
    """First call of every notebook: report the runtime, seed, choose the mode, find paths.

    It prints the runtime and advice, turns on GPU memory growth (so TensorFlow
    does not grab the whole GPU), seeds Python, NumPy and the backend, resolves
    ``UNET_COURSE_MODE``, and on Colab mounts Google Drive (falling back to local
    disk if that fails).

    Parameters
    ----------
    seed : int, default 42
    mount_drive : bool, default True
        On Colab, mount Drive so that outputs survive the runtime. Ignored elsewhere.
    drive_timeout_s : int, default 120
        How long to wait for the Drive mount.
    output_dir : path-like, optional
        Override where outputs go. Default: ``MyDrive/unet-course/outputs`` on
        Colab with Drive, ``UNET_COURSE_OUTPUTS`` if set, else ``./outputs``.
    verbose : bool, default True
        Print the summary and advice.

    Returns
    -------
    CourseSetup

    Examples
    --------
    >>> course = setup(verbose=False, mount_drive=False)  # doctest: +SKIP
    >>> course.mode in {"quick", "full"}  # doctest: +SKIP
    True
    """
    runtime = detect_runtime()
    _enable_memory_growth()
    _seed_everything(seed)
    mode = resolve_mode(runtime=runtime)

    drive_mounted = False
    if runtime.is_colab and mount_drive:
        drive_mounted = _mount_drive(drive_timeout_s)

    if output_dir is not None:
        outputs = Path(output_dir)
    elif drive_mounted:
        outputs = COLAB_DRIVE / "MyDrive" / COLAB_COURSE_FOLDER / "outputs"
    elif os.environ.get("UNET_COURSE_OUTPUTS"):
        outputs = Path(os.environ["UNET_COURSE_OUTPUTS"])
    else:
        outputs = Path.cwd() / "outputs"
    checkpoints = outputs / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)

    data = os.environ.get("UNET_COURSE_DATA")
    course = CourseSetup(
        mode=mode,
        runtime=runtime,
        data_dir=Path(data) if data else None,
        output_dir=outputs,
        checkpoint_dir=checkpoints,
        drive_mounted=drive_mounted,
        seed=seed,
    )
    if verbose:
        print(runtime.summary())
        advice = runtime.advice()
        if advice:
            print("Advice:", advice)
        source = "UNET_COURSE_MODE" if os.environ.get(MODE_VARIABLE) else "chosen by hardware"
        print(f"Mode: {mode} ({source}); seed: {seed}")
        print(f"Outputs: {outputs}" + (" (Google Drive)" if drive_mounted else ""))
    return course


def distribution_strategy():
    """Pick Keras's distribution engine for the hardware present.

    ``TPUStrategy`` when a TPU is reachable and TensorFlow can use it,
    ``MirroredStrategy`` for several GPUs, the default strategy otherwise.
    Build and compile models inside ``strategy.scope()``.

    Returns
    -------
    tf.distribute.Strategy

    Examples
    --------
    >>> strategy = distribution_strategy()  # doctest: +SKIP
    >>> with strategy.scope():  # doctest: +SKIP
    ...     model = build_model()
    """
    import tensorflow as tf

    if _tpu_hint():
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
            return tf.distribute.TPUStrategy(resolver)
        except (ValueError, RuntimeError, tf.errors.OpError) as error:
            print(f"A TPU was hinted at but TensorFlow cannot use it ({error}); not using it.")
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()
