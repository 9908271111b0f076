import numpy as np

from tools.cache import cached_arrays


def test_built_once_then_read_back(tmp_path):
    calls = []

    def build():
        calls.append(1)
        return {"a": np.arange(3)}

    first = cached_arrays(tmp_path, "thing-v1", build)
    second = cached_arrays(tmp_path, "thing-v1", build)
    assert calls == [1] and second["a"].tolist() == first["a"].tolist() == [0, 1, 2]
    assert (tmp_path / "thing-v1.npz").exists() and not list(tmp_path.glob("*.tmp.npz"))


def test_corrupt_cache_is_rebuilt(tmp_path):
    (tmp_path / "thing-v1.npz").write_bytes(b"half a file")
    arrays = cached_arrays(tmp_path, "thing-v1", lambda: {"a": np.ones(2)})
    assert arrays["a"].tolist() == [1.0, 1.0]
    assert cached_arrays(tmp_path, "thing-v1", lambda: {"a": np.zeros(2)})["a"].tolist() == [1.0, 1.0]


def test_unwritable_directory_still_builds(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert cached_arrays(blocker / "sub", "x", lambda: {"a": np.ones(1)})["a"].tolist() == [1.0]


def test_a_first_build_says_so_on_stderr_and_a_cached_load_is_silent(tmp_path, capsys, monkeypatch):
    import numpy as np

    from tools.cache import cached_arrays

    monkeypatch.delenv("GEOSLEUTH_QUIET", raising=False)
    build = lambda: {"x": np.arange(3)}  # noqa: E731
    cached_arrays(tmp_path, "demo", build, what="demo index", expected_s=30)
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("geosleuth: building the demo index in ") and "first run only, about 30 s" in err[0]
    assert err[1].startswith("geosleuth: demo index built in ")
    cached_arrays(tmp_path, "demo", build, what="demo index")
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("GEOSLEUTH_QUIET", "1")
    cached_arrays(tmp_path / "other", "demo", build, what="demo index")
    assert capsys.readouterr().err == ""
