"""Photos of issues: checked by content (not by the declared type), stored by hash.

A photo is accepted when its bytes start like a JPEG, PNG, WebP or GIF image
and it is not larger than the configured limit. It is written once under
``photo_dir/ab/cd/<sha256>.<ext>`` (content addressed: the same picture sent
twice is stored once), atomically (temporary file + rename).

Examples
--------
>>> p = PhotoInput(b"\\x89PNG\\r\\n\\x1a\\n" + b"0" * 16, filename="fix.png")
>>> check_photos([p], max_bytes=1024, max_count=3)[0].mime
'image/png'
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from civgrid.grids.core.errors import InvalidInputError

__all__ = ["CheckedPhoto", "PhotoInput", "check_photos", "sniff_image", "store_photo"]

_EXT = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif"}


@dataclass(frozen=True)
class PhotoInput:
    """An uploaded photo: bytes plus what the client said about them."""

    content: bytes
    filename: str | None = None
    declared_type: str | None = None


@dataclass(frozen=True)
class CheckedPhoto:
    """A photo that passed :func:`check_photos`."""

    content: bytes
    sha256: str
    mime: str
    size: int
    filename: str | None

    @property
    def relative_path(self) -> str:
        """Where it is stored under the photo directory."""
        h = self.sha256
        return f"{h[:2]}/{h[2:4]}/{h}.{_EXT[self.mime]}"


def sniff_image(data: bytes) -> str | None:
    """The image MIME type from the first bytes, or None if not a supported image."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


def check_photos(
    photos: Sequence[PhotoInput], *, max_bytes: int, max_count: int
) -> list[CheckedPhoto]:
    """Validate every photo before anything is stored.

    Raises
    ------
    InvalidInputError
        Too many photos, an empty or oversized file, or not an image; ``field``
        is ``photos[i]`` and the message names the file.
    """
    if len(photos) > max_count:
        raise InvalidInputError(
            f"too many photos: {len(photos)} (at most {max_count})", field="photos"
        )
    out = []
    for i, p in enumerate(photos):
        name = p.filename or f"photo {i + 1}"
        if not p.content:
            raise InvalidInputError(f"{name}: empty file", field=f"photos[{i}]")
        if len(p.content) > max_bytes:
            raise InvalidInputError(
                f"{name}: {len(p.content):,} bytes is larger than the limit of {max_bytes:,}",
                field=f"photos[{i}]",
            )
        mime = sniff_image(p.content)
        if mime is None:
            raise InvalidInputError(
                f"{name}: not a JPEG, PNG, WebP or GIF image"
                + (f" (declared {p.declared_type})" if p.declared_type else ""),
                field=f"photos[{i}]",
            )
        out.append(
            CheckedPhoto(
                p.content, hashlib.sha256(p.content).hexdigest(), mime, len(p.content), p.filename
            )
        )
    return out


def store_photo(photo_dir: Path, photo: CheckedPhoto) -> str:
    """Write ``photo`` under ``photo_dir`` (once per content); return its relative path."""
    rel = photo.relative_path
    target = Path(photo_dir) / rel
    if target.exists():
        return rel
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(photo.content)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return rel
