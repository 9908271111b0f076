from __future__ import annotations

import os

import pytest
from helpers import PHOTOS, SHARED_DATA, load_photos


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep derived data (the gazetteer arrays) in pytest's cache, not the user's home,
    unless GEOSLEUTH_CACHE_DIR is set explicitly; and keep the developer's own settings
    (a configured model, a trace folder, ...) out of the tests, which never touch the network.
    GEOSLEUTH_TEST_* variables (services .ci/run starts for the tests, e.g. a PostGIS DSN) stay."""
    keep = ("GEOSLEUTH_CACHE_DIR",)
    for name in [k for k in os.environ if k.startswith("GEOSLEUTH_") and k not in keep and "_TEST_" not in k]:
        os.environ.pop(name)
    if not os.environ.get("GEOSLEUTH_CACHE_DIR"):
        cache = getattr(pytestconfig, "cache", None)  # absent under -p no:cacheprovider
        folder = cache.mkdir("geosleuth") if cache is not None else tmp_path_factory.mktemp("geosleuth-cache")
        os.environ["GEOSLEUTH_CACHE_DIR"] = str(folder)
    os.environ["HF_HUB_OFFLINE"] = "1"


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
