"""Photos in, clean WebP out (Pillow).

Bytes from a seller are untrusted: they are opened only with the decoder of the type they
claim (a PNG sent as `image/jpeg` does not open), their size is read from the header and a
picture over the pixel limit is refused before a single pixel is decoded (a decompression
bomb is a few KiB of PNG), and a truncated file fails to load. What is stored is re-encoded
from the pixels alone: the EXIF orientation is applied first, then nothing of the original's
metadata (EXIF with its GPS position, XMP, ICC profile, comments) is carried over.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

WEBP_QUALITY = 80
THUMB_QUALITY = 72
WEBP_METHOD = 0  # libwebp's fastest: files a few % larger than its default 4, twice as fast


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


def _pixels_only(image: Image.Image) -> Image.Image:
    """The picture upright, in a mode WebP stores, with no metadata at all."""
    upright = ImageOps.exif_transpose(image) or image
    has_alpha = upright.mode in ("RGBA", "LA", "PA") or (
        upright.mode == "P" and "transparency" in upright.info
    )
    clean = upright.convert("RGBA" if has_alpha else "RGB")
    clean.info.clear()  # exif, xmp, icc_profile, comments... (convert copies them)
    return clean


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
    clean = _pixels_only(image)
    if max(clean.size) > long_side:
        clean.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    thumb = clean.copy()
    thumb.thumbnail((thumb_side, thumb_side), Image.Resampling.LANCZOS)
    return CleanImage(
        webp=_webp(clean, WEBP_QUALITY),
        thumb=_webp(thumb, THUMB_QUALITY),
        width=clean.width,
        height=clean.height,
    )
