"""Starting TensorFlow for the course: quietly, and with GPU memory growth.

The first step of `helpers.setup` (notebook 01, section "Setup"), also used on its
own by scripts that need TensorFlow without the rest of setup: the benchmarks, the
slides' figures, and `helpers.tiling` (for keras-unet without its banner).

This is the one module of the package that starts TensorFlow's devices, and the
order matters: GPU memory growth can only be set before anything lists *logical*
devices. `helpers.runtime.detect_runtime` lists physical devices only, so it may
run before or after `start_tensorflow`.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import warnings

__all__ = ["start_tensorflow"]


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
