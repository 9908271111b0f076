"""An input file registered lazily (replay: its hash is known from the trace) describes
itself exactly as a decoded one, and is decoded only when its pixels are looked at."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tools.errors import UnreadableFileError
from tools.images import ImageRegistry, load_image

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "lisbon_street.jpg"


def both(path):
    eager, lazy = ImageRegistry(), ImageRegistry()
    loaded = load_image(path)
    eager.add_loaded(loaded)
    lazy.add_file_lazily(path, loaded.sha256)
    return eager.get("img:0"), lazy.get("img:0")


def rotated_jpeg(tmp_path, orientation):
    image = Image.new("RGB", (64, 32), (200, 30, 30))
    image.paste((20, 20, 220), (0, 0, 16, 32))
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"rotated{orientation}.jpg"
    image.save(path, exif=exif.tobytes())
    return path


@pytest.mark.parametrize("orientation", [None, 3, 6])
def test_lazy_registration_describes_the_image_as_decoding_does(tmp_path, orientation):
    path = EXAMPLE if orientation is None else rotated_jpeg(tmp_path, orientation)
    eager, lazy = both(path)
    assert not lazy.materialized
    assert lazy.info() == eager.info()  # size after the EXIF turn, hash, notes, path
    assert not lazy.materialized  # describing it decoded nothing
    assert np.array_equal(np.asarray(lazy.image), np.asarray(eager.image))


def test_a_file_changed_after_registration_is_refused_when_decoded(tmp_path):
    path = tmp_path / "photo.jpg"
    Image.new("RGB", (40, 30), (10, 120, 10)).save(path)
    entry = ImageRegistry().add_file_lazily(path, load_image(path).sha256)
    Image.new("RGB", (40, 30), (250, 0, 0)).save(path)
    with pytest.raises(UnreadableFileError, match="changed since"):
        _ = entry.image


def test_a_png_is_decoded_at_once(tmp_path):
    path = tmp_path / "photo.png"
    Image.new("RGB", (40, 30), (10, 120, 10)).save(path)
    entry = ImageRegistry().add_file_lazily(path, load_image(path).sha256)
    assert entry.materialized and entry.size == (40, 30)


def test_a_file_rewritten_between_registrations_is_described_afresh(tmp_path):
    path = tmp_path / "photo.jpg"
    Image.new("RGB", (40, 30), (10, 120, 10)).save(path)
    assert ImageRegistry().add_file_lazily(path, load_image(path).sha256).size == (40, 30)
    Image.new("RGB", (64, 48), (10, 120, 10)).save(path)
    assert ImageRegistry().add_file_lazily(path, load_image(path).sha256).size == (64, 48)
