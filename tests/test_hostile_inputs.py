"""Hostile inputs, one table: every error a user can cause is a typed one-line
``GeoSleuthError`` in the API and one line on stderr from the CLI, never a traceback.

Add a case to the table that fits it: ``API_CASES`` (what ``Agent.locate`` is given,
the error type, a fragment of the message) or ``CLI_CASES`` (the arguments, the exit
code, a fragment of stderr). Each case builds its input in ``tmp_path``.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import encode
from PIL import Image

from agent import Agent
from agent.cli import main, split_coordinate_args
from tools.errors import (
    ConfigError,
    EmptyImageError,
    GeoSleuthError,
    ImageNotFoundError,
    ImageTooLargeError,
    NotAFileError,
    NotAnImageError,
    RunError,
    TruncatedImageError,
    UnsupportedInputError,
)


def _jpeg(size: tuple[int, int] = (300, 200)) -> bytes:
    return encode(Image.effect_noise(size, 60).convert("RGB"), "JPEG", quality=95)


def _truncated_lazy_image(tmp_path: Path) -> Image.Image:
    data = _jpeg((400, 300))
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    return Image.open(path)  # opened lazily: the pixels are only read (and fail) later


def _closed_image(tmp_path: Path) -> Image.Image:
    path = tmp_path / "ok.jpg"
    path.write_bytes(_jpeg())
    image = Image.open(path)
    image.close()
    return image


def _sparse_file(tmp_path: Path, size: int, name: str = "huge.jpg", head: bytes = b"") -> Path:
    """A file of ``size`` bytes that takes no disk space (and must not be read)."""
    path = tmp_path / name
    with path.open("wb") as handle:
        handle.write(head)
        handle.truncate(size)
    return path


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.jpg"
    os.mkfifo(path)
    return path


def _closed_file(tmp_path: Path) -> Any:
    handle = io.BytesIO(_jpeg())
    handle.close()
    return handle


@dataclass
class ApiCase:
    """``Agent.locate(make(tmp_path), **options)`` raises ``error`` whose message holds ``fragment``."""

    id: str
    make: Callable[[Path], Any]
    error: type[GeoSleuthError]
    fragment: str
    options: dict[str, Any] = field(default_factory=dict)


API_CASES = [
    ApiCase("path-5000-chars", lambda t: "x" * 5000 + ".jpg", ImageNotFoundError, "too long"),
    ApiCase("path-deep-5000-chars", lambda t: "/".join(["d" * 200] * 25) + "/a.jpg", ImageNotFoundError, "image"),
    ApiCase("path-with-nul", lambda t: "a\x00b.jpg", GeoSleuthError, "cannot read"),
    ApiCase("directory", lambda t: t, NotAFileError, "directory"),
    ApiCase("device", lambda t: "/dev/zero", NotAFileError, "not a regular file"),
    ApiCase("fifo", _fifo, NotAFileError, "not a regular file"),
    ApiCase("2GB-file", lambda t: _sparse_file(t, 2_100_000_000), ImageTooLargeError, "over the limit of 200"),
    ApiCase(
        "large-non-image",
        lambda t: _sparse_file(t, 150_000_000, "big.jpg", b"just text, no image"),
        NotAnImageError,
        "not a readable image",
    ),
    ApiCase("empty-file", lambda t: _sparse_file(t, 0, "empty.jpg"), EmptyImageError, "0 bytes"),
    ApiCase("bytes-over-limit", lambda t: b"\xff" * 2048, ImageTooLargeError, "over the limit", {"max_bytes": 1024}),
    ApiCase("truncated-lazy-pil", _truncated_lazy_image, TruncatedImageError, "truncated"),
    ApiCase("closed-pil", _closed_image, GeoSleuthError, "closed"),
    ApiCase("array-2d-int64", lambda t: np.zeros((40, 60), dtype=np.int64), UnsupportedInputError, "uint8"),
    ApiCase("array-float", lambda t: np.zeros((40, 60, 3)), UnsupportedInputError, "uint8"),
    ApiCase("array-2-channels", lambda t: np.zeros((40, 60, 2), np.uint8), UnsupportedInputError, "shape"),
    ApiCase("array-0d", lambda t: np.array(3), UnsupportedInputError, "shape"),
    ApiCase("array-object", lambda t: np.array([[object()]]), UnsupportedInputError, "uint8"),
    ApiCase("closed-file-object", _closed_file, UnsupportedInputError, "cannot read"),
    ApiCase("text-bytes", lambda t: b"these are not pixels", NotAnImageError, "not a readable image"),
    ApiCase("bbox-upside-down", lambda t: _jpeg(), ConfigError, "bbox", {"bbox": (10, 0, -10, 5)}),
    ApiCase("bbox-nan", lambda t: _jpeg(), ConfigError, "bbox", {"bbox": (float("nan"), 0, 1, 1)}),
    ApiCase("unknown-country", lambda t: _jpeg(), ConfigError, "unknown country", {"country": "Atlantis"}),
    ApiCase("country-not-a-string", lambda t: _jpeg(), ConfigError, "countries", {"country": 123}),
    ApiCase("country-list-with-none", lambda t: _jpeg(), ConfigError, "countries", {"country": [None]}),
    ApiCase("bbox-not-numbers", lambda t: _jpeg(), ConfigError, "bbox", {"bbox": "abc"}),
]


@pytest.fixture(scope="module")
def plain_agent():
    return Agent(disable=["ocr", "text", "search", "osm"])


@pytest.mark.parametrize("case", API_CASES, ids=[c.id for c in API_CASES])
def test_api_hostile_input_is_a_typed_one_line_error(case, plain_agent, tmp_path):
    options = dict(case.options)
    agent = plain_agent
    if "max_bytes" in options:
        agent = Agent(disable=["ocr", "text", "search", "osm"], max_image_bytes=options.pop("max_bytes"))
    with pytest.raises(GeoSleuthError) as info:
        agent.locate(case.make(tmp_path), use_metadata=False, **options)
    assert isinstance(info.value, case.error), f"{type(info.value).__name__}: {info.value}"
    message = str(info.value)
    assert case.fragment in message and "\n" not in message and len(message) < 400


@dataclass
class CliCase:
    """``geosleuth ARGS`` exits with ``code`` and one stderr line holding ``fragment``."""

    id: str
    args: Callable[[Path], list[str]]
    code: int
    fragment: str


CLI_CASES = [
    CliCase("path-5000-chars", lambda t: ["locate", "y" * 5000 + ".jpg"], 1, "too long"),
    CliCase("2GB-file", lambda t: ["locate", str(_sparse_file(t, 2_100_000_000))], 1, "over the limit"),
    CliCase("device", lambda t: ["locate", "/dev/zero"], 1, "not a regular file"),
    CliCase("bbox-upside-down", lambda t: ["locate", "--bbox", "10", "0", "-10", "5", str(_img(t))], 1, "bbox"),
    CliCase("bbox-three-numbers", lambda t: ["locate", "--bbox", "-34,18,-33", str(_img(t))], 2, "--bbox"),
    CliCase(
        "osm-limit",
        lambda t: ["osm", "search", "--tag", "a=b", "--bbox", "-34", "18", "-33", "19", "--limit", "0"],
        2,
        "limit: ",
    ),
    CliCase("osm-bbox-order", lambda t: ["osm", "search", "--tag", "a=b", "--bbox=-33,18,-34,19"], 2, "bbox: "),
    CliCase(
        "osm-no-selector", lambda t: ["osm", "search", "--bbox", "-34", "18", "-33", "19"], 2, "give at least one tag"
    ),
    CliCase("osm-verify-lat", lambda t: ["osm", "verify", "100", "0", "Rua Augusta"], 2, "lat: "),
    CliCase("osm-radius", lambda t: ["osm", "search", "--tag", "a=b", "--around", "-33.9,18.4,500000"], 2, "radius"),
    CliCase("trace-over-input", lambda t: ["locate", str(_img(t)), "--trace", str(_img(t))], 1, "over the input image"),
    CliCase("trace-exists", lambda t: ["locate", str(_img(t)), "--trace", str(_existing(t))], 1, "exists already"),
    CliCase("trace-under-a-file", lambda t: ["locate", str(_img(t)), "--trace", str(_existing(t) / "x")], 1, "trace"),
    CliCase("trace-in-proc", lambda t: ["locate", str(_img(t)), "--trace", "/proc/geosleuth.jsonl"], 1, "trace"),
]


def _existing(tmp_path: Path) -> Path:
    path = tmp_path / "kept.jsonl"
    path.write_text("precious\n")
    return path


def _img(tmp_path: Path) -> Path:
    path = tmp_path / "photo.jpg"
    path.write_bytes(_jpeg())
    return path


@pytest.fixture()
def quiet_env(monkeypatch, tmp_path):
    monkeypatch.setenv("GEOSLEUTH_ONLINE", "0")
    monkeypatch.setenv("GEOSLEUTH_TOOL_SETTINGS", '{"net_min_interval_s": 0}')


def test_nothing_is_overwritten(quiet_env, tmp_path, capsys):
    photo = _img(tmp_path)
    before = photo.read_bytes()
    assert main(["locate", str(photo), "--trace", str(photo)]) == 1
    assert photo.read_bytes() == before  # the input photo is intact
    kept = _existing(tmp_path)
    assert main(["locate", str(photo), "--trace", str(kept)]) == 1 and kept.read_text() == "precious\n"
    assert main(["locate", str(photo), "--trace", str(kept), "--force"]) == 0 and kept.read_text() != "precious\n"


@pytest.mark.parametrize("case", CLI_CASES, ids=[c.id for c in CLI_CASES])
def test_cli_hostile_input_is_one_line(case, quiet_env, tmp_path, capsys):
    try:
        code = main(case.args(tmp_path))
    except SystemExit as exit_:  # argparse's own usage errors
        code = exit_.code
    err = capsys.readouterr().err
    assert code == case.code, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("geosleuth")]
    assert len(lines) == 1 and case.fragment in lines[0], err
    assert "validation error for" not in err


def test_an_internal_error_is_one_line_and_debug_shows_the_traceback(monkeypatch, tmp_path, capsys):
    def broken(self, *args, **kwargs):
        raise ZeroDivisionError("division by zero in a place it should not be")

    monkeypatch.setattr(Agent, "locate", broken)
    image = str(_img(tmp_path))
    assert main(["locate", image]) == 70
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "internal error (a bug in geosleuth" in err and "ZeroDivisionError" in err and "--debug" in err
    assert main(["locate", image, "--debug"]) == 70
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["--bbox", "-34", "18", "-33", "19"],
        ["--bbox", "-34,18,-33,19"],
        ["--bbox=-34,18,-33,19"],
        ["--bbox=-34", "18", "-33", "19"],
    ],
)
def test_southern_and_western_coordinates_parse(argv):
    from agent.cli import build_parser

    args = build_parser().parse_args(split_coordinate_args(["locate", *argv, "photo.jpg"]))
    assert args.bbox == [-34.0, 18.0, -33.0, 19.0] and args.images == ["photo.jpg"]
    osm = build_parser().parse_args(split_coordinate_args(["osm", "search", "--around", "-33.9,18.4,500"]))
    assert osm.around == [-33.9, 18.4, 500.0]


def test_locate_many_captures_every_error_and_keeps_finished_results(plain_agent, tmp_path, monkeypatch):
    good = _img(tmp_path)
    real = Agent.locate

    def sometimes_broken(self, item, **kwargs):
        if isinstance(item, str) and item == "boom":
            raise KeyError("a bug, not bad input")
        return real(self, item, **kwargs)

    monkeypatch.setattr(Agent, "locate", sometimes_broken)
    items = [good, tmp_path / "missing.jpg", "boom", np.zeros((4, 4), np.int64), good]
    results = plain_agent.locate_many(items, concurrency=2, return_exceptions=True, use_metadata=False)
    assert [type(r).__name__ for r in results] == [
        "Location",
        "ImageNotFoundError",
        "RunError",
        "UnsupportedInputError",
        "Location",
    ]
    assert "item 2 (boom) failed: KeyError" in str(results[2]) and isinstance(results[2].__cause__, KeyError)
    with pytest.raises(GeoSleuthError) as info:
        plain_agent.locate_many(items, concurrency=2, use_metadata=False)
    kept = info.value.results
    assert type(kept[0]).__name__ == "Location" and type(kept[4]).__name__ == "Location"
    assert isinstance(kept[2], RunError)
