import io

import numpy as np
import pytest
from helpers import encode, jpeg_with_gps, png_header_only
from PIL import Image

from tools.errors import (
    EmptyImageError,
    GeoSleuthError,
    ImageNotFoundError,
    ImageTooLargeError,
    NotAFileError,
    NotAnImageError,
    TruncatedImageError,
    UnknownImageHandleError,
    UnsupportedInputError,
)
from tools.images import ImageRegistry, load_image


def test_missing_path(tmp_path):
    with pytest.raises(ImageNotFoundError, match="not found"):
        load_image(tmp_path / "nope.jpg")


def test_directory(tmp_path):
    with pytest.raises(NotAFileError, match="directory"):
        load_image(tmp_path)


def test_non_image_file(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("these are not pixels")
    with pytest.raises(NotAnImageError, match="not a readable image"):
        load_image(path)


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(EmptyImageError, match="0 bytes"):
        load_image(path)


def test_truncated_jpeg(tmp_path):
    data = encode(Image.effect_noise((400, 300), 60).convert("RGB"), "JPEG", quality=95)
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(TruncatedImageError, match="truncated"):
        load_image(path)


def test_decompression_bomb_refused_before_decoding():
    bomb = png_header_only(100_000, 100_000)
    assert len(bomb) < 200
    with pytest.raises(ImageTooLargeError, match="over the limit"):
        load_image(bomb)
    with pytest.raises(ImageTooLargeError):
        load_image(encode(Image.new("RGB", (200, 100)), "PNG"), max_pixels=10_000)


def test_one_pixel_image_is_accepted():
    loaded = load_image(encode(Image.new("RGB", (1, 1), "red"), "PNG"))
    assert loaded.image.size == (1, 1)


@pytest.mark.parametrize(
    "image,fmt",
    [
        (Image.new("CMYK", (40, 30), (0, 255, 255, 0)), "JPEG"),
        (Image.fromarray(np.linspace(0, 65535, 40 * 30, dtype=np.uint16).reshape(30, 40)), "PNG"),
        (Image.new("LA", (40, 30), (128, 100)), "PNG"),
        (Image.new("1", (40, 30), 1), "PNG"),
        (Image.new("RGBA", (40, 30), (255, 0, 0, 0)), "PNG"),
    ],
    ids=["cmyk", "16-bit", "grey-alpha", "bilevel", "transparent"],
)
def test_modes_become_rgb(image, fmt):
    loaded = load_image(encode(image, fmt))
    assert loaded.image.mode == "RGB"
    assert loaded.image.size == (40, 30)
    assert loaded.original_mode == image.mode or image.mode == "I;16"


def test_cmyk_colour_is_preserved():
    loaded = load_image(encode(Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "JPEG", quality=100))
    r, g, b = loaded.image.getpixel((4, 4))
    assert r > 200 and g < 60 and b < 60  # cyan 0, magenta+yellow full = red


def test_16_bit_keeps_gradient():
    arr = np.tile(np.linspace(0, 65535, 64), (8, 1)).astype(np.uint16)
    loaded = load_image(encode(Image.fromarray(arr), "PNG"))
    row = np.asarray(loaded.image)[4, :, 0]
    assert row[0] < 10 and row[-1] > 245 and np.all(np.diff(row.astype(int)) >= 0)


def test_palette_with_transparency_composited_on_white():
    palette = Image.new("P", (10, 10), 0)
    palette.putpalette([0, 0, 0] * 256)
    loaded = load_image(encode(palette, "PNG", transparency=0))
    assert loaded.image.getpixel((5, 5)) == (255, 255, 255)


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (60, 20), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    loaded = load_image(encode(image, "JPEG", exif=exif))
    assert loaded.image.size == (20, 60)
    assert any("rotated" in n for n in loaded.notes)


def test_other_input_types(tmp_path):
    data = jpeg_with_gps(10, 20)
    path = tmp_path / "a.jpg"
    path.write_bytes(data)
    from_path = load_image(path)
    assert load_image(str(path)).sha256 == from_path.sha256 == load_image(data).sha256
    assert load_image(io.BytesIO(data)).sha256 == from_path.sha256
    assert load_image(bytearray(data)).image.size == (320, 240)
    assert load_image(Image.new("RGB", (5, 6))).image.size == (5, 6)
    assert load_image(np.zeros((6, 5, 3), dtype=np.uint8)).image.size == (5, 6)
    assert load_image(Image.open(io.BytesIO(data))).exif is not None


@pytest.mark.parametrize("value", [42, 3.5, None, {"a": 1}, np.zeros((2, 2, 2), dtype=np.uint8)])
def test_unsupported_types(value):
    with pytest.raises(UnsupportedInputError):
        load_image(value)


def test_text_mode_file_object(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("x")
    with path.open() as fh, pytest.raises(UnsupportedInputError, match="binary"):
        load_image(fh)


def test_every_input_error_is_a_geosleuth_error_with_one_line_message(tmp_path):
    cases = [tmp_path / "missing.png", tmp_path, b"", b"GIF89a-not-really", 12]
    for case in cases:
        with pytest.raises(GeoSleuthError) as info:
            load_image(case)
        assert "\n" not in str(info.value) and str(info.value)


def test_registry_handles_and_derived_mapping():
    registry = ImageRegistry()
    root = registry.add_loaded(load_image(Image.new("RGB", (100, 80))))
    assert root.handle == "img:0"
    crop = registry.add_derived(Image.new("RGB", (40, 40)), "img:0", {"op": "crop"}, (1, 1, 50, 20))
    zoom = registry.add_derived(Image.new("RGB", (80, 80)), crop.handle, {"op": "zoom"}, (0.5, 0.5, 0, 0))
    assert zoom.root_box([0, 0, 80, 80]) == [50, 20, 90, 60]
    rotated = registry.add_derived(Image.new("RGB", (80, 80)), zoom.handle, {"op": "rotate"}, None)
    assert rotated.root_box([0, 0, 1, 1]) is None
    assert registry.root_of(rotated.handle) is root
    assert [r.handle for r in registry.roots()] == ["img:0"]
    with pytest.raises(UnknownImageHandleError, match="img:9"):
        registry.get("img:9")


def test_heic_with_gps_when_pillow_heif_is_installed():
    pytest.importorskip("pillow_heif")
    from tools.exif import read_exif

    exif = Image.Exif()
    exif.get_ifd(0x8825).update({1: "S", 2: (22.0, 54.0, 0.0), 3: "W", 4: (43.0, 12.0, 0.0)})
    data = encode(Image.new("RGB", (64, 48), "green"), "HEIF", exif=exif.tobytes())
    loaded = load_image(data)
    assert loaded.format == "HEIF" and loaded.image.mode == "RGB"
    gps = read_exif(loaded.exif).gps
    assert (gps.lat, gps.lon) == (pytest.approx(-22.9), pytest.approx(-43.2))
