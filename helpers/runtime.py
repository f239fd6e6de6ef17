"""Where the course runs: Colab or local, TPU/GPU/CPU, and the paths it writes to.

Introduced in notebook 01, section "Setup"; notebook 02 reuses it.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import platform
import random
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "MODES",
    "CourseSetup",
    "Runtime",
    "atomic_checkpoint",
    "detect_runtime",
    "distribution_strategy",
    "resolve_mode",
    "setup",
    "start_tensorflow",
    "training_log",
]

MODES = ("quick", "full")
MODE_CHOICES = ("auto", *MODES)
MODE_VARIABLE = "UNET_COURSE_MODE"
TPU_ADVICE = (
    "This is a TPU runtime, and Colab's TPU runtimes ship without TensorFlow. "
    "Use a GPU instead: Runtime > Change runtime type > T4 GPU > Save, then "
    "Runtime > Run all."
)
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
        The training budget.
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


@contextlib.contextmanager
def _quiet_native_stderr():
    """Hold back what C++ code writes to file descriptor 2; replay it if the block fails.

    TensorFlow's start-up lines (``cuInit``, ``cudart_stub``, oneDNN notes) are
    written to fd 2 before its logging reads ``TF_CPP_MIN_LOG_LEVEL``, so only a
    redirection keeps them out of the notebook. When the import fails, they are
    part of the explanation, so they are printed then.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            held.seek(0)
            sys.stderr.write(held.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _enable_memory_growth(tf) -> list[str]:
    """Let TensorFlow take GPU memory as needed, not all at once; return GPUs it failed on.

    Must run before anything lists *logical* devices: that initialises the
    runtime, after which TensorFlow refuses the change with a RuntimeError.
    """
    refused = []
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            refused.append(gpu.name)
    return refused


def _start_tensorflow():
    """Import TensorFlow and Keras quietly, turn on GPU memory growth, then start devices.

    Returns the names of GPUs on which memory growth could not be set (TensorFlow
    had already started them, e.g. because a cell imported it before `setup`).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # later C++ info lines, once logging is up
    with _quiet_native_stderr():
        import tensorflow as tf

        refused = _enable_memory_growth(tf)
        tf.config.list_logical_devices()  # start the devices now, while fd 2 is held
        import keras  # noqa: F401  (its first import loads more of TensorFlow's libraries)
    return refused


def start_tensorflow() -> list[str]:
    """Import TensorFlow, Keras and keras-unet quietly, with GPU memory growth turned on.

    The first step of `setup`, for scripts that need TensorFlow without the rest of
    it (seeding, the mode, an outputs folder): the benchmarks and the slides' figures.
    TensorFlow's C++ start-up lines are held back (printed only if the import fails),
    memory growth is set before TensorFlow starts its devices, and keras-unet's
    import banner is not printed.

    Returns
    -------
    list of str
        GPUs on which memory growth could not be set, because TensorFlow had started
        them already; empty on a CPU.

    Raises
    ------
    ModuleNotFoundError
        keras-unet, or the ``distutils`` it needs (from setuptools), is missing.

    Examples
    --------
    >>> refused = start_tensorflow()
    >>> import tensorflow as tf  # now quick, and quiet
    >>> isinstance(refused, list)
    True
    """
    refused = _start_tensorflow()
    _import_keras_unet()
    return refused


def _import_keras_unet() -> None:
    """Import keras-unet once, holding back the banner it prints on import."""
    if "keras_unet" in sys.modules:
        return
    banner = io.StringIO()
    try:
        with contextlib.redirect_stdout(banner), warnings.catch_warnings():
            # keras-unet 0.1.2 compares versions with distutils' LooseVersion.
            warnings.filterwarnings("ignore", message=".*distutils.*",
                                    category=DeprecationWarning)
            import keras_unet  # noqa: F401
    except ModuleNotFoundError as error:
        if error.name == "keras_unet":
            raise ModuleNotFoundError(
                "keras-unet is not installed. On Colab, run the first cell of the notebook; "
                "elsewhere `pip install keras-unet==0.1.2 setuptools`, then restart the kernel."
            ) from error
        if error.name and error.name.startswith("distutils"):
            raise ModuleNotFoundError(
                "keras-unet 0.1.2 imports distutils, which Python 3.12 removed; setuptools "
                "provides it. Run `pip install setuptools`, then restart the kernel."
            ) from error
        raise


def _drive_is_mounted() -> bool:
    return (COLAB_DRIVE / "MyDrive").is_dir()


def _mount_drive(timeout_s: int) -> tuple[bool, str]:
    """Mount Google Drive on Colab unless it is mounted already; say what happened."""
    if _drive_is_mounted():  # the install cell mounted it
        return True, "already mounted"
    try:
        from google.colab import drive

        drive.mount(str(COLAB_DRIVE), timeout_ms=timeout_s * 1000)
        if not _drive_is_mounted():
            raise OSError(f"{COLAB_DRIVE / 'MyDrive'} is missing after the mount")
    except Exception as error:  # the mount can fail in many ways; all mean "no Drive"
        return False, f"{type(error).__name__}: {error}"
    return True, "mounted"


def _writable_folder(folder: Path) -> str | None:
    """Create `folder` and write a probe file in it; return the error, or None."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-probe-"):
            pass
    except OSError as error:
        return f"{type(error).__name__}: {error}"
    return None


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
        repeats bit for bit on the same machine and versions (to be taught in
        notebook 02). As TensorFlow's documentation of that function says, it
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
    refused_growth = start_tensorflow()
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
        drive_mounted, how = _mount_drive(drive_timeout_s)
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
        problem = _writable_folder(outputs / "checkpoints")
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


# --------------------------------------------------------------------------- safe saving


@functools.cache
def _callback_classes():
    """The Keras callbacks below, defined on first use so that importing helpers stays light."""
    import keras

    class AtomicCheckpoint(keras.callbacks.Callback):
        def __init__(self, filepath, *, monitor, mode, save_best_only, fallback_dir):
            super().__init__()
            self.filepath = Path(filepath)
            self.monitor, self.mode, self.save_best_only = monitor, mode, save_best_only
            self.fallback_dir = Path(fallback_dir) if fallback_dir is not None else None
            self.best = None
            self.last_saved = None

        def _improved(self, value) -> bool:
            if self.best is None:
                return True
            return value < self.best if self.mode == "min" else value > self.best

        def on_epoch_end(self, epoch, logs=None):
            value = (logs or {}).get(self.monitor)
            if self.save_best_only:
                if value is None:
                    warnings.warn(f"atomic_checkpoint: {self.monitor!r} is not in the logs "
                                  f"(have {sorted(logs or {})}); nothing saved", stacklevel=2)
                    return
                if not self._improved(value):
                    return
                self.best = value
            self.filepath = _save_or_fall_back(
                self.filepath, self.fallback_dir, lambda tmp: self.model.save(tmp))
            self.last_saved = self.filepath

    class TrainingLog(keras.callbacks.Callback):
        def __init__(self, filepath, *, fallback_dir):
            super().__init__()
            self.filepath = Path(filepath)
            self.fallback_dir = Path(fallback_dir) if fallback_dir is not None else None
            self.rows = []

        def on_train_begin(self, logs=None):
            self.rows = []

        def on_epoch_end(self, epoch, logs=None):
            self.rows.append({"epoch": epoch, **{k: float(v) for k, v in (logs or {}).items()}})
            names = list(dict.fromkeys(name for row in self.rows for name in row))
            text = ",".join(names) + "\n" + "".join(
                ",".join(repr(row.get(name, "")) for name in names) + "\n" for row in self.rows)
            self.filepath = _save_or_fall_back(
                self.filepath, self.fallback_dir, lambda tmp: tmp.write_text(text))

    return AtomicCheckpoint, TrainingLog


def _save_or_fall_back(path: Path, fallback_dir: Path | None, write) -> Path:
    """Write `path` atomically with `write(tmp)`; if its folder fails, use `fallback_dir`.

    Returns where the file now lives (the fallback after a failure, for the next
    saves). Nothing already written to `path` is touched by a failed write.
    """
    try:
        _write_atomically(path, write)
        return path
    except OSError as error:
        if fallback_dir is None:  # the local twin of the outputs folder
            fallback_dir = Path.cwd() / "outputs"
            if path.parent.name == "checkpoints":
                fallback_dir = fallback_dir / "checkpoints"
        fallback = Path(fallback_dir) / path.name
        if fallback == path:
            raise
        print(f"Could not write {path} ({type(error).__name__}: {error}).\n"
              f"Saving to the runtime's local disk instead, from now on: {fallback}. "
              f"What was saved before stays in {path.parent}.")
        _write_atomically(fallback, write)
        return fallback


def _write_atomically(path: Path, write) -> None:
    """`write(tmp)` to a temporary name beside `path`, then rename it: never a half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Keep the suffix: Keras chooses the format from it (".keras").
    tmp = path.with_name(f".{path.stem}.partial-{os.getpid()}{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def atomic_checkpoint(
    filepath: str | os.PathLike,
    *,
    monitor: str = "val_loss",
    mode: str = "min",
    save_best_only: bool = True,
    fallback_dir: str | os.PathLike | None = None,
):
    """A Keras callback like ``ModelCheckpoint``, safe against disconnects and a lost Drive.

    Introduced in notebook 01, section "5. Training"; notebook 02 reuses it.
    Each save goes to a temporary name in the same folder and is then renamed,
    so an interrupted run never leaves a half-written ``.keras`` file to load.
    If the folder stops being writable during training (Google Drive
    disconnected), it says so and saves to `fallback_dir` from then on; the
    files already saved stay where they are.

    Parameters
    ----------
    filepath : path-like
        The ``.keras`` file.
    monitor : str, default "val_loss"
        The logged quantity that decides the best epoch.
    mode : {"min", "max"}, default "min"
    save_best_only : bool, default True
        Save only when `monitor` improves; else every epoch.
    fallback_dir : path-like, optional
        Where to save if `filepath`'s folder fails. Default ``./outputs/checkpoints``
        for a file in a ``checkpoints`` folder, else ``./outputs``.

    Returns
    -------
    keras.callbacks.Callback
        Its ``last_saved`` attribute is the path of the latest saved model.

    Examples
    --------
    >>> callback = atomic_checkpoint("outputs/checkpoints/best.keras")
    >>> callback.filepath.name, callback.monitor, callback.last_saved
    ('best.keras', 'val_loss', None)
    >>> model.fit(x, y, validation_split=0.2, callbacks=[callback])  # doctest: +SKIP
    """
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
    filepath = Path(filepath)
    if filepath.suffix != ".keras":
        raise ValueError(f"filepath must end in '.keras', got {str(filepath)!r}")
    checkpoint_class, _ = _callback_classes()
    return checkpoint_class(filepath, monitor=monitor, mode=mode,
                            save_best_only=save_best_only, fallback_dir=fallback_dir)


def training_log(filepath: str | os.PathLike, *, fallback_dir: str | os.PathLike | None = None):
    """A Keras callback like ``CSVLogger`` that rewrites the CSV atomically after each epoch.

    Introduced in notebook 01, section "5. Training". One row per epoch (column
    ``epoch`` from 0, then every logged value). Like `atomic_checkpoint`, it
    switches to `fallback_dir` if the file's folder stops being writable.

    Parameters
    ----------
    filepath : path-like
        The ``.csv`` file; replaced at each epoch of the current ``fit``.
    fallback_dir : path-like, optional
        Default ``./outputs``.

    Returns
    -------
    keras.callbacks.Callback

    Examples
    --------
    >>> log = training_log("outputs/log.csv")
    >>> log.filepath.name, log.rows
    ('log.csv', [])
    >>> model.fit(x, y, epochs=3, callbacks=[log])  # doctest: +SKIP
    """
    _, log_class = _callback_classes()
    return log_class(Path(filepath), fallback_dir=fallback_dir)


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
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()
