"""A photo upload's peak memory (bench/photo_memory.py measures it in a child process): the
decoded picture is the only full-size copy. The first pipeline held up to five (upright,
converted, premultiplied for the resize...): a 6,300 x 6,300 PNG of 150 KB peaked near
520 MB, past what a 512 MB Lambda has."""

from __future__ import annotations

import pytest

from bench.photo_memory import flat_png, peak_mb, phone_jpeg
from shared.domain.marketplace import STORED_LONG_SIDE

MB = 1024 * 1024
# Pillow keeps 4 bytes a pixel for RGB and RGBA alike.
STORED_MB = STORED_LONG_SIDE * STORED_LONG_SIDE * 4 / MB
# Beside the decoded picture: the stored one, its thumbnail, a strip being scaled, and the
# WebP encoder's buffers, all of the stored size: a few of it, never another full picture.
WORKING_MB = 5 * STORED_MB


@pytest.mark.parametrize(
    ("name", "make", "pillow_format", "decoded_mb"),
    [
        ("png-4000-rgba", lambda: flat_png(4000), "PNG", 4000 * 4000 * 4 / MB),
        ("jpeg-12mp", phone_jpeg, "JPEG", 4000 * 3000 * 4 / MB),
    ],
    ids=["png-4000-rgba", "jpeg-12mp"],
)
def test_an_upload_holds_one_full_size_copy_at_most(
    name: str, make: object, pillow_format: str, decoded_mb: float
) -> None:
    assert callable(make)
    measured = peak_mb(make(), pillow_format)
    assert measured["stored"][0] == STORED_LONG_SIDE
    assert measured["peak_mb"] <= decoded_mb + WORKING_MB, (name, measured, decoded_mb)
