"""Network only when asked: a default run opens no socket off this machine; online runs
record every request that left; the photo leaves only with its own permission."""

from __future__ import annotations

import ipaddress
import socket
import warnings
from pathlib import Path
from typing import ClassVar

import pytest
from langchain_core.messages import AIMessage
from netserver import Reply, ScriptedServer
from PIL import Image
from pydantic import BaseModel
from scripted_model import ScriptedChatModel, call
from test_online import SEARX_ANSWER, overpass_answer, settings_for, street_photo  # noqa: F401 - fixture

from agent import Agent, Settings
from agent.cli import main
from tools.base import GeoTool
from tools.evidence import Observation

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "lisbon_street.jpg"


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return host == "localhost"


@pytest.fixture()
def no_network(monkeypatch):
    """Any attempt to resolve or connect to a non-loopback address fails the test loudly."""
    attempts: list[str] = []
    real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else str(address)
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(str(host)):
            attempts.append(f"connect {address}")
            raise AssertionError(f"a default run tried to connect to {address}")
        return real_connect(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if host is not None and not _loopback(str(host)):
            attempts.append(f"resolve {host}")
            raise AssertionError(f"a default run tried to resolve {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts
    assert not attempts, attempts


def test_a_default_run_opens_no_socket_off_this_machine(no_network, capsys):
    location = Agent().locate(EXAMPLE, use_metadata=False)
    assert location.city == "Lisbon" and not location.online and not location.egress
    assert main(["locate", str(EXAMPLE), "--no-metadata"]) == 0
    assert "nothing left this machine (offline run)" in capsys.readouterr().err


def test_online_for_some_services_only(street_photo, tmp_path):  # noqa: F811
    with ScriptedServer() as server:
        server.route("/api/interpreter", Reply(body=overpass_answer))
        server.route("/search", Reply(body=SEARX_ANSWER))
        settings = {
            **settings_for(server.url("/api/interpreter"), server.url("/search")),
            "net_cache_dir": str(tmp_path),
        }
        location = Agent(online=["search"], tool_settings=settings).locate(street_photo, use_metadata=False)
        paths = {r.path for r in server.requests}
    assert paths == {"/search"}
    assert {r.service for r in location.egress} == {"searxng"}
    assert location.trace[0]["config"]["network"] == {
        "online": True,
        "services": ["search"],
        "allow_image_upload": False,
    }


class UploadArgs(BaseModel):
    image: str


class FakeReverseSearch(GeoTool):
    """Stands for a reverse image search: its calls would send the photo itself."""

    name: str = "reverse_search"
    description: str = "Find pages showing this image."
    args_schema: type[BaseModel] = UploadArgs
    kind: ClassVar[str] = "search"
    online: ClassVar[bool] = True
    uploads_image: ClassVar[bool] = True

    def execute(self, image: str) -> Observation:
        return Observation(text="uploaded")


def _model_calling(name):
    def respond(messages, tools, kwargs):
        if not any(isinstance(m, AIMessage) for m in messages) and name in tools:
            return AIMessage(content="", tool_calls=[call(name, image="img:0")])
        return AIMessage(content="", tool_calls=[call("answer", candidates=[{"lat": 1.0, "lon": 2.0}])])

    return respond


@pytest.mark.parametrize(
    "online,upload,refusal",
    [
        (False, False, "the run is offline"),
        (True, False, "would upload the photo itself"),
        (True, True, None),
    ],
)
def test_the_photo_leaves_only_with_its_own_permission(online, upload, refusal):
    model = ScriptedChatModel(respond=_model_calling("reverse_search"))
    agent = Agent(
        model=model,
        model_options={"hybrid": False, "samples": 1},
        tools=[FakeReverseSearch],
        online=online,
        allow_image_upload=upload,
    )
    location = agent.locate(Image.new("RGB", (32, 32)), use_metadata=False)
    step = next(s for s in location.trace if s.get("kind") == "tool_call" and s["name"] == "reverse_search")
    error = step["observation"]["error"]
    assert (error is None) if refusal is None else (refusal in error)


def test_geosleuth_offline_is_a_deprecated_alias(monkeypatch):
    monkeypatch.setenv("GEOSLEUTH_OFFLINE", "1")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        settings = Settings()
    assert not settings.online and any(issubclass(w.category, DeprecationWarning) for w in seen)
    monkeypatch.delenv("GEOSLEUTH_OFFLINE")
    monkeypatch.setenv("GEOSLEUTH_ONLINE", "1")
    assert Agent().network.online
