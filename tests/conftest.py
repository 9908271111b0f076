from __future__ import annotations

import os

import pytest
from helpers import PHOTOS, SHARED_DATA, load_photos


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(pytestconfig: pytest.Config) -> None:
    """Keep derived data (the gazetteer arrays) in pytest's cache, not the user's home,
    unless GEOSLEUTH_CACHE_DIR is set explicitly."""
    if not os.environ.get("GEOSLEUTH_CACHE_DIR"):
        os.environ["GEOSLEUTH_CACHE_DIR"] = str(pytestconfig.cache.mkdir("geosleuth"))
    os.environ.pop("GEOSLEUTH_TRACE_DIR", None)
    os.environ.pop("GEOSLEUTH_STRATEGY", None)


@pytest.fixture(scope="session")
def photos() -> list[dict]:
    if not (PHOTOS / "photos.jsonl").exists():
        pytest.skip(f"real photos not available at {PHOTOS}")
    return load_photos()


@pytest.fixture(scope="session")
def shared_data():
    if not SHARED_DATA.exists():
        pytest.skip(f"shared evaluation data not available at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def gazetteer():
    from tools.gazetteer import Gazetteer

    gaz = Gazetteer()
    gaz.countries()
    return gaz


@pytest.fixture(scope="session")
def agent():
    from agent import Agent

    return Agent()
