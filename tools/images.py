"""Loading images safely and naming them with ``img:N`` handles.

Tools never see paths: a run registers each input once (validated, oriented,
converted to 8-bit RGB, hashed) and tools refer to it by handle, GeoBrowse-style.
Derived images (crops, zooms) are registered too, with their parent and the
operation that made them, so evidence found on a crop can be traced to the original.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import (
    EmptyImageError,
    ImageNotFoundError,
    ImageTooLargeError,
    NotAFileError,
    NotAnImageError,
    TruncatedImageError,
    UnknownImageHandleError,
    UnsupportedInputError,
)

#: Default refusal limit: 100 megapixels. Larger inputs are refused before decoding,
#: which is the decompression-bomb guard (a 40 kB PNG can declare 10 gigapixels).
#: Override per Agent (``max_image_pixels``) or with ``GEOSLEUTH_MAX_IMAGE_PIXELS``.
DEFAULT_MAX_PIXELS = 100_000_000

try:  # HEIC/HEIF/AVIF photos from phones, when the optional plugin is installed.
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIF_SUPPORT = True
except ImportError:  # pragma: no cover - depends on the environment
    HEIF_SUPPORT = False


@dataclass
class LoadedImage:
    """A validated input image: 8-bit RGB pixels plus what was learnt while loading."""

    image: Image.Image
    sha256: str
    source: str
    format: str | None
    original_mode: str
    original_size: tuple[int, int]
    exif: Image.Exif | None
    notes: list[str] = field(default_factory=list)


def _describe(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<{len(source)} bytes>"
    if isinstance(source, Image.Image):
        return f"<PIL image {source.width}x{source.height} {source.mode}>"
    if isinstance(source, np.ndarray):
        return f"<array {source.shape} {source.dtype}>"
    return f"<{type(source).__name__}>"


def _read_bytes(source: Any) -> tuple[bytes, str]:
    if isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        if not path.exists():
            raise ImageNotFoundError(f"image not found: {path}", str(path))
        if not path.is_file():
            kind = "a directory" if path.is_dir() else "not a regular file"
            raise NotAFileError(f"{path} is {kind}, not an image file", str(path))
        return path.read_bytes(), str(path)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), _describe(source)
    if hasattr(source, "read"):
        data = source.read()
        if not isinstance(data, (bytes, bytearray)):
            raise UnsupportedInputError(
                f"file object {source!r} returned {type(data).__name__}, not bytes; open it in binary mode"
            )
        return bytes(data), getattr(source, "name", None) or "<file object>"
    raise UnsupportedInputError(
        f"cannot locate an object of type {type(source).__name__}: pass a path, bytes, a binary file, "
        "a PIL image or a numpy array (or a list of these for several views of one place)"
    )


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB, compositing transparency on white."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(image, dtype=np.float64)
        lo, hi = np.nanpercentile(arr, 0.5), np.nanpercentile(arr, 99.5)
        scaled = np.clip((arr - lo) / max(hi - lo, 1e-9) * 255.0, 0, 255).astype(np.uint8)
        return Image.fromarray(scaled, "L").convert("RGB")
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    elif mode == "P":
        return image.convert("RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _array_to_image(arr: np.ndarray) -> Image.Image:
    if arr.ndim == 2:
        return Image.fromarray(arr)
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        if arr.dtype != np.uint8:
            raise UnsupportedInputError(f"image arrays must be uint8 (got {arr.dtype}); scale to 0..255 first")
        return Image.fromarray(arr, "RGBA" if arr.shape[2] == 4 else "RGB")
    raise UnsupportedInputError(f"image array has shape {arr.shape}; expected HxW, HxWx3 or HxWx4")


def load_image(source: Any, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Validate and decode one image input, or raise a typed ``ImageInputError``.

    Accepts a path, bytes, a binary file object, a PIL image or a numpy array. The
    pixel limit is checked from the header, before any pixels are decoded.
    """
    if isinstance(source, (Image.Image, np.ndarray)):
        image = source if isinstance(source, Image.Image) else _array_to_image(source)
        label = _describe(source)
        if image.width * image.height > max_pixels:
            raise ImageTooLargeError(
                f"{label} has {image.width * image.height:,} pixels, over the limit of {max_pixels:,}",
                label,
            )
        if image.width == 0 or image.height == 0:
            raise EmptyImageError(f"{label} has no pixels", label)
        exif = image.getexif() if isinstance(source, Image.Image) else None
        rgb = _to_rgb(image.copy())
        digest = hashlib.sha256(rgb.tobytes()).hexdigest()
        return LoadedImage(
            rgb,
            digest,
            label,
            getattr(image, "format", None),
            image.mode,
            image.size,
            exif,
        )

    data, label = _read_bytes(source)
    if not data:
        raise EmptyImageError(f"{label} is empty (0 bytes)", label)
    digest = hashlib.sha256(data).hexdigest()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(
            f"{label} declares more pixels than Pillow's decompression-bomb limit, over the limit of {max_pixels:,}",
            label,
        ) from exc
    except UnidentifiedImageError as exc:
        hint = "" if HEIF_SUPPORT else " (HEIC needs the optional pillow-heif package)"
        raise NotAnImageError(f"{label} is not a readable image{hint}", label) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise NotAnImageError(f"{label} is not a readable image: {exc}", label) from exc

    width, height = opened.size
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"{label} is {width}x{height} = {width * height:,} pixels, over the limit of {max_pixels:,} "
            "(raise max_image_pixels if you trust this file)",
            label,
        )
    if width == 0 or height == 0:
        raise EmptyImageError(f"{label} declares a {width}x{height} image", label)

    notes: list[str] = []
    try:
        exif: Image.Exif | None = opened.getexif()
    except Exception as exc:  # noqa: BLE001 - malformed EXIF must never stop the pixels from being used
        exif = None
        notes.append(f"EXIF unreadable: {type(exc).__name__}: {exc}")
    original_mode = opened.mode
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            opened.load()
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise TruncatedImageError(f"{label} is truncated or corrupt: {exc}", label) from exc
    try:
        oriented = ImageOps.exif_transpose(opened)
    except Exception as exc:  # noqa: BLE001 - a broken Orientation tag: keep the pixels as stored
        notes.append(f"EXIF orientation ignored: {type(exc).__name__}")
        oriented = opened
    if oriented is not opened and oriented.size != opened.size:
        notes.append("rotated upright from EXIF orientation")
    return LoadedImage(
        _to_rgb(oriented),
        digest,
        label,
        opened.format,
        original_mode,
        (width, height),
        exif,
        notes,
    )


@dataclass
class RegisteredImage:
    """An image a run knows by handle. ``parent``/``operation`` describe derived images.

    Pixels may be lazy: a replayed run re-registers the images its recorded tool calls
    made without recomputing them, and only builds the pixels (from the parent and the
    operation) if something asks for them.
    """

    handle: str
    _pixels: Image.Image | None
    sha256: str
    source: str
    parent: str | None = None
    operation: dict[str, Any] | None = None
    exif: Image.Exif | None = None
    notes: list[str] = field(default_factory=list)
    #: Affine map from this image's pixels to the root image's pixels: (sx, sy, ox, oy);
    #: None when no such map exists (a rotated derivative).
    to_root: tuple[float, float, float, float] | None = (1.0, 1.0, 0.0, 0.0)
    #: The same map to the parent's pixels (None for inputs and rotations).
    to_parent: tuple[float, float, float, float] | None = None
    #: (width, height) when the pixels are lazy.
    declared_size: tuple[int, int] | None = None
    _factory: Any = None
    _lock: Any = field(default_factory=threading.Lock, repr=False)

    @property
    def image(self) -> Image.Image:
        if self._pixels is None:
            with self._lock:
                if self._pixels is None:
                    self._pixels = self._factory()
        assert self._pixels is not None
        return self._pixels

    @property
    def materialized(self) -> bool:
        return self._pixels is not None

    @property
    def size(self) -> tuple[int, int]:
        if self._pixels is None and self.declared_size is not None:
            return self.declared_size
        return self.image.size

    def info(self) -> dict[str, Any]:
        """JSON-safe description (for traces and the model): no pixels. ``path`` is the
        absolute path of an input image read from a file (so a trace can be replayed or
        rendered from another directory)."""
        path = Path(self.source) if self.parent is None and not self.source.startswith("<") else None
        width, height = self.size
        return {
            "handle": self.handle,
            "path": str(path.resolve()) if path is not None and path.is_file() else None,
            "width": width,
            "height": height,
            "sha256": self.sha256,
            "source": self.source,
            "parent": self.parent,
            "operation": self.operation,
            "notes": list(self.notes),
        }

    def root_box(self, box: list[float]) -> list[float] | None:
        """Map a box in this image's pixels to the root image's pixels (None if unmappable)."""
        if self.to_root is None:
            return None
        sx, sy, ox, oy = self.to_root
        return [box[0] * sx + ox, box[1] * sy + oy, box[2] * sx + ox, box[3] * sy + oy]


def compose(
    to_parent: tuple[float, float, float, float] | None, parent_to_root: tuple[float, float, float, float] | None
) -> tuple[float, float, float, float] | None:
    """This image's map to root pixels, from its map to the parent and the parent's to root."""
    if to_parent is None or parent_to_root is None:
        return None
    sx, sy, ox, oy = to_parent
    psx, psy, pox, poy = parent_to_root
    return (sx * psx, sy * psy, ox * psx + pox, oy * psy + poy)


Listener = Any  # Callable[[RegisteredImage], None]


class ImageRegistry:
    """The images of one run, by handle (``img:0``, ``img:1``, ...). Thread-safe.

    ``listen(callback)`` is told of every image registered from then on (the run's
    trace records each registration as its own step).
    """

    def __init__(self) -> None:
        self._images: dict[str, RegisteredImage] = {}
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []

    def listen(self, callback: Listener) -> None:
        self._listeners.append(callback)

    def _announce(self, entry: RegisteredImage) -> None:
        for callback in list(self._listeners):
            callback(entry)

    def add_loaded(self, loaded: LoadedImage) -> RegisteredImage:
        with self._lock:
            handle = f"img:{len(self._images)}"
            entry = RegisteredImage(
                handle,
                loaded.image,
                loaded.sha256,
                loaded.source,
                exif=loaded.exif,
                notes=list(loaded.notes),
            )
            self._images[handle] = entry
        self._announce(entry)
        return entry

    def add_derived(
        self,
        image: Image.Image,
        parent: str,
        operation: dict[str, Any],
        to_parent: tuple[float, float, float, float] | None,
    ) -> RegisteredImage:
        """Register an image made from ``parent``. ``to_parent`` maps new pixels to parent
        pixels (scale x, scale y, offset x, offset y), or None when no such map exists
        (rotations), in which case boxes found on it are not mapped back."""
        base = self.get(parent)
        digest = hashlib.sha256(image.tobytes()).hexdigest()
        with self._lock:
            handle = f"img:{len(self._images)}"
            entry = RegisteredImage(
                handle,
                image,
                digest,
                base.source,
                parent=parent,
                operation=operation,
                to_root=compose(to_parent, base.to_root),
                to_parent=to_parent,
            )
            self._images[handle] = entry
        self._announce(entry)
        return entry

    def add_recorded(
        self,
        handle: str,
        parent: str,
        operation: dict[str, Any] | None,
        to_parent: tuple[float, float, float, float] | None,
        size: tuple[int, int],
        sha256: str,
    ) -> RegisteredImage:
        """Re-register an image a recorded tool call made (replay), pixels built only on
        demand from the parent and the operation. The handle must be the next one."""
        base = self.get(parent)
        with self._lock:
            expected = f"img:{len(self._images)}"
            if handle != expected:
                raise UnknownImageHandleError(f"recorded image {handle} would be registered as {expected}")
            entry = RegisteredImage(
                handle,
                None,
                sha256,
                base.source,
                parent=parent,
                operation=operation,
                to_root=compose(to_parent, base.to_root),
                to_parent=to_parent,
                declared_size=(int(size[0]), int(size[1])),
                _factory=lambda: derive_image(base.image, operation or {}, size),
            )
            self._images[handle] = entry
        self._announce(entry)
        return entry

    def get(self, handle: str) -> RegisteredImage:
        try:
            return self._images[handle]
        except KeyError:
            known = ", ".join(self._images) or "none"
            raise UnknownImageHandleError(f"unknown image handle {handle!r} (known: {known})") from None

    def root_of(self, handle: str) -> RegisteredImage:
        entry = self.get(handle)
        while entry.parent is not None:
            entry = self.get(entry.parent)
        return entry

    def handles(self) -> list[str]:
        return list(self._images)

    def roots(self) -> list[RegisteredImage]:
        return [e for e in self._images.values() if e.parent is None]

    def __len__(self) -> int:
        return len(self._images)

    def __contains__(self, handle: object) -> bool:
        return handle in self._images


def derive_image(parent: Image.Image, operation: dict[str, Any], size: tuple[int, int]) -> Image.Image:
    """Rebuild a derived image from its parent and its recorded operation.

    The image tools and OCR zooms record ``{"op": ..., "box": ...}``; the recorded size
    fixes the resampling, so the pixels equal the ones the live run made.
    """
    from .image_ops import apply_operation

    return apply_operation(parent, operation, (int(size[0]), int(size[1])))
