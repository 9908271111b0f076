import threading

import numpy as np

from tools.cache import cached_arrays, writable_dir


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


def _build_slowly(directory, log):
    """Run in a separate process: build a cache entry, noting each actual build."""
    import time

    from tools.cache import cached_arrays

    def build():
        with open(log, "a") as fh:
            fh.write("built\n")
        time.sleep(0.4)
        return {"a": np.arange(5)}

    assert cached_arrays(directory, "shared-v1", build)["a"].tolist() == [0, 1, 2, 3, 4]


def test_processes_on_a_cold_cache_build_it_once(tmp_path):
    import multiprocessing

    log = tmp_path / "builds.log"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_build_slowly, args=(tmp_path / "cache", log)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert all(w.exitcode == 0 for w in workers)
    assert log.read_text().splitlines() == ["built"]  # one build; the others waited and reused it


def test_a_writable_folder_is_writable_to_every_thread_that_asks_at_once(tmp_path):
    """Concurrent runs (two photos dropped on the workspace) ask at the same moment: none
    may be told the folder cannot be written, or its paused review goes unstored."""
    answers = []
    start = threading.Barrier(8)

    def ask():
        start.wait()
        answers.extend(writable_dir(tmp_path / "paused") for _ in range(200))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [tmp_path / "paused"] * 1600
    assert list((tmp_path / "paused").iterdir()) == []  # no probe left behind
