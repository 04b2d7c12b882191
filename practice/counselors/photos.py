"""Counselor photos: checked to be real images, re-encoded without metadata, stored under names we choose.

Nothing of the upload is kept as it came: not its name, not its bytes. The stored file is a fresh JPEG (or PNG when
the picture has transparency) made from the decoded pixels, so EXIF (GPS, camera serials), text chunks and
anything appended to the file (polyglots) are gone.
"""
from __future__ import annotations

import io
import os
import re
import secrets
import struct
import tempfile
import warnings
from pathlib import Path
from typing import IO

from flask import current_app
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

# Decoders we let near an upload; every other Pillow plugin stays out of reach.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
MAX_SOURCE_SIDE = 8000           # px; larger is refused before decoding
MAX_SOURCE_PIXELS = 40_000_000   # and so is a picture this big overall (decompression bombs)
STORED_MAX_SIDE = 1024           # px; a profile shows it at 140 px, so this is plenty for sharp screens
JPEG_QUALITY = 85

NAME_PATTERN = re.compile(r"^[0-9a-f]{32}\.(?:jpg|png)$")
MIMETYPES = {"jpg": "image/jpeg", "png": "image/png"}


class PhotoInvalid(ValueError):
    """The upload can't be used as a photo; the message says why, for the person uploading."""


def photos_dir() -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / "photos"


def max_bytes() -> int:
    return int(current_app.config["PHOTO_MAX_BYTES"])


def is_photo_name(name: str) -> bool:
    return bool(NAME_PATTERN.fullmatch(name))


def mimetype_for(name: str) -> str:
    return MIMETYPES[name.rsplit(".", 1)[1]]


def read_upload(stream: IO[bytes], *, max_bytes: int) -> bytes:
    """The upload's bytes, reading at most one byte past the limit."""
    data = stream.read(max_bytes + 1)
    if not data:
        raise PhotoInvalid("Choose a photo to upload.")
    if len(data) > max_bytes:
        raise PhotoInvalid(f"This photo is larger than {size_text(max_bytes)}. Choose a smaller one, or save it "
                           "at a lower quality.")
    return data


def size_text(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB" if n >= 1024 * 1024 else f"{max(1, n // 1024)} KB"


def reencode(data: bytes) -> tuple[bytes, str]:
    """Decode, check and re-encode a photo. Returns the new file's bytes and its extension."""
    with warnings.catch_warnings():
        # Pillow only warns about very large images below twice its limit; here any bomb is an error.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as probe:
                _check_size(probe.size)
                probe.verify()  # structure and checksums; the object is unusable afterwards
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
                image.load()
                picture = _normalized(image)
        except PhotoInvalid:
            raise
        except UnidentifiedImageError:
            raise PhotoInvalid("This file isn't a JPEG, PNG or WebP image. Choose a photo in one of those "
                               "formats.") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PhotoInvalid("This photo is too large in width and height. Use one under "
                               f"{MAX_SOURCE_SIDE} pixels on each side.") from None
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error):
            raise PhotoInvalid("This file looks damaged or isn't a real image. Try exporting the photo "
                               "again and uploading the new file.") from None
    out = io.BytesIO()
    if picture.mode == "RGBA":
        picture.save(out, format="PNG", optimize=True)
        return out.getvalue(), "png"
    picture.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return out.getvalue(), "jpg"


def _check_size(size: tuple[int, int]) -> None:
    width, height = size
    if width < 1 or height < 1:
        raise PhotoInvalid("This file looks damaged or isn't a real image.")
    if width > MAX_SOURCE_SIDE or height > MAX_SOURCE_SIDE or width * height > MAX_SOURCE_PIXELS:
        raise PhotoInvalid(f"This photo is {width}×{height} pixels, which is more than we can take. Use one "
                           f"under {MAX_SOURCE_SIDE} pixels on each side.")


def _normalized(image: Image.Image) -> Image.Image:
    """Upright, in sRGB, RGB or RGBA, at most STORED_MAX_SIDE: a new image with no metadata attached."""
    picture = ImageOps.exif_transpose(image)  # phones store rotation in EXIF, which we are about to drop
    has_alpha = picture.mode in ("RGBA", "LA", "PA") or (picture.mode == "P" and "transparency" in picture.info)
    mode = "RGBA" if has_alpha else "RGB"
    icc = picture.info.get("icc_profile")
    converted = None
    if icc:
        try:  # keep the colors right (wide-gamut phone photos) without keeping the profile itself
            converted = ImageCms.profileToProfile(
                picture, ImageCms.ImageCmsProfile(io.BytesIO(icc)), ImageCms.createProfile("sRGB"),
                outputMode=mode,
            )
        except (ImageCms.PyCMSError, OSError, ValueError):
            converted = None
    picture = converted if converted is not None else picture.convert(mode)
    picture.thumbnail((STORED_MAX_SIDE, STORED_MAX_SIDE), Image.Resampling.LANCZOS)
    clean = Image.new(mode, picture.size)  # pixels only: no info, EXIF, XMP or text chunks carried over
    clean.paste(picture)
    return clean


def store(data: bytes) -> str:
    """Re-encode and write a photo under a new random name; returns the name."""
    encoded, extension = reencode(data)
    directory = photos_dir()
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.{extension}"
    # Written beside its final place, then renamed: a reader never sees half a file.
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(encoded)
        os.chmod(tmp, 0o644)
        os.replace(tmp, directory / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return name


def delete(name: str | None) -> None:
    if name and is_photo_name(name):
        (photos_dir() / name).unlink(missing_ok=True)
