"""Peak memory of one photo upload's decode and re-encode (`image_codec.clean_image`), each
in a fresh child process: its resident set's high-water mark (VmHWM) less its resident set
just before (VmRSS), so the interpreter, Pillow and the upload's own bytes are not counted.
Pillow allocates pixels outside Python's allocator, so tracemalloc would not see them.

Inputs (made here, before the child starts): a 12 MP phone JPEG of noise, and a 6,300 x
6,300 RGBA PNG of ~150 KB (big in pixels, small on the wire: the decompression-bomb shape
under the 40 MP limit). Run by `python -m bench --only photo_memory`, part of `make bench`;
`tests/adapters/test_image_codec_memory.py` holds the pipeline to its bound.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from shared.domain.marketplace import MAX_IMAGE_PIXELS, STORED_LONG_SIDE, THUMB_LONG_SIDE
from shared.settings import REPO_ROOT

MB = 1024 * 1024

CHILD = """
import json, sys
from pathlib import Path
from shared.adapters import image_codec

def kib(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise SystemExit(f"no {field} in /proc/self/status")

data = Path(sys.argv[1]).read_bytes()
before = kib("VmRSS")
clean = image_codec.clean_image(
    data, sys.argv[2], max_pixels=int(sys.argv[3]), long_side=int(sys.argv[4]),
    thumb_side=int(sys.argv[5]),
)
print(json.dumps({"peak_kib": kib("VmHWM") - before, "stored": [clean.width, clean.height]}))
"""


def phone_jpeg(width: int = 4000, height: int = 3000) -> bytes:
    """A 12 MP JPEG of noise (the worst case for a decoder and an encoder), ~4 MB."""
    noise = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    out = io.BytesIO()
    noise.save(out, "JPEG", quality=40)
    return out.getvalue()


def flat_png(side: int = 6300) -> bytes:
    """A `side` x `side` RGBA PNG of a few shapes on a plain ground: a few hundred KB."""
    image = Image.new("RGBA", (side, side), (250, 248, 240, 255))
    draw = ImageDraw.Draw(image)
    for i in range(0, side, side // 12):
        draw.ellipse((i, i // 2, i + side // 6, i // 2 + side // 6), fill=(200, 40, 40, 180))
        draw.line((0, i, side, side - i), fill=(20, 20, 120, 255), width=9)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=False, compress_level=9)
    return out.getvalue()


def peak_mb(data: bytes, pillow_format: str) -> dict[str, Any]:
    """Peak memory (MB above the child's resident set before) of cleaning `data`."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "upload"
        source.write_bytes(data)
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                CHILD,
                str(source),
                pillow_format,
                str(MAX_IMAGE_PIXELS),
                str(STORED_LONG_SIDE),
                str(THUMB_LONG_SIDE),
            ],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "upload_kb": round(len(data) / 1024),
        "peak_mb": round(answer["peak_kib"] / 1024, 1),
        "stored": answer["stored"],
    }


def run() -> dict[str, Any]:
    jpeg = phone_jpeg()
    png = flat_png()
    return {
        "jpeg_12mp": peak_mb(jpeg, "JPEG"),
        "png_6300": {**peak_mb(png, "PNG"), "decoded_mb": round(6300 * 6300 * 4 / MB, 1)},
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
