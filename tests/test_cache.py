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
