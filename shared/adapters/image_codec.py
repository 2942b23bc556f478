"""Photos in, clean WebP out (Pillow).

Bytes from a seller are untrusted: they are opened only with the decoder of the type they
claim (a PNG sent as `image/jpeg` does not open), their size is read from the header and a
picture over the pixel limit is refused before a single pixel is decoded (a decompression
bomb is a few KiB of PNG), and a truncated file fails to load. What is stored is re-encoded
from the pixels alone: the EXIF orientation is applied first, then nothing of the original's
metadata (EXIF with its GPS position, XMP, ICC profile, comments) is carried over.

Memory: a Lambda has 512 MB, and a 6,300 x 6,300 PNG of 150 KB decodes to 159 MB (Pillow
keeps 4 bytes a pixel for RGB and RGBA alike). The first pipeline held several full-size
copies at once (the decoded picture, its upright copy, its RGB(A) copy, and the premultiplied
copy Pillow's resize makes of an RGBA image): 521 MB for that PNG. Now the decoded picture is
the only full-size one: it is converted and scaled a strip of rows at a time into the stored
size (`_scaled`: the same LANCZOS filter, the same pixels to a rounding unit at the strips'
seams), and everything else (orientation, metadata, the thumbnail) is done on that: 200 MB.
A JPEG is decoded at a reduced DCT scale (`draft`) when it is larger than needed. Peak memory
per upload: `bench/photo_memory.py`.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

WEBP_QUALITY = 80
THUMB_QUALITY = 72
WEBP_METHOD = 0  # libwebp's fastest: files a few % larger than its default 4, twice as fast
# Output rows scaled at a time: a strip of source rows (up to ~1,000 at the largest input)
# is the largest transient copy, a few MB, not a second picture.
STRIP_ROWS = 128
# PNG's compressed text chunks are bombs of their own (zTXt/iTXt inflate past their size);
# Pillow reads up to 1 MB each and 64 MB in all by default. Nothing of them is kept.
PngImagePlugin.MAX_TEXT_CHUNK = 256 * 1024
PngImagePlugin.MAX_TEXT_MEMORY = 1024 * 1024


class BadImage(Exception):
    """Not a decodable picture of the claimed type, or too large; the message says which."""


@dataclass(frozen=True)
class CleanImage:
    webp: bytes
    thumb: bytes
    width: int
    height: int


def _open(data: bytes, pillow_format: str, max_pixels: int) -> Image.Image:
    with warnings.catch_warnings():
        # Pillow warns past its own limit and raises past twice that; ours is lower and is
        # checked below, before anything is decoded.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=[pillow_format])
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
            raise BadImage(f"is not a {pillow_format} image") from None
    width, height = image.size
    if width < 1 or height < 1:
        raise BadImage("has no pixels")
    if width * height > max_pixels:
        raise BadImage(f"has {width}x{height} pixels, more than {max_pixels:,}")
    return image


def _stored_mode(image: Image.Image) -> str:
    """The mode WebP stores the picture in: RGBA when it has transparency, else RGB."""
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )
    return "RGBA" if has_alpha else "RGB"


def _fitted(size: tuple[int, int], box: int) -> tuple[int, int]:
    """`size` scaled to fit a `box` x `box` square, aspect kept: Pillow's `thumbnail` rule."""
    width, height = size
    if width <= box and height <= box:
        return size

    def round_aspect(number: float, key: Callable[[int], float]) -> int:
        return max(min(math.floor(number), math.ceil(number), key=key), 1)

    aspect = width / height
    x, y = box, box
    if x / y >= aspect:
        x = round_aspect(y * aspect, key=lambda n: abs(aspect - n / y))
    else:
        y = round_aspect(x / aspect, key=lambda n: 0 if n == 0 else abs(aspect - x / n))
    return x, y


def _scaled(image: Image.Image, mode: str, size: tuple[int, int]) -> Image.Image:
    """`image` in `mode`, resized to `size` with LANCZOS, without a full-size copy: each strip
    of output rows is computed from a crop of the source rows it needs (with the filter's
    support around it, so the seams are exact) converted on its own. Pillow's `resize` would
    convert the whole picture first, and premultiply an RGBA one into another full copy."""
    width, height = image.size
    if size == (width, height):  # small already: a copy of it is small too
        return image.convert(mode) if image.mode != mode else image.copy()
    out = Image.new(mode, size)
    scale_y = height / size[1]
    # LANCZOS reads 3 source pixels each side per output pixel, times the scale.
    margin = math.ceil(3 * max(scale_y, width / size[0])) + 2
    for row in range(0, size[1], STRIP_ROWS):
        last = min(size[1], row + STRIP_ROWS)
        top, bottom = row * scale_y, last * scale_y
        first_row = max(0, math.floor(top) - margin)
        strip = image.crop((0, first_row, width, min(height, math.ceil(bottom) + margin)))
        if strip.mode != mode:
            strip = strip.convert(mode)
        part = strip.resize(
            (size[0], last - row),
            Image.Resampling.LANCZOS,
            box=(0, top - first_row, width, bottom - first_row),
        )
        out.paste(part, (0, row))
    return out


def _upright(image: Image.Image, source: Image.Image) -> Image.Image:
    """`image` (a scaled `source`) turned by the source's EXIF orientation, with no metadata."""
    image.info = dict(source.info)  # where exif_transpose reads the orientation (EXIF, XMP)
    ImageOps.exif_transpose(image, in_place=True)
    image.info.clear()  # exif, xmp, icc_profile, comments...: nothing of the original
    return image


def _webp(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "WEBP", quality=quality, method=WEBP_METHOD, exif=b"", xmp=b"")
    return out.getvalue()


def clean_image(
    data: bytes,
    pillow_format: str,
    *,
    max_pixels: int,
    long_side: int,
    thumb_side: int,
) -> CleanImage:
    """Decode `data` as `pillow_format` (JPEG, PNG or WEBP), and re-encode it: at most
    `long_side` px on its longer side, and a thumbnail of at most `thumb_side`. Raises
    BadImage."""
    image = _open(data, pillow_format, max_pixels)
    if pillow_format == "JPEG":
        # Decode a big JPEG at 1/2, 1/4 or 1/8 scale straight away (DCT scaling): a 12 MP
        # phone photo is then a fraction of the work, and never larger than needed.
        image.draft("RGB", (long_side, long_side))
    try:
        image.seek(0)  # the first frame of an animation
        image.load()
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise BadImage(f"could not be decoded ({exc})") from None
    # The box is square, so the size fits whichever way the orientation turns it.
    clean = _upright(_scaled(image, _stored_mode(image), _fitted(image.size, long_side)), image)
    image.close()  # the decoded picture goes before anything is encoded
    thumb = clean.resize(_fitted(clean.size, thumb_side), Image.Resampling.LANCZOS)
    return CleanImage(
        webp=_webp(clean, WEBP_QUALITY),
        thumb=_webp(thumb, THUMB_QUALITY),
        width=clean.width,
        height=clean.height,
    )
