"""Loading images safely and naming them with ``img:N`` handles.

Tools never see paths: a run registers each input once (validated, oriented,
converted to 8-bit RGB, hashed) and tools refer to it by handle, GeoBrowse-style.
Derived images (crops, zooms) are registered too, with their parent and the
operation that made them, so evidence found on a crop can be traced to the original.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import io
import os
import stat
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from .errors import (
    EmptyImageError,
    GeoSleuthError,
    ImageNotFoundError,
    ImageTooLargeError,
    NotAFileError,
    NotAnImageError,
    TruncatedImageError,
    UnknownImageHandleError,
    UnreadableFileError,
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


#: Default refusal limit for encoded input: 200 MB, checked before anything is read
#: (a file's size from the file system, a stream's after at most this many bytes).
#: Override per Agent (``max_image_bytes``) or with ``GEOSLEUTH_MAX_IMAGE_BYTES``.
DEFAULT_MAX_BYTES = 200_000_000

#: Paths and labels in messages are cut to this many characters: errors stay one line.
MAX_LABEL_CHARS = 160


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    if len(text) <= MAX_LABEL_CHARS:
        return text
    keep = MAX_LABEL_CHARS // 2 - 2
    return f"{text[:keep]}...{text[-keep:]} ({len(text)} characters)"


def _describe(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return _short(os.fspath(source))
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<{len(source)} bytes>"
    if isinstance(source, Image.Image):
        return f"<PIL image {source.width}x{source.height} {source.mode}>"
    if isinstance(source, np.ndarray):
        return f"<array {source.shape} {source.dtype}>"
    return f"<{type(source).__name__}>"


def _size_text(size: int) -> str:
    return f"{size / 1e6:,.1f} MB" if size >= 1e5 else f"{size:,} bytes"


def _too_many_bytes(label: str, size: int | None, max_bytes: int) -> ImageTooLargeError:
    what = f"is {_size_text(size)}" if size is not None else "is larger than that"
    return ImageTooLargeError(
        f"{label} {what}, over the limit of {_size_text(max_bytes)} (raise max_image_bytes if you trust this file)",
        label,
    )


def _stat_file(source: str | os.PathLike[str]) -> tuple[Path, str, int]:
    """The path, its label and its size, or a typed error: missing, a directory, a
    device or FIFO, a name too long for the file system, no permission."""
    label = _describe(source)
    try:
        path = Path(source).expanduser()
        info = path.stat()
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        code = getattr(exc, "errno", None)
        if code in (errno.ENOENT, errno.ENOTDIR):
            raise ImageNotFoundError(f"image not found: {label}", label) from None
        if code == errno.ENAMETOOLONG:
            raise ImageNotFoundError(f"image path is too long for the file system: {label}", label) from None
        if code in (errno.EACCES, errno.EPERM):
            raise UnreadableFileError(f"no permission to read {label}", label) from None
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UnreadableFileError(f"cannot read {label}: {reason}", label) from None
    if stat.S_ISDIR(info.st_mode):
        raise NotAFileError(f"{label} is a directory, not an image file", label)
    if not stat.S_ISREG(info.st_mode):
        raise NotAFileError(f"{label} is not a regular file (a device, pipe or socket), not an image file", label)
    return path, label, info.st_size


def _read_file(path: Path, label: str, size: int, max_bytes: int) -> bytes:
    """The file's bytes after its size was checked and its header sniffed, so that a
    2 GB file or a large non-image is refused without being read."""
    if size > max_bytes:
        raise _too_many_bytes(label, size, max_bytes)
    try:
        with path.open("rb") as handle:
            _sniff(handle, label)
            handle.seek(0)
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UnreadableFileError(f"cannot read {label}: {reason}", label) from None
    if len(data) > max_bytes:  # the file grew since it was measured
        raise _too_many_bytes(label, None, max_bytes)
    return data


def _sniff(stream: Any, label: str) -> None:
    """Refuse a stream whose header no image decoder recognises (reads only the header)."""
    head = stream.read(16)
    if not head:
        raise EmptyImageError(f"{label} is empty (0 bytes)", label)
    stream.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Image.open(stream)  # not closed: that would close the caller's stream
    except Image.DecompressionBombError:
        return  # the pixel limit refuses it below, with the numbers
    except UnidentifiedImageError:
        hint = "" if HEIF_SUPPORT else " (HEIC needs the optional pillow-heif package)"
        raise NotAnImageError(f"{label} is not a readable image{hint}", label) from None
    except Exception:  # noqa: BLE001 - a broken header: the full decode below says what is wrong
        return


def _read_bytes(source: Any, max_bytes: int) -> tuple[bytes, str]:
    if isinstance(source, (str, os.PathLike)):
        path, label, size = _stat_file(source)
        return _read_file(path, label, size, max_bytes), label
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) > max_bytes:
            raise _too_many_bytes(_describe(source), len(source), max_bytes)
        return bytes(source), _describe(source)
    if hasattr(source, "read"):
        label = _short(str(getattr(source, "name", None) or "<file object>"))
        try:
            data = source.read(max_bytes + 1)
        except TypeError:  # a reader without a size argument
            data = source.read()
        except (OSError, ValueError) as exc:  # closed, not readable, a non-blocking stream
            raise UnsupportedInputError(f"cannot read file object {label}: {exc}") from None
        if not isinstance(data, (bytes, bytearray)):
            raise UnsupportedInputError(
                f"file object {label} returned {type(data).__name__}, not bytes; open it in binary mode"
            )
        if len(data) > max_bytes:
            raise _too_many_bytes(label, None, max_bytes)
        return bytes(data), label
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
    """An 8-bit array as an image: HxW (grey), HxWx1, HxWx3 (RGB) or HxWx4 (RGBA)."""
    label = _describe(arr)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise UnsupportedInputError(f"image array has shape {arr.shape}; expected HxW, HxWx3 or HxWx4")
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8) * 255
    if arr.dtype != np.uint8:
        raise UnsupportedInputError(
            f"image arrays must be uint8 (got {label}); scale to 0..255 and use arr.astype(numpy.uint8)"
        )
    if arr.ndim == 2:
        return Image.fromarray(np.ascontiguousarray(arr), "L")
    return Image.fromarray(np.ascontiguousarray(arr), "RGBA" if arr.shape[2] == 4 else "RGB")


def load_image(source: Any, *, max_pixels: int = DEFAULT_MAX_PIXELS, max_bytes: int = DEFAULT_MAX_BYTES) -> LoadedImage:
    """Validate and decode one image input, or raise a typed ``ImageInputError``.

    Accepts a path, bytes, a binary file object, a PIL image or a numpy array. The
    encoded size is checked before reading (``max_bytes``), the format from the header
    before the rest is read, and the pixel limit from the header before any pixels are
    decoded. Every failure a file can cause is a one-line ``GeoSleuthError``: what a
    decoder raises beyond the expected errors is turned into ``NotAnImageError`` naming
    it, never passed through.
    """
    try:
        return _load_image(source, max_pixels=max_pixels, max_bytes=max_bytes)
    except GeoSleuthError:
        raise
    except MemoryError:
        label = _describe(source)
        raise ImageTooLargeError(f"{label} needs more memory to decode than is available", label) from None
    except Exception as exc:  # noqa: BLE001 - decoders raise anything on hostile files
        label = _describe(source)
        detail = " ".join(str(exc).split())[:200]
        raise NotAnImageError(f"{label} cannot be decoded: {type(exc).__name__}: {detail}", label) from None


def _from_object(source: Image.Image | np.ndarray, max_pixels: int) -> LoadedImage:
    """A PIL image (perhaps opened lazily, perhaps truncated) or an array, checked and converted."""
    image = source if isinstance(source, Image.Image) else _array_to_image(source)
    label = _describe(source)
    if image.width * image.height > max_pixels:
        raise ImageTooLargeError(
            f"{label} has {image.width * image.height:,} pixels, over the limit of {max_pixels:,}",
            label,
        )
    if image.width == 0 or image.height == 0:
        raise EmptyImageError(f"{label} has no pixels", label)
    try:
        exif = image.getexif() if isinstance(source, Image.Image) else None
    except Exception:  # noqa: BLE001 - malformed EXIF must never stop the pixels from being used
        exif = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            pixels = image.copy()  # loads a lazily opened image: a truncated file fails here
    except (OSError, SyntaxError, EOFError) as exc:
        raise TruncatedImageError(f"{label} is truncated or corrupt: {exc}", label) from None
    except ValueError as exc:  # "Operation on closed image"
        raise UnsupportedInputError(f"cannot use {label}: {exc}") from None
    rgb = _to_rgb(pixels)
    digest = hashlib.sha256(rgb.tobytes()).hexdigest()
    return LoadedImage(rgb, digest, label, getattr(image, "format", None), image.mode, image.size, exif)


#: EXIF Orientation values that turn or flip the stored pixels (1 and unknown values do not).
_TURNING_ORIENTATIONS = frozenset(range(2, 9))
#: Those of them that swap width and height (the quarter turns).
_SWAPPING_ORIENTATIONS = frozenset(range(5, 9))


def _load_image(source: Any, *, max_pixels: int, max_bytes: int) -> LoadedImage:
    if isinstance(source, (Image.Image, np.ndarray)):
        return _from_object(source, max_pixels)

    data, label = _read_bytes(source, max_bytes)
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
        # Pillow's exif_transpose copies the whole image even when there is nothing to turn
        # (a 12 MP photo: 36 MB): only call it when the Orientation tag asks for a turn.
        turn = exif is None or exif.get(ExifTags.Base.Orientation, 1) in _TURNING_ORIENTATIONS
        oriented = ImageOps.exif_transpose(opened) if turn else opened
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
    _path: tuple[str | None] | None = field(default=None, repr=False)

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
        width, height = self.size
        return {
            "handle": self.handle,
            "path": self._file_path(),
            "width": width,
            "height": height,
            "sha256": self.sha256,
            "source": self.source,
            "parent": self.parent,
            "operation": self.operation,
            "notes": list(self.notes),
        }

    def _file_path(self) -> str | None:
        """The input's absolute file path (None for derived and in-memory images), found
        once: a run describes its inputs many times."""
        if self._path is None:
            path = Path(self.source) if self.parent is None and not self.source.startswith("<") else None
            self._path = (str(path.resolve()) if path is not None and path.is_file() else None,)
        return self._path[0]

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


@functools.lru_cache(maxsize=256)
def _jpeg_header(path: str, size: int, mtime_ns: int) -> tuple[tuple[int, int], Image.Exif] | None:
    """A JPEG's stored size and EXIF, read from its header once per (path, size, mtime):
    replaying many runs of one photo opens it once. None for other formats (their EXIF may
    follow the pixels) and for headers Pillow cannot read. The EXIF is shared: read it only."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as opened:
                if opened.format not in ("JPEG", "MPO"):
                    return None
                return opened.size, opened.getexif()
        except Exception:  # noqa: BLE001 - unreadable or malformed: the caller decodes eagerly, which says why
            return None


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

    def add_file_lazily(
        self,
        source: str | os.PathLike[str],
        sha256: str,
        *,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> RegisteredImage:
        """Register an input file whose hash is already known (a replay checked it against
        its trace) without decoding it: size, EXIF and notes come from the header, and the
        pixels are decoded by :func:`load_image` only if something looks at them. A file
        whose decoded hash or size then differs is refused (``UnreadableFileError``)."""
        path, label, _ = _stat_file(source)
        facts = os.stat(path)
        header = _jpeg_header(os.path.realpath(path), facts.st_size, facts.st_mtime_ns)
        if header is None:  # not a JPEG, or an odd header: the eager path, which says what is wrong
            return self.add_loaded(load_image(path, max_pixels=max_pixels, max_bytes=max_bytes))
        (width, height), exif = header
        notes: list[str] = []
        if width * height > max_pixels:
            load_image(path, max_pixels=max_pixels, max_bytes=max_bytes)  # raises the limit's own error
        if exif.get(ExifTags.Base.Orientation, 1) in _SWAPPING_ORIENTATIONS and width != height:
            width, height = height, width
            notes.append("rotated upright from EXIF orientation")
        size = (width, height)

        def decode() -> Image.Image:
            loaded = load_image(path, max_pixels=max_pixels, max_bytes=max_bytes)
            if loaded.sha256 != sha256 or loaded.image.size != size:
                raise UnreadableFileError(f"{label} changed since it was registered (hash or size differs)", label)
            return loaded.image

        with self._lock:
            handle = f"img:{len(self._images)}"
            entry = RegisteredImage(
                handle, None, sha256, label, exif=exif, notes=notes, declared_size=size, _factory=decode
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
