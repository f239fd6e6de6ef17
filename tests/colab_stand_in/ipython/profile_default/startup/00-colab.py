# As on Colab, google.colab is imported before the first cell runs. The course's
# idea of /content/drive is pointed at the stand-in Drive folder.
import os
from pathlib import Path

import google.colab  # noqa: F401

if os.environ.get("FAKE_COLAB_DRIVE"):
    import helpers.runtime

    helpers.runtime.COLAB_DRIVE = Path(os.environ["FAKE_COLAB_DRIVE"])
