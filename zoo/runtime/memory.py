"""This process's memory: what it holds (RSS), and freed heap handed back to the system.

glibc keeps freed heap pages in the process, and gives threads that allocate at the same
time separate heaps ("arenas") that each keep the memory they once needed. Two places
leave much of it behind: loading an ONNX file (a graph parsed and optimised through
short-lived buffers: InceptionV3 +110 MB while loading, +62 MB once handed back), and
Streamlit's script runs, one thread per browser session (eight users at once held 727 MB
at the peak, ``python -m benchmarks.load_sessions``). On a 1 GB host (Streamlit Community
Cloud) ``malloc_trim`` after each keeps what the process holds close to what it uses.
"""

from __future__ import annotations

import ctypes
import os

_trim = None


def rss_mb() -> float:
    """Resident memory of this process in MiB (0.0 where ``/proc`` is not available)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def release_free_heap() -> bool:
    """Return freed heap memory of every glibc arena to the system; False elsewhere (other
    allocators return it on their own or offer no such call)."""
    global _trim
    if _trim is None:
        try:
            _trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):  # not glibc: nothing to do
            _trim = False
    return bool(_trim and _trim(0))
