"""The compact word-frequency tables answer exactly what wordfreq answers, without its memory."""

from __future__ import annotations

import random

import pytest

wordfreq = pytest.importorskip("wordfreq")

from tools import word_frequency  # noqa: E402


@pytest.fixture()
def fresh_tables(tmp_path, monkeypatch):
    """Tables built into an empty cache folder, as on a new machine."""
    monkeypatch.setenv("GEOSLEUTH_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(word_frequency, "_tables", {})
    word_frequency.zipf_frequency.cache_clear()
    yield tmp_path
    word_frequency.zipf_frequency.cache_clear()
    word_frequency._tables.clear()


@pytest.mark.parametrize("lang", ["en", "fr", "de", "ms", "zh", "mr"])
def test_same_answers_as_wordfreq(fresh_tables, lang):
    rng = random.Random(7)
    pool = wordfreq.top_n_list(lang, 5000)
    words = rng.sample(pool, 200) + [f"{a} {b}" for a, b in zip(rng.sample(pool, 40), rng.sample(pool, 40))]
    words += ["sale", "rio de janeiro", "hôtel de ville", "tel 21 202 7346", "1999", "qxzvbk", "", "开通", "北京市"]
    for word in words:
        assert word_frequency.zipf_frequency(word, lang) == wordfreq.zipf_frequency(word, lang), (word, lang)


def test_tables_are_cached_on_disk_and_small(fresh_tables):
    assert word_frequency.zipf_frequency("bologna", "it") > 0
    files = list(fresh_tables.glob("wordfreq-*-it.npz"))
    assert len(files) == 1
    assert files[0].stat().st_size < 8_000_000  # the Italian dict wordfreq keeps in memory is ~30 MB
    word_frequency._tables.clear()
    word_frequency.zipf_frequency.cache_clear()
    before = files[0].stat().st_mtime_ns
    assert word_frequency.zipf_frequency("bologna", "it") == wordfreq.zipf_frequency("bologna", "it")
    assert files[0].stat().st_mtime_ns == before  # read back, not rebuilt


def test_a_language_without_any_list_is_not_common(fresh_tables):
    with pytest.raises(LookupError):
        wordfreq.zipf_frequency("sale", "zxx")  # "no linguistic content": nothing near it
    assert word_frequency.zipf_frequency("sale", "zxx") == 0.0
