import time

import pytest
from netserver import Reply, ScriptedServer, closed_port

from tools.net import (
    BadResponseError,
    HostPacer,
    NetClient,
    NetError,
    NetSettings,
    OfflineError,
    RateLimitedError,
    ServiceError,
)


def client(tmp_path, **kw):
    settings = NetSettings(cache_dir=tmp_path, backoff_s=0.01, min_interval_s=0.0, timeout_s=2, **kw)
    return NetClient(settings, pacer=HostPacer())


def test_json_answer_is_cached_on_disk(tmp_path):
    with ScriptedServer() as server:
        server.route("/x", Reply(200, {"v": 1}))
        first = client(tmp_path).get_json(server.url("/x"), params={"q": "a"})
        again = client(tmp_path).get_json(server.url("/x"), params={"q": "a"})
        other = client(tmp_path).get_json(server.url("/x"), params={"q": "b"})
    assert first.data == again.data == {"v": 1} and not first.cached and again.cached and not other.cached
    assert len(server.requests) == 2
    assert server.requests[0].headers["User-Agent"].startswith("geosleuth/")


def test_retries_honour_retry_after_then_succeed(tmp_path):
    with ScriptedServer() as server:
        server.route("/x", [Reply(429, retry_after=0.2), Reply(504), Reply(200, {"ok": True})])
        started = time.perf_counter()
        result = client(tmp_path).get_json(server.url("/x"))
    assert result.data == {"ok": True} and result.attempts == 3
    assert time.perf_counter() - started >= 0.2


def test_persistent_rate_limit_and_server_errors_are_typed(tmp_path):
    with ScriptedServer() as server:
        server.route("/limited", Reply(429, retry_after=0))
        server.route("/broken", Reply(500, "oops"))
        server.route("/garbage", Reply(200, "<html>not json", content_type="text/html"))
        with pytest.raises(RateLimitedError, match="HTTP 429 after 4 attempts"):
            client(tmp_path, retries=3).get_json(server.url("/limited"))
        with pytest.raises(ServiceError, match="HTTP 500"):
            client(tmp_path).get_json(server.url("/broken"))
        with pytest.raises(BadResponseError, match="not JSON"):
            client(tmp_path).get_json(server.url("/garbage"))
    assert sum(r.path == "/broken" for r in server.requests) == 1  # a 500 is not retried


def test_timeout_is_retried_then_reported(tmp_path):
    with ScriptedServer() as server:
        server.route("/slow", Reply(200, {}, delay_s=1.0))
        with pytest.raises(NetError, match=r"ReadTimeout after 0\.2 s"):
            client(tmp_path, retries=1).request_json("GET", server.url("/slow"), timeout_s=0.2)


def test_refused_connection_is_offline_and_remembered(tmp_path):
    net = client(tmp_path)
    url = f"http://127.0.0.1:{closed_port()}/x"
    with pytest.raises(OfflineError):
        net.get_json(url)
    started = time.perf_counter()
    with pytest.raises(OfflineError):
        net.get_json(url)
    assert time.perf_counter() - started < 0.05  # known down: no second probe


def test_offline_setting_never_touches_the_network(tmp_path):
    with ScriptedServer() as server:
        server.route("/x", Reply(200, {}))
        with pytest.raises(OfflineError, match="offline mode"):
            client(tmp_path, offline=True).get_json(server.url("/x"))
    assert server.requests == []


def test_pacing_spaces_requests_to_one_host(tmp_path):
    settings = NetSettings(cache_dir=None, min_interval_s=0.15)
    net = NetClient(settings, pacer=HostPacer())
    with ScriptedServer() as server:
        server.route("/x", Reply(200, {}))
        started = time.perf_counter()
        for _ in range(3):
            net.get_json(server.url("/x"), use_cache=False)
    assert time.perf_counter() - started >= 0.3


def test_third_party_calls_are_cached_and_retried(tmp_path):
    class Limited(Exception):
        pass

    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise Limited("slow down")
        return [{"title": "x"}]

    def classify(exc):
        return RateLimitedError if isinstance(exc, Limited) else None

    with ScriptedServer() as server:
        net = client(tmp_path)
        result = net.call(("search", "q"), server.url("/"), flaky, classify=classify)
        again = net.call(("search", "q"), server.url("/"), flaky, classify=classify)
    assert result.data == again.data == [{"title": "x"}] and result.attempts == 3 and again.cached and len(calls) == 3


def test_retry_after_as_http_date_and_status_on_errors(tmp_path):
    from email.utils import formatdate

    with ScriptedServer() as server:
        server.route(
            "/x",
            [Reply(503, headers={"Retry-After": formatdate(time.time() + 1.5, usegmt=True)}), Reply(200, {"ok": 1})],
        )
        started = time.perf_counter()
        assert client(tmp_path).get_json(server.url("/x")).data == {"ok": 1}
        assert time.perf_counter() - started >= 0.4  # HTTP dates have one-second resolution
        server.route("/limited", Reply(429, retry_after=0))
        with pytest.raises(RateLimitedError) as info:
            client(tmp_path, retries=0).get_json(server.url("/limited"))
    assert info.value.status == 429 and str(info.value).endswith("HTTP 429 after 1 attempts")
