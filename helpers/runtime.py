"""Where the course runs: Colab or local, TPU/GPU/CPU, the training mode, and the outputs folder.

Introduced in notebook 01, section "Setup"; notebooks 02 and 03 reuse it. `setup` is
the first call of every notebook: it starts TensorFlow (`helpers.tensorflow_start`),
reports the runtime, seeds, chooses the mode, and on Colab keeps the outputs on
Google Drive (`helpers.drive`). `distribution_strategy` picks Keras's engine for the
hardware found.
"""

from __future__ import annotations

import os
import platform
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Called through their modules (drive._mount_drive, ...), so that a test that patches
# helpers.drive._mount_drive changes what setup() calls.
from helpers import drive, tensorflow_start

# Re-exported for `helpers.tiling`, which imports it from here; its home is
# helpers.tensorflow_start.
from helpers.tensorflow_start import _import_keras_unet  # noqa: F401

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
MODE_CHOICES = ("auto", *MODES)
MODE_VARIABLE = "UNET_COURSE_MODE"
TPU_ADVICE = (
    "This is a TPU runtime, and Colab's TPU runtimes ship without TensorFlow. "
    "Use a GPU instead: Runtime > Change runtime type > T4 GPU > Save, then "
    "Runtime > Run all."
)
# Where Colab mounts Drive. `setup` reads it at call time, so that tests, and the stand-in
# Colab in tests/colab_stand_in, can point it at a temporary folder.
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
                return TPU_ADVICE
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
        The training budget's name; `budget` holds its numbers.
    runtime : Runtime
    output_dir : pathlib.Path
        Where predictions, logs and figures go (on Drive when it is mounted).
    checkpoint_dir : pathlib.Path
        Where model checkpoints go (inside `output_dir`).
    drive_mounted : bool
    seed : int
    """

    mode: str
    runtime: Runtime
    output_dir: Path
    checkpoint_dir: Path
    drive_mounted: bool
    seed: int

    @property
    def quick(self) -> bool:
        return self.mode == "quick"

    @property
    def budget(self):
        """This mode's training budgets, by notebook: ``helpers.BUDGETS[self.mode]``.

        Examples
        --------
        >>> from helpers.runtime import CourseSetup, detect_runtime
        >>> course = CourseSetup("quick", detect_runtime(), Path("outputs"),
        ...                      Path("outputs/checkpoints"), False, 42)
        >>> course.budget["01_introduction"]["filters"]
        16
        """
        from helpers.budgets import BUDGETS

        return BUDGETS[self.mode]


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

    Imports TensorFlow when it is installed, and lists its *physical* devices
    only: that does not initialise TensorFlow's runtime, so GPU settings (memory
    growth) can still change afterwards. Works without TensorFlow too, as on a
    Colab TPU runtime.

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

        tpus = tf.config.list_physical_devices("TPU")
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


def resolve_mode(*, mode: str = "auto", runtime: Runtime | None = None, environ=None) -> str:
    """Choose the training budget.

    Precedence, first that is set wins:

    1. the environment variable ``UNET_COURSE_MODE`` (``quick`` or ``full``), for
       headless runs (CI, ``make test``, a workshop server);
    2. `mode`, the ``MODE`` switch in each notebook's setup cell, if it is
       ``"quick"`` or ``"full"``;
    3. the hardware: ``full`` on a GPU or TPU, ``quick`` on a CPU.

    Parameters
    ----------
    mode : {"auto", "quick", "full"}, default "auto"
        ``"auto"`` chooses by hardware. Case and surrounding spaces are ignored.
    runtime : Runtime, optional
        Defaults to `detect_runtime()`; used only when neither the variable nor
        `mode` decides.
    environ : mapping, optional
        Defaults to ``os.environ``.

    Returns
    -------
    {"quick", "full"}

    Raises
    ------
    ValueError
        If `mode` or ``UNET_COURSE_MODE`` holds anything else.

    Examples
    --------
    >>> resolve_mode(mode="full", environ={"UNET_COURSE_MODE": "Quick"})
    'quick'
    >>> resolve_mode(mode="full", environ={})
    'full'
    """
    return _resolve_mode(mode=mode, runtime=runtime, environ=environ)[0]


def _resolve_mode(*, mode, runtime, environ) -> tuple[str, str]:
    """The mode and, in words, what chose it."""
    environ = os.environ if environ is None else environ
    if not isinstance(mode, str) or mode.strip().lower() not in MODE_CHOICES:
        raise ValueError(
            f"mode must be one of {', '.join(map(repr, MODE_CHOICES))}, got {mode!r}. "
            "Pick one in the MODE field of the notebook's setup cell."
        )
    chosen = mode.strip().lower()
    value = environ.get(MODE_VARIABLE, "").strip().lower()
    if value:
        if value not in MODES:
            raise ValueError(
                f"{MODE_VARIABLE} must be 'quick' or 'full', got {environ[MODE_VARIABLE]!r}. "
                f"Unset it to use the notebook's MODE, or set e.g. {MODE_VARIABLE}=quick."
            )
        overrides = f", which overrides MODE={chosen!r}" if chosen not in ("auto", value) else ""
        return value, f"set by {MODE_VARIABLE}{overrides}"
    if chosen != "auto":
        return chosen, "set by MODE"
    runtime = detect_runtime() if runtime is None else runtime
    if runtime.accelerator in {"GPU", "TPU"}:
        return "full", f"chosen by hardware: {runtime.accelerator}"
    return "quick", "chosen by hardware: no GPU, so the small CPU budget"


def _seed_everything(seed: int) -> None:
    try:
        import keras
    except ImportError:  # no Keras (a Colab TPU runtime): seed what there is
        random.seed(seed)
        np.random.seed(seed)  # noqa: NPY002 -- learners' own np.random calls use the legacy state
        return
    keras.utils.set_random_seed(seed)  # Python, NumPy (legacy state) and the backend together


def setup(
    *,
    mode: str = "auto",
    seed: int = 42,
    mount_drive: bool = True,
    drive_timeout_s: int = 120,
    output_dir: str | os.PathLike | None = None,
    verbose: bool = True,
    deterministic: bool = False,
) -> CourseSetup:
    """First call of every notebook: start TensorFlow, report the runtime, seed, choose the mode.

    In this order, it

    1. stops with advice if TensorFlow is missing (a Colab TPU runtime), before
       anything imports it;
    2. imports TensorFlow and Keras, holding back TensorFlow's C++ start-up lines
       (printed only if the import fails), turns on GPU memory growth *before*
       TensorFlow starts its devices (afterwards it can no longer change), and
       imports keras-unet without its banner;
    3. seeds Python, NumPy and the backend (and, with `deterministic`, makes
       TensorFlow's ops deterministic), and chooses the mode (see
       `resolve_mode` for the precedence of ``UNET_COURSE_MODE``, `mode` and the
       hardware);
    4. on Colab, mounts Google Drive (or reuses the mount of the install cell)
       and checks that the outputs folder there is writable, falling back to the
       runtime's local disk, with a message, if not.

    Parameters
    ----------
    mode : {"auto", "quick", "full"}, default "auto"
        The notebook's ``MODE`` switch. ``UNET_COURSE_MODE``, when set, overrides it.
    seed : int, default 42
    mount_drive : bool, default True
        On Colab, mount Drive so that outputs survive the runtime. Ignored elsewhere.
    drive_timeout_s : int, default 120
        How long Colab may wait for the Drive mount.
    output_dir : path-like, optional
        Override where outputs go. Default: ``MyDrive/unet-course/outputs`` on
        Colab with Drive, ``UNET_COURSE_OUTPUTS`` if set, else ``./outputs``.
    verbose : bool, default True
        Print the summary and advice.
    deterministic : bool, default False
        Also call ``tf.config.experimental.enable_op_determinism()``, so that a run
        repeats bit for bit on the same machine and versions (introduced in
        notebook 01, Setup). As TensorFlow's documentation of that function says, it
        can slow a model down (on GPUs mostly), and the few ops without a
        deterministic version then raise ``UnimplementedError``. It stays on for
        the rest of the session: restart the runtime to turn it off.

    Returns
    -------
    CourseSetup

    Raises
    ------
    ValueError
        If `mode` or ``UNET_COURSE_MODE`` is not one of the choices.
    RuntimeError
        If TensorFlow is not installed (with the advice for this runtime).
    ModuleNotFoundError
        If keras-unet, or the ``distutils`` it needs (from setuptools), is missing.

    Examples
    --------
    >>> course = setup(mode="quick", verbose=False, mount_drive=False, output_dir="outputs")
    >>> course.mode, course.checkpoint_dir.as_posix()
    ('quick', 'outputs/checkpoints')
    """
    _resolve_mode(mode=mode, runtime=Runtime("local", "CPU"), environ=os.environ)  # bad input first
    if not isinstance(deterministic, bool):
        raise ValueError(f"deterministic must be True or False, got {deterministic!r}.")
    if _version("tensorflow") is None and _version("tensorflow-cpu") is None:
        raise RuntimeError(detect_runtime().advice())
    refused_growth = tensorflow_start.start_tensorflow()
    runtime = detect_runtime()
    _seed_everything(seed)
    if deterministic:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    mode, mode_source = _resolve_mode(mode=mode, runtime=runtime, environ=os.environ)

    configured = os.environ.get("UNET_COURSE_OUTPUTS")
    local_outputs = Path(configured) if configured else Path.cwd() / "outputs"
    notes = []
    drive_mounted = False
    if runtime.is_colab and mount_drive and output_dir is None:
        drive_mounted, how = drive._mount_drive(COLAB_DRIVE, timeout_s=drive_timeout_s)
        if not drive_mounted:
            notes.append(
                f"Google Drive was not mounted ({how}).\nFalling back to the runtime's local "
                "disk: outputs are lost when the runtime ends. To keep them, run this cell "
                "again and allow access to Drive."
            )
    if output_dir is not None:
        outputs = Path(output_dir)
    elif drive_mounted:
        outputs = COLAB_DRIVE / "MyDrive" / COLAB_COURSE_FOLDER / "outputs"
        problem = drive._writable_folder(outputs / "checkpoints")
        if problem is not None:
            notes.append(f"The outputs folder on Google Drive, {outputs}, is not writable "
                         f"({problem}).\nFalling back to the runtime's local disk: outputs "
                         "are lost when the runtime ends.")
            drive_mounted, outputs = False, local_outputs
    else:
        outputs = local_outputs
    checkpoints = outputs / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)

    course = CourseSetup(
        mode=mode,
        runtime=runtime,
        output_dir=outputs,
        checkpoint_dir=checkpoints,
        drive_mounted=drive_mounted,
        seed=seed,
    )
    for note in notes:  # always printed: the learner must know where outputs go
        print(note)
    if refused_growth:
        print(f"GPU memory growth could not be set on {', '.join(refused_growth)}: TensorFlow "
              "had started already. Restart the runtime and run the setup cell first.")
    if verbose:
        print(runtime.summary())
        advice = runtime.advice()
        if advice:
            print("Advice:", advice)
        print(f"Mode: {mode} ({mode_source}); seed: {seed}"
              + ("; deterministic ops" if deterministic else ""))
        print(f"Outputs: {outputs}" + (" (Google Drive)" if drive_mounted else ""))
    return course


def distribution_strategy(*, devices=None):
    """Pick Keras's distribution engine for the hardware present.

    ``TPUStrategy`` when a TPU is reachable and TensorFlow can use it,
    ``MirroredStrategy`` for several GPUs, the default strategy otherwise.
    Build and compile models inside ``strategy.scope()``.

    Parameters
    ----------
    devices : list of tf.config.LogicalDevice, optional
        The devices to mirror over when there are several. Default: the GPUs.
        (The course's tests pass two logical CPUs, so that the path for several
        devices runs on a machine without GPUs.)

    Returns
    -------
    tf.distribute.Strategy

    Examples
    --------
    >>> strategy = distribution_strategy()
    >>> strategy.num_replicas_in_sync >= 1
    True
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
    if devices is None:
        devices = tf.config.list_logical_devices("GPU")
    if len(devices) > 1:
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    return tf.distribute.get_strategy()
