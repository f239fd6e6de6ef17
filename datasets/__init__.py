"""Course data: ISBI 2012 manifest and fetcher, and an offline synthetic look-alike.

This folder is installed as ``helpers.datasets``, so the checksums travel with
the package. It holds no images: ISBI 2012 is downloaded (checksums verified) or
found locally through ``UNET_COURSE_DATA``. Introduced in notebook 01, "Data".
"""
