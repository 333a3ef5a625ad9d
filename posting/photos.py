"""Post photos (P1): checked by their content, and re-encoded so no EXIF or GPS survives.

A file is an image only if Pillow can open and verify it, whatever its name or the type
the browser claimed. The copy that may ever reach a platform is made from the pixels
alone (orientation applied first, so a turned phone photo stays upright): a fresh image
carries no EXIF, GPS, XMP, IPTC or maker notes, because nothing but pixels is copied. The
original is kept as received, privately, for the record.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from posting.services import PostingError

# What platforms take (X, Mastodon, Bluesky, Facebook): JPEG, PNG, WebP, GIF (first frame).
ACCEPTED = {"JPEG", "PNG", "WEBP", "GIF", "MPO"}


@dataclass(frozen=True)
class CleanedPhoto:
    data: bytes
    content_type: str
    width: int
    height: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def max_bytes() -> int:
    return settings.SMC_PHOTO_MAX_MB * 1024 * 1024


def too_large_message(name: str) -> str:
    return _("“%(name)s” is larger than %(limit)s MB, the most a photo may be. "
             "Choose a smaller photo or take it at a lower resolution.") % {
        "name": name, "limit": settings.SMC_PHOTO_MAX_MB}  # fmt: skip


def clean_photo(upload, *, name: str = "") -> CleanedPhoto:
    """`upload` is a file object (Django's UploadedFile). Raises PostingError with a
    message for the author when it is not a photo SMC can send."""
    name = name or getattr(upload, "name", "") or _("The file")
    size = getattr(upload, "size", None)
    if size is not None and size > max_bytes():
        raise PostingError(too_large_message(name), code="photo_too_large")
    not_an_image = PostingError(
        _("“%(name)s” is not a photo SMC can use (JPEG, PNG, WebP or GIF).") % {"name": name},
        code="not_an_image",
    )
    with warnings.catch_warnings():
        # A decompression bomb (a small file that inflates to billions of pixels) is an
        # error, not a warning: Pillow would otherwise decode it.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            upload.seek(0)
            with Image.open(upload) as probe:
                kind = probe.format
                probe.verify()
            if kind not in ACCEPTED:
                raise not_an_image
            upload.seek(0)
            with Image.open(upload) as image:
                image.load()
                upright = ImageOps.exif_transpose(image)
                return _fresh_copy(upright, kind)
        except PostingError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PostingError(
                _("“%(name)s” has too many pixels to be a photo SMC can send.") % {"name": name},
                code="photo_too_many_pixels",
            ) from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
            raise not_an_image from None


def _fresh_copy(image: Image.Image, kind: str) -> CleanedPhoto:
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    # Image.new + paste copies pixels and nothing else: no .info, no EXIF, no ICC-borne text.
    if has_alpha:
        pixels = Image.new("RGBA", image.size)
        pixels.paste(image.convert("RGBA"))
        out, content_type = io.BytesIO(), "image/png"
        pixels.save(out, format="PNG", optimize=True)
    else:
        pixels = Image.new("RGB", image.size)
        pixels.paste(image.convert("RGB"))
        out, content_type = io.BytesIO(), "image/jpeg"
        pixels.save(out, format="JPEG", quality=90, optimize=True)
    return CleanedPhoto(out.getvalue(), content_type, pixels.width, pixels.height)
