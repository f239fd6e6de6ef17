"""Build and test a BioImage Model Zoo package, in a process of its own (see `helpers.segmenter`).

Run as ``python -m helpers._bioimageio_package FOLDER``: FOLDER holds ``request.json``
and the files it names (written by `helpers.segmenter.write_bioimageio_package`). This
process builds the model description with ``bioimageio.spec``, saves the package (a
zip), runs ``bioimageio.core.test_model`` on the saved package, and writes
``result.json``: the test's status and, when it failed, what failed. Its own output
(Keras progress bars, bioimageio's log lines) stays out of the notebook.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _describe(folder: Path, request: dict):
    from bioimageio.spec.model import v0_5 as m

    step = request["size_step"]
    file = lambda name: m.FileDescr(source=folder / name)  # noqa: E731
    inputs = m.InputTensorDescr(
        id="raw", description="the image as stored, one channel per colour channel",
        axes=[m.BatchAxis(),
              m.SpaceInputAxis(id="y", size=m.ParameterizedSize(min=step, step=step)),
              m.SpaceInputAxis(id="x", size=m.ParameterizedSize(min=step, step=step)),
              m.ChannelAxis(channel_names=request["channel_names"])],
        test_tensor=file("test_input.npy"),
        preprocessing=[
            m.ScaleRangeDescr(kwargs=m.ScaleRangeKwargs(
                axes=["y", "x", "channel"], min_percentile=request["low"],
                max_percentile=request["high"])),
            *([m.ClipDescr(kwargs=m.ClipKwargs(min=0.0, max=1.0))] if request["clip"] else []),
        ])
    outputs = m.OutputTensorDescr(
        id="probabilities", description="the probability of each class, per pixel",
        axes=[m.BatchAxis(),
              m.SpaceOutputAxis(id="y", size=m.SizeReference(tensor_id="raw", axis_id="y")),
              m.SpaceOutputAxis(id="x", size=m.SizeReference(tensor_id="raw", axis_id="x")),
              m.ChannelAxis(channel_names=request["class_names"])],
        test_tensor=file("test_output.npy"))
    return m.ModelDescr(
        name=request["name"], description=request["description"],
        authors=[m.Author(name=name) for name in request["authors"]],
        cite=[m.CiteEntry(text=text, doi=doi) for text, doi in request["cite"]],
        license=request["license"], documentation=file("README.md"), tags=request["tags"],
        inputs=[inputs], outputs=[outputs], attachments=[file("settings.json")],
        weights=m.WeightsDescr(keras_v3=m.KerasV3WeightsDescr(
            source=folder / "weights.keras", keras_version=request["keras_version"],
            backend=("tensorflow", request["tensorflow_version"]))))


def main(folder: Path) -> int:
    from bioimageio.core import test_model
    from bioimageio.spec import save_bioimageio_package

    request = json.loads((folder / "request.json").read_text())
    package = Path(request["package"])
    result = {"package": str(package)}
    try:
        description = _describe(folder, request)
        save_bioimageio_package(description, output_path=package)
        summary = test_model(package)  # the saved zip, as a user of the package gets it
        result["status"] = summary.status
        result["failed"] = [f"{detail.name}: " + "; ".join(error.msg[:300]
                                                          for error in detail.errors)
                            for detail in summary.details if detail.status == "failed"]
    except Exception as error:  # reported to the caller, which raises with it
        result["status"] = "failed"
        result["failed"] = [f"{type(error).__name__}: {error}"]
    (folder / "result.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
