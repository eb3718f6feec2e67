"""Freed heap handed back to the system (zoo.runtime.memory), and RSS as measured."""

import platform

import pytest

from zoo.runtime.memory import release_free_heap, rss_mb, tune_heap


def rss_kb() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="malloc_trim is glibc's; elsewhere release_free_heap does nothing",
)
def test_freed_small_allocations_go_back_to_the_system():
    # many small blocks live in the heap (not mmap): freeing them alone keeps the pages
    blocks = [bytearray(2000) for _ in range(100_000)]  # ~200 MB of heap blocks
    keep = bytearray(2000)  # a live block above them: the heap cannot just shrink
    del blocks
    held = rss_kb()  # freed, but glibc keeps the pages (~5 MB went back here)
    assert release_free_heap() is True
    released = rss_kb()
    assert held - released > 100_000, (held, released)  # ~195 MB went back here
    assert len(keep) == 2000


def test_is_idempotent_and_cheap_to_call_again():
    assert release_free_heap() == release_free_heap()


def test_rss_is_what_proc_reports():
    assert rss_mb() == pytest.approx(rss_kb() / 1024, rel=0.05)


def test_the_mmap_threshold_is_pinned_unless_the_operator_set_it(monkeypatch):
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    assert tune_heap() is (platform.libc_ver()[0] == "glibc")
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert tune_heap() is False
