"""Stand-in for ``google.colab.files``: ``download`` checks that the file exists and logs the call.

Colab's own starts a browser download; here the call goes to ``FAKE_COLAB_CALLS`` (a
JSON line), as drive.py's mounts do.
"""

import json
import os
from pathlib import Path


def download(filename):
    if not Path(filename).is_file():
        raise FileNotFoundError(f"Cannot find file: {filename}")
    calls = os.environ.get("FAKE_COLAB_CALLS")
    if calls:
        with open(calls, "a") as log:
            log.write(json.dumps({"download": str(filename)}) + "\n")
