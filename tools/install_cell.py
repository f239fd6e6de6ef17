# @title Setup: on Colab, installs keras-unet and the course's `helpers`
# On Colab, leave this empty: the course comes from your Drive's `unet-course` folder,
# an uploaded wheel, or GitHub. Or give a folder, wheel or URL of the course here.
COURSE_SOURCE = ""  # @param {type:"string"}

import importlib.util
import sys

IS_COLAB = "google.colab" in sys.modules
if IS_COLAB and importlib.util.find_spec("tensorflow") is None:
    raise RuntimeError(
        "This runtime has no TensorFlow: Colab's TPU runtimes ship without it. Choose a GPU: "
        "Runtime > Change runtime type > T4 GPU > Save, then Runtime > Run all."
    )
missing = [name for name in ("keras_unet", "helpers") if importlib.util.find_spec(name) is None]
if missing and IS_COLAB:
    import os
    import subprocess
    import tempfile
    from importlib.metadata import PackageNotFoundError, version
    from pathlib import Path

    # pip may add packages, but never change the TensorFlow, Keras and NumPy Colab has.
    keep = []
    for name in ("tensorflow", "keras", "numpy"):
        try:
            keep.append(f"{name}=={version(name)}\n")
        except PackageNotFoundError:
            pass
    constraints = Path(tempfile.mkdtemp()) / "keep-colab-versions.txt"
    constraints.write_text("".join(keep))

    def pip_install(*args):
        """Run pip; return "" when it worked, else its error."""
        done = subprocess.run(
            [sys.executable, "-m", "pip", "install", "-c", str(constraints), *args],
            capture_output=True, text=True, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
        lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        errors = [line.strip() for line in lines if line.startswith("ERROR")
                  or " depends on " in line or "(constraint)" in line] or lines[-1:]
        return "" if done.returncode == 0 else " | ".join(errors)[:600] or "pip failed"

    tried = []
    if "keras_unet" in missing:
        # On its own, so that its failure cannot take the course down, nor the reverse.
        # setuptools: keras-unet 0.1.2 imports distutils, gone from Python >= 3.12.
        error = pip_install("keras-unet==0.1.2", "setuptools")
        tried.append(f"keras-unet from PyPI: {error or 'installed'}")
    if "helpers" in missing:
        content = Path("/content")
        sources = []
        if COURSE_SOURCE.strip():
            sources.append(("COURSE_SOURCE", COURSE_SOURCE.strip()))
        else:
            try:  # Mounted here, so that the course can come from Drive; setup() reuses it.
                from google.colab import drive

                drive.mount(str(content / "drive"))
            except Exception as error:  # refused, timed out: go on without Drive
                tried.append(f"Google Drive: not mounted ({type(error).__name__}: {error})")
            folder = content / "drive" / "MyDrive" / "unet-course"
            wheels = sorted(folder.glob("unet_course_helpers-*.whl"))
            if (folder / "pyproject.toml").is_file():
                sources.append(("the course folder on Drive", str(folder)))
            elif wheels:
                sources.append(("the course wheel on Drive", str(wheels[-1])))
            elif folder.parent.is_dir():
                tried.append(f"Google Drive: no course wheel or folder in {folder}")
            uploaded = sorted(content.glob("unet_course_helpers-*.whl"))
            if uploaded:
                sources.append(("the wheel uploaded to the runtime", str(uploaded[-1])))
            sources.append(("GitHub", "git+https://github.com/unet-course/unet-segmentation-course"))
        for label, source in sources:
            error = pip_install(source)
            tried.append(f"{label}, {source}: {error or 'installed'}")
            if not error:
                break
    importlib.invalidate_caches()
    still_missing = [name for name in missing if importlib.util.find_spec(name) is None]
    if still_missing:
        raise ModuleNotFoundError(
            f"Could not install {' and '.join(still_missing)}. Tried, in order:\n  - "
            + "\n  - ".join(tried)
            + "\nTo fix it, do one of these, then run this cell again:\n"
            "  - check that the runtime is online (keras-unet and GitHub need the internet);\n"
            "  - copy the course bundle from your instructor to MyDrive/unet-course, and allow "
            "access to Drive;\n"
            "  - upload the course wheel (unet_course_helpers-*.whl) to the Files pane;\n"
            "  - put the course's folder, wheel or URL in COURSE_SOURCE."
        )
    print("Installed:", "; ".join(entry for entry in tried if entry.endswith("installed")))
elif missing:
    raise ModuleNotFoundError(
        f"Missing {missing}. From the course folder run `make run` (it builds .venv), or "
        "`pip install -r requirements.txt -e .`, then restart the kernel."
    )
