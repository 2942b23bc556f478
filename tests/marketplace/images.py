"""Pictures made on the spot with Pillow: a phone-like JPEG with EXIF (orientation, GPS), a
PNG, a decompression bomb that is a few KiB on the wire."""

from __future__ import annotations

import io
import os

from PIL import ExifTags, Image

GPS = {
    ExifTags.GPS.GPSLatitudeRef: "N",
    ExifTags.GPS.GPSLatitude: (12.0, 58.0, 1.5),
    ExifTags.GPS.GPSLongitudeRef: "E",
    ExifTags.GPS.GPSLongitude: (77.0, 35.0, 40.0),
}


def phone_exif(orientation: int = 6) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "PhoneCo"
    exif[ExifTags.Base.Model] = "Pocket 12"
    exif[ExifTags.IFD.GPSInfo] = GPS
    return exif


def jpeg(
    width: int = 300, height: int = 200, *, orientation: int = 6, noise: bool = False
) -> bytes:
    """A JPEG as a phone takes it: stored landscape with an orientation tag, GPS inside."""
    if noise:
        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        image = Image.new("RGB", (width, height), (180, 40, 40))
        image.paste((20, 20, 200), (0, 0, width // 4, height))  # a blue band on the left
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70 if noise else 90, exif=phone_exif(orientation))
    return out.getvalue()


def png(width: int = 120, height: int = 80) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (0, 128, 0, 128)).save(out, "PNG")
    return out.getvalue()


def webp(width: int = 64, height: int = 64) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 10, 10)).save(out, "WEBP")
    return out.getvalue()


def bomb(width: int = 10_000, height: int = 5_000) -> bytes:
    """50 megapixels of one colour: about 50 KiB of PNG, 150 MB once decoded."""
    out = io.BytesIO()
    Image.new("L", (width, height), 0).save(out, "PNG", optimize=True)
    return out.getvalue()


def phone_photo(target_bytes: int = 4_000_000) -> bytes:
    """About `target_bytes` of noisy 4:3 JPEG with EXIF and GPS (the bench's phone photo)."""
    width, height = 4000, 3000
    data = jpeg(width, height, noise=True)
    while len(data) > target_bytes * 1.15:
        width, height = int(width * 0.9), int(height * 0.9)
        data = jpeg(width, height, noise=True)
    return data
